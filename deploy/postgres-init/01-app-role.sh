#!/bin/sh
# First start of the compose database: the application's own role, which owns nothing. The schema's owner
# (POSTGRES_USER) runs the migrations, which grant this role what the application needs (SCORECARD_DB__APP_ROLE).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE scorecard_app LOGIN PASSWORD '${SCORECARD_APP_PASSWORD:-scorecard_app}';
SQL
