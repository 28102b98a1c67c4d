# Production image: one image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim
# Production by default: an image that forgets DEBUG=0 must not run with the dev key.
ENV DEBUG=0 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=1 STATIC_MANIFEST=1 python manage.py collectstatic --noinput \
    && useradd --create-home app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
# Threads: webhook requests wait on the database commit, and LINE calls back into the app
# (webhook test) while a settings request is still waiting on LINE.
CMD ["gunicorn", "hrmos.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "8", "--timeout", "30"]
