#!/usr/bin/env bash
# Runs the whole test suite: SQLite, PostgreSQL and Redis tests, end-to-end bot tests.
# PostgreSQL and Redis are expected at OTKLIK_TEST_PG_URL / OTKLIK_TEST_REDIS_URL
# (defaults: 127.0.0.1:5432 database test, 127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh dev
exec .venv/bin/python -m pytest "$@"
