# One image for both services, the reconciler and the console; the command picks the process.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Every dependency from the lock, each file checked against its hash.
COPY requirements/runtime.lock ./requirements/
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml ./
COPY shared ./shared
COPY order_service ./order_service
COPY inventory_service ./inventory_service
COPY chaos ./chaos
COPY console ./console
RUN pip install --no-deps -e . && useradd --system --uid 10001 --no-create-home app

USER app
EXPOSE 3001 3002 3003 8080
# docker-compose.yml points each service's check at its own port.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["python", "-m", "shared.probe"]
CMD ["gunicorn", "-c", "order_service/gunicorn_conf.py", "order_service.app:create_app()"]
