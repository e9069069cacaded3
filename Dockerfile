# AsyncStand: one HTTP server (python app.py) serving /slack/events, /slack/install,
# /slack/oauth_redirect, /healthz, /readyz and /metrics (in Socket Mode, with SLACK_APP_TOKEN,
# only the last three: Slack's requests come over the app's own WebSocket).
# docker-compose.yml runs it as a web and a worker process with Postgres and Redis.
#
#   docker build -t asyncstand .
#   docker run --env-file .env -p 3000:3000 -v asyncstand-data:/data asyncstand
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Unprivileged runtime user with a fixed uid/gid, so volume ownership is predictable.
RUN groupadd --system --gid 10001 asyncstand \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin asyncstand

WORKDIR /app

COPY pyproject.toml README.md app.py ./
COPY bot/ ./bot/
COPY handlers/ ./handlers/
COPY scheduler/ ./scheduler/
COPY storage/ ./storage/

RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# SQLite lives on a volume the runtime user can write; point DATABASE_URL at Postgres
# (postgresql+asyncpg://...) to use that instead.
RUN mkdir -p /data && chown 10001:10001 /data
VOLUME /data

ENV PORT=3000 \
    HOST=0.0.0.0 \
    DATABASE_URL=sqlite+aiosqlite:////data/asyncstand.db

USER 10001:10001

EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${PORT:-3000}/healthz', timeout=4).status == 200 else 1)" || exit 1

CMD ["python", "app.py"]
