# RecordKit in a container (docs/deployment.md, "Docker").
#
#   docker build -t recordkit .
#   docker run -p 8787:8787 -v recordkit-data:/data -e RECORDKIT_PUBLIC_URL=http://localhost:8787 recordkit
#
# The data dir is /data (a volume): the SQLite store, the keys, the local bucket and the recorder's
# work files. With PostgreSQL (RECORDKIT_DATABASE_URL) and an S3 bucket (RECORDKIT_BUCKET_URL) it
# keeps only the keys and work files.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The recorder encodes with ffmpeg (and probes with ffprobe, in the same package).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 recordkit \
    && useradd --system --uid 10001 --gid recordkit --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin recordkit \
    && mkdir -p /data \
    && chown recordkit:recordkit /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# recordkit-server depends on recordkit-client (the typed client, clients/python): from this tree.
COPY clients/python ./clients/python
RUN pip install -U pip \
    && pip install ./clients/python \
    && pip install '.[s3,azure,gcs,sftp,postgres]'

USER recordkit
ENV RECORDKIT_DATA_DIR=/data \
    RECORDKIT_HOST=0.0.0.0 \
    RECORDKIT_PORT=8787
VOLUME ["/data"]
EXPOSE 8787

# Liveness: the process answers. (Orchestrators that route traffic should probe /readyz too.)
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RECORDKIT_PORT', '8787'), timeout=3)"]

ENTRYPOINT ["recordkit"]
CMD ["serve"]
