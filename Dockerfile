# cpdfolio: multi-stage build, non-root runtime, gunicorn, health check.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY service ./service
COPY portfolio ./portfolio
COPY schemas ./schemas
COPY lrs_adapters ./lrs_adapters
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
RUN groupadd --system cpdfolio && useradd --system --gid cpdfolio --home-dir /srv/cpdfolio cpdfolio \
    && mkdir -p /srv/cpdfolio/var && chown -R cpdfolio:cpdfolio /srv/cpdfolio
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CPDFOLIO_DATABASE_URL=sqlite:////srv/cpdfolio/var/cpdfolio.db
WORKDIR /srv/cpdfolio
USER cpdfolio
VOLUME ["/srv/cpdfolio/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
# Initialise or migrate the store, then serve (one worker per core unless told otherwise).
CMD ["sh", "-c", "cpdfolio db init && exec cpdfolio serve --host 0.0.0.0 --port 8000 --workers ${CPDFOLIO_WORKERS:-2}"]
