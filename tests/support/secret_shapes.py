"""Real-world secret shapes (all fake values) for the redaction tests, and clean lines that must survive.

Each shape is a line as it shows up in a log, an annotation or an adviser's answer, and the secret in
it that must never be stored. The values are made up but have the real formats (prefixes, lengths,
alphabets), so that a pattern that only matches toy values fails these tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    id: str
    line: str
    """The text the secret is found in."""
    secret: str
    """What must not be stored (a distinctive part of the secret is enough)."""


_JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InEyUmZ3In0.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVt"
    "In0.Xk3m9QpZr7LwTn2vYb8sAcDe4FgHiJkLmNoPqRsTuVw"
)
_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
_OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

SHAPES: list[Shape] = [
    Shape("aws-access-key-id", "using credentials AKIAZ7VQ3HJKX2MPLR4W for s3", "AKIAZ7VQ3HJKX2MPLR4W"),
    Shape(
        "aws-secret-key",
        "aws_secret_access_key = Zr8Qw2Lm5Nx7Pk1Vb9Tc3Hd6Jf4Gs0Ya2Ue8Io5Kp",
        "Zr8Qw2Lm5Nx7Pk1Vb9Tc3Hd6Jf4Gs0Ya2Ue8Io5Kp",
    ),
    Shape(
        "aws-session-token-env",
        "AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDNk3Qm8sLp2vXz9TtyKCAb",
        "FwoGZXIvYXdzEJr",
    ),
    Shape(
        "github-classic",
        "git clone failed with ghp_R7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2aE7u",
        "ghp_R7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2aE7u",
    ),
    Shape(
        "github-fine-grained",
        "GH token github_pat_11ABCDE2F0qWeRtYuIoPaS_dFgHjKlZxCvBnMqWeRtYuIoPaSdFgHjKlZxCvBnMqWeRtYuIoPaSdFg7",
        "github_pat_11ABCDE2F0qWeRtYuIoPaS",
    ),
    Shape("gitlab-pat", "PRIVATE-TOKEN: glpat-x9Yk2LmQ7vRt4sNp8WcZ", "glpat-x9Yk2LmQ7vRt4sNp8WcZ"),
    Shape(
        "slack-bot",
        "slack client init xoxb-2783910482-5827391047382-Qw8rTy2UiOp4AsDf6GhJk9Lz",
        "xoxb-2783910482-5827391047382-Qw8rTy2UiOp4AsDf6GhJk9Lz",
    ),
    Shape(
        "slack-user",
        "token=xoxp-1234567890-0987654321-1122334455-a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "xoxp-1234567890-0987654321",
    ),
    Shape(
        "slack-webhook",
        "posting to https://hooks.slack.com/services/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",
        "pZ7kQ2wX9vL4mN8tR1sY6bC3",
    ),
    Shape(
        "stripe-live",
        "stripe.api_key set from sk_live_51Hq8ZKLm2Xv7Pq9Rt4Ws6Yz1Ab3Cd5Ef",
        "sk_live_51Hq8ZKLm2Xv7Pq9Rt4Ws6Yz1Ab3Cd5Ef",
    ),
    Shape(
        "google-api-key",
        "maps request key AIzaSyD7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2a failed",
        "AIzaSyD7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2a",
    ),
    Shape("jwt", f"sa token {_JWT} rejected", _JWT[:60]),
    Shape("pem-rsa", f"loaded key:\n{_PEM}\nok", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeL"),
    Shape("pem-openssh", f"deploy key\n{_OPENSSH}", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
    Shape(
        "basic-auth-url",
        "fetching https://deploy:Wq7rT2yU9i@artifacts.example.com/repo.tar.gz",
        "Wq7rT2yU9i",
    ),
    Shape("authorization-bearer", "Authorization: Bearer zzQ7vT2kL9mX4pR8", "zzQ7vT2kL9mX4pR8"),
    Shape(
        "authorization-basic",
        "header Authorization: Basic ZGVwbG95OnMzY3JldFBhc3M=",
        "ZGVwbG95OnMzY3JldFBhc3M=",
    ),
    Shape("cookie", "Cookie: session=7f3kQ9zL2mWx8RtY; theme=dark", "7f3kQ9zL2mWx8RtY"),
    Shape("set-cookie", "Set-Cookie: sid=Yt6Rq2Lk8Mn4Vb; Path=/; HttpOnly", "Yt6Rq2Lk8Mn4Vb"),
    Shape("password-eq", "connecting with password=hunter2 to primary", "hunter2"),
    Shape("passwd-colon", "passwd: c0rr3ct-h0rse", "c0rr3ct-h0rse"),
    Shape("pwd-eq", "Server=sql01;Uid=app;Pwd=Tr0ub4dor&3x;", "Tr0ub4dor&3x"),
    Shape("secret-eq", "secret=lemon-squeezy-42", "lemon-squeezy-42"),
    Shape("token-eq", "refresh ok token=tkn_7Hq2Lm9Zx4", "tkn_7Hq2Lm9Zx4"),
    Shape("api-key-eq", "api_key='ak-93kd72hf61'", "ak-93kd72hf61"),
    Shape("apikey-json", '{"apikey": "f8e7d6c5b4a39281"}', "f8e7d6c5b4a39281"),
    Shape("access-token-query", "GET /callback?access_token=at9Kq2Lm7Xz&state=ok", "at9Kq2Lm7Xz"),
    Shape("client-secret-yaml", "client_secret: cs-Zq81mLx02", "cs-Zq81mLx02"),
    Shape("db-pass", "DB_PASS=tangerine77", "tangerine77"),
    Shape("mysql-root-pass", "MYSQL_ROOT_PASS=orchid-lamp-9", "orchid-lamp-9"),
    Shape("db-pw", "DB_PW=plum4tree", "plum4tree"),
    Shape("passphrase", "unlocking with passphrase=open-sesame-3", "open-sesame-3"),
    Shape("pgpassword-space", "env PGPASSWORD hunter4 psql -h db", "hunter4"),
    Shape("mysql-pwd", "MYSQL_PWD=violet-anchor-5 mysql -h db", "violet-anchor-5"),
    Shape("password-flag", "psql --password hunter3 -h db", "hunter3"),
    Shape("mysql-p-quoted", "mysql -u root -p'quartz!Fox' -h db", "quartz!Fox"),
    Shape("mysql-p-attached", "mysqldump -u root -pwalrus8ear shop", "walrus8ear"),
    Shape("postgres-url", "DATABASE_URL is postgres://shop:Gx7pL2qR@db.shop.svc:5432/shop", "Gx7pL2qR"),
    Shape(
        "mongodb-srv",
        "mongo uri mongodb+srv://app:Mq4zT8wP@cluster0.x1y2z.mongodb.net/app",
        "Mq4zT8wP",
    ),
    Shape("redis-url", "cache at redis://:Rk9vB3nM@redis-master:6379/0", "Rk9vB3nM"),
    Shape(
        "azure-account-key",
        "DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey=Zm9vYmFyYmF6cXV4K2Fz/ZGZnaGprbA==;"
        "EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4K2Fz",
    ),
    Shape(
        "azure-sas",
        "blob https://shopdata.blob.core.windows.net/c/f.csv?sv=2022-11-02&ss=b&sig=Jq8%2Fk2LmZ9x%3D",
        "Jq8%2Fk2LmZ9x",
    ),
    Shape(
        "npm-token",
        "//registry.npmjs.org/:_authToken=npm_Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1mQ2wE",
        "npm_Qw8rTy2Ui",
    ),
    Shape(
        "docker-auths",
        '{"auths":{"registry.example.com":{"auth":"ZGVwbG95OnBhc3N3b3JkMTIz"}}}',
        "ZGVwbG95OnBhc3N3b3JkMTIz",
    ),
    Shape(
        "twilio-api-key",
        "twilio key SK0f3a9c2b7e1d4f6a8b5c3d2e1f0a9b8c",
        "SK0f3a9c2b7e1d4f6a8b5c3d2e1f0a9b8c",
    ),
    Shape(
        "twilio-auth-token",
        "TWILIO_AUTH_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    Shape(
        "sendgrid",
        "mailer key SG.Qw8rTy2UiOp4AsDf6GhJkL.Zx7Vb3Nm9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb",
        "SG.Qw8rTy2UiOp4AsDf6GhJkL",
    ),
    Shape(
        "openai",
        "OpenAI error for key sk-proj-Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1m: quota",
        "sk-proj-Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1m",
    ),
    Shape(
        "anthropic",
        "anthropic client sk-ant-api03-Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1mQ2wE-x9Yk2AA",
        "sk-ant-api03-Qw8rTy2UiOp4AsDf6GhJk9",
    ),
    Shape(
        "vault",
        "vault login ok, token hvs.CAESIQw8rTy2UiOp4AsDf6GhJk9Lz",
        "hvs.CAESIQw8rTy2UiOp4AsDf6GhJk9Lz",
    ),
    Shape(
        "digitalocean",
        "doctl auth dop_v1_4f9c2a7e1b3d5f8a0c6e9b2d4f7a1c3e5b8d0f2a4c6e8b1d3f5a7c9e2b4d6f8a",
        "dop_v1_4f9c2a7e1b3d5f8a0c6e9b2d",
    ),
    Shape("x-api-key-header", "X-Api-Key: k-7Hq2Lm9Zx4Rt", "k-7Hq2Lm9Zx4Rt"),
    Shape(
        "json-env-pair",
        'env: [{"name": "DB_PASSWORD", "value": "hunter5"}]',
        "hunter5",
    ),
    Shape(
        "huggingface",
        "hub login hf_Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1mQ2",
        "hf_Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1mQ2",
    ),
]

CLEAN: list[str] = [
    "2026-11-25T10:00:01.416Z ERROR Error: required environment variable DATABASE_URL is not set",
    "Back-off restarting failed container app in pod checkout-7d9f8b6c5-x2k4p_shop",
    'MountVolume.SetUp failed for volume "db-secret" : secret "db-secret" not found',
    'FATAL: password authentication failed for user "shop"',
    "the token expired at 10:00, renewing",
    "GEMINI_API_KEY environment variable not set",
    "image shop/checkout@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    "secretKeyRef: {name: db, key: password}",
    "passed 12 checks, bypassed cache, compass heading 270",
    "uses basic authentication over TLS",
    "docker login --password-stdin registry.example.com",
]
