# workshop-bot's image: the bot installed from this checkout with the pinned dependencies
# (constraints.txt), the compiled catalogs, the Chinese chart font (a dependency), ffmpeg and
# libopencore-amrnb for voice notes, pg_dump for backups on PostgreSQL, the plate OCR (the ocr
# extra with the headless OpenCV, then RapidOCR without its dependencies: pyproject.toml says
# why); run as a non-root user, its files under /data (a volume), /healthz answering on port 8080.
#
#   docker build -t workshop-bot .
#   docker run -d --name workshop-bot -v workshop-bot-data:/data -p 127.0.0.1:8080:8080 \
#       --env-file .env workshop-bot run --upgrade
#
# compose.yaml runs it with PostgreSQL. BASE is the official Python image by default; the image
# test (tests/test_image.py) builds on a Debian base made offline, with the wheels beside the
# sources (./wheelhouse) and PIP_NO_INDEX=1, since no registry is reachable there.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG PIP_NO_INDEX=
ARG PIP_FIND_LINKS=/src/wheelhouse
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# Debian's packages: voice notes (bot/voice.py), pg_dump (bot/backups.py), time zones, and the
# venv module where the base lacks it (Debian's own python3).
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates tzdata ffmpeg libopencore-amrnb0 \
        postgresql-client; \
    if ! python3 -c 'import ensurepip' 2>/dev/null; then \
        apt-get install -y --no-install-recommends python3-venv; \
    fi; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin workshop; \
    install -d -o workshop -g workshop -m 0750 /data /data/backups

COPY . /src
RUN set -eux; \
    python3 -m venv /opt/workshop-bot; \
    /opt/workshop-bot/bin/pip install --quiet -c /src/constraints.txt babel; \
    /opt/workshop-bot/bin/pybabel compile -d /src/locales -D messages; \
    /opt/workshop-bot/bin/pip install --quiet -c /src/constraints.txt '/src[ocr]'; \
    /opt/workshop-bot/bin/pip install --quiet -c /src/constraints.txt --no-deps rapidocr==3.8.4; \
    rm -rf /src; \
    /opt/workshop-bot/bin/workshop-bot --version

ENV PATH=/opt/workshop-bot/bin:$PATH \
    DATABASE_URL=sqlite:////data/workshop.db \
    BACKUP_DIR=/data/backups \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
USER workshop
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["workshop-bot"]
CMD ["run", "--upgrade"]
