#!/usr/bin/env bash
# Starts the bot on the embedded default (SQLite under data/): install, migrate, run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
if [ ! -f .env ] && [ -z "${BOT__TOKEN:-}" ]; then
    cp .env.example .env
    echo "Created .env from .env.example: put your bot token into BOT__TOKEN there." >&2
fi
.venv/bin/otklik validate
.venv/bin/otklik db upgrade
exec .venv/bin/otklik run
