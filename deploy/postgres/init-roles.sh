#!/bin/sh
# docker-entrypoint-initdb.d hook of the postgres image: create this container's service database
# with its owner and runtime roles (roles.sql). Runs once, when the data volume is first made.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v database="$SERVICE_DB" \
  -v owner="${SERVICE_DB}_owner" -v owner_password="$SERVICE_DB_OWNER_PASSWORD" \
  -v runtime="$SERVICE_DB" -v runtime_password="$SERVICE_DB_PASSWORD" \
  -f /etc/resilient-orders/roles.sql
