# masbot on Debian bookworm: runs `masbot run -c /config/config.yaml` as an unprivileged user.
#   docker build -t masbot .
#   docker run -v /srv/masbot/config:/config:ro -v /srv/masbot/data:/data masbot
# The config's data_dir should be /data and its society.gnupghome a directory under /data
# (or another mounted volume) owned by the masbot user (uid 10001).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv gnupg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# PIP_CERT: an optional CA bundle for building behind a TLS-intercepting proxy (see README).
ARG PIP_CERT
COPY pyproject.toml README.md /src/
COPY masbot /src/masbot
RUN python3 -m venv /opt/masbot \
 && /opt/masbot/bin/pip install --no-cache-dir /src \
 && /opt/masbot/bin/python -c 'from masbot.lang.catalogs import compile_all; compile_all()' \
 && rm -rf /src
RUN groupadd --system --gid 10001 masbot \
 && useradd --system --uid 10001 --gid 10001 --no-log-init --create-home --home-dir /home/masbot masbot \
 && mkdir -p /config /data && chown masbot:masbot /data
USER masbot
WORKDIR /home/masbot
ENV PATH=/opt/masbot/bin:$PATH
VOLUME ["/data"]
# Healthy while the daemon runs and no post has failed for good (`masbot status` exits 0).
# podman keeps it only with `podman build --format docker`.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
  CMD ["masbot", "status", "-c", "/config/config.yaml"]
ENTRYPOINT ["masbot"]
CMD ["run", "-c", "/config/config.yaml"]
