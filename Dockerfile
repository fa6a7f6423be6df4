# One image for every syncadmin process: web (gunicorn) and worker (qcluster).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNCADMIN_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --system --create-home --home-dir /home/syncadmin syncadmin

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .
# Static files are collected at build time; the throw-away keys exist only for this step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R syncadmin /app/var

USER syncadmin
EXPOSE 8000
CMD ["gunicorn", "syncadmin.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
