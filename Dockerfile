# syntax=docker/dockerfile:1
# One image for every role: web (uvicorn/gunicorn), worker (celery) and flower.
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_THREAD_LIMIT=1

# libmagic: file type from the bytes; tesseract + Korean data: OCR; fonts-nanum: Korean PDF reports;
# curl: the container healthcheck.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmagic1 tesseract-ocr tesseract-ocr-kor tesseract-ocr-eng tesseract-ocr-osd fonts-nanum curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Every dependency pinned with its hashes (requirements-fastapi.txt resolved by scripts/lock.sh).
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY fastapi_app ./fastapi_app
COPY alembic ./alembic
COPY alembic.ini init_db.py ./

RUN useradd --create-home --uid 10001 app \
 && mkdir -p /app/media /app/logs /app/data \
 && chown -R app:app /app
USER app

ENV ENVIRONMENT=production \
    UPLOAD_DIR=/app/media/documents \
    REPORTS_DIR=/app/media/reports \
    LOG_DIR=/app/logs

EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8001/health || exit 1

# X-Forwarded-* are believed only from TRUSTED_PROXIES, applied by the app (not by uvicorn).
CMD ["uvicorn", "fastapi_app.main:app", "--host", "0.0.0.0", "--port", "8001", "--no-proxy-headers"]
