# syntax=docker/dockerfile:1
# One image for every role: web (uvicorn), worker, beat and the migration job; the command
# chooses. Build: docker build -t mcp-server . (docs/deploy.md)

# --- build: wheels compiled here, with the compilers, and left behind -----------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential=12.9 \
 && rm -rf /var/lib/apt/lists/*
COPY requirements/ /src/requirements/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile -r /src/requirements/prod.txt

# --- runtime: the virtualenv and the code, no build tools, not root --------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=mcpserver.settings \
    CELERY_BEAT_SCHEDULE_FILENAME=/tmp/celerybeat-schedule \
    WEB_CONCURRENCY=2 \
    FORWARDED_ALLOW_IPS=127.0.0.1
RUN groupadd --system --gid 10001 mcp \
 && useradd --system --uid 10001 --gid mcp --home-dir /app --shell /usr/sbin/nologin mcp
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# The hashed static manifest the server needs outside debug mode (check mcpserver.E008); the
# build-time secrets are throwaway values that only let settings load.
RUN DJANGO_SECRET_KEY=collectstatic-only \
    MCP_ENCRYPTION_KEYS=0000000000000000000000000000000000000000000000000000000000000000 \
    python manage.py collectstatic --noinput -v 0 \
 && python -m compileall -q /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-m", "mcpserver.probe", "http://127.0.0.1:8000/readyz"]
# The README's production command line; WEB_CONCURRENCY workers (one per core you give it).
CMD ["sh", "-c", "exec uvicorn mcpserver.asgi:application --host 0.0.0.0 --port 8000 --loop uvloop --http httptools --lifespan off --no-access-log --workers \"$WEB_CONCURRENCY\" --proxy-headers --forwarded-allow-ips \"$FORWARDED_ALLOW_IPS\""]
