# Production image: gunicorn web, Celery worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# libicu-dev, pkg-config, g++: PyICU (normality, under followthemoney/rigour for screening) builds from source.
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl postgresql-client libicu-dev pkg-config g++ \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --uid 10001 portal
WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY . .
# Static files and translations are built into the image; the settings need a
# key to import, which is only used for this build step.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --no-input \
 && python manage.py compilemessages -v 0
# Mount points owned by the app's user: a new named volume takes this ownership (uploads,
# audit-log checkpoints).
RUN mkdir -p /data/media /data/audit-checkpoints && chown portal:portal /data/media /data/audit-checkpoints
USER portal
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
