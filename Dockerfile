# RecordKit in a container (docs/deployment.md, "Docker").
#
#   docker build -t recordkit .
#   docker run -p 8787:8787 -v recordkit-data:/data -e RECORDKIT_PUBLIC_URL=http://localhost:8787 recordkit
#
# The data dir is /data (a volume): the SQLite store, the keys, the local bucket and the recorder's
# work files. With PostgreSQL (RECORDKIT_DATABASE_URL) and an S3 bucket (RECORDKIT_BUCKET_URL) it
# keeps only the keys and work files.
#
# BASE_IMAGE: any Debian bookworm image with Python 3.11 and its venv module. The default is the
# public one; deploy/check-image.sh builds on a local Debian image instead (--build-arg BASE_IMAGE=...).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# No apt step: the recorder's ffmpeg is the static build in the imageio-ffmpeg wheel, a dependency
# of recordkit-server (`recordkit doctor` in the container names it).

# A numeric user (10001:10001), so that Kubernetes' runAsNonRoot can verify it; the name is only
# for `ps` and `ls`. It owns the data dir, and nothing else.
RUN groupadd --system --gid 10001 recordkit \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin recordkit \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0750 /data

# RecordKit in a venv of its own (a Debian base's system Python refuses pip installs, PEP 668).
ENV VIRTUAL_ENV=/opt/recordkit \
    PATH=/opt/recordkit/bin:$PATH
RUN python3 -m venv /opt/recordkit

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# recordkit-server depends on recordkit-client (the typed client, clients/python): from this tree.
COPY clients/python ./clients/python
RUN pip install -U pip \
    && pip install ./clients/python \
    && pip install . \
    && rm -rf /app/build /app/clients/python/build

USER 10001:10001
ENV HOME=/data \
    RECORDKIT_DATA_DIR=/data \
    RECORDKIT_HOST=0.0.0.0 \
    RECORDKIT_PORT=8787
VOLUME ["/data"]
EXPOSE 8787

# Liveness: the process answers. (Orchestrators that route traffic should probe /readyz too.)
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RECORDKIT_PORT', '8787'), timeout=3)"]

ENTRYPOINT ["recordkit"]
CMD ["serve"]
