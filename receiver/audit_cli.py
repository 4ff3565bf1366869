"""``aiops audit compliance``: is every executed action documented with its approval (PHR compliance)?

Reads the audit records and proposals straight from Redis (``REDIS_URL``, or the shared embedded one),
read-only, and prints ``workers.spine.compliance``'s result as JSON or markdown. The exit status is 0
when every executed action in the period is fully documented, 1 when anything is missing or out of
order (the list is printed), 2 for a bad ``--since`` or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys

from workers.clock import utc_now
from workers.errors import SettingsError
from workers.settings import Settings
from workers.spine import compliance
from workers.spine.context import Context, build_context
from workers.spine.records import parse_since

EXIT_COMPLIANT, EXIT_INCOMPLETE = 0, 1


def run(settings: Settings, args: argparse.Namespace, context: Context | None = None) -> int:
    now = context.clock() if context is not None else utc_now()
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:  # before Redis is reached: a typo costs nothing
        raise SettingsError("--" + str(exc)) from exc
    ctx = context or build_context(settings)
    result = compliance.check(ctx.records, ctx.proposals, since, now)
    if args.format == "md":
        sys.stdout.write(compliance.markdown(result))
    else:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    if result.compliant:
        return EXIT_COMPLIANT
    print(
        f"aiops: {len(result.incomplete)} executed action(s) not fully documented since {result.since}",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE
