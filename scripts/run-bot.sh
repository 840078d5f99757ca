#!/usr/bin/env bash
# Starts the bot on the embedded default (SQLite under data/): install, migrate, run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# .env lives in the home folder: $OTKLIK_HOME, by default this project folder.
env_file="${OTKLIK_HOME:-.}/.env"
if [ ! -f "$env_file" ] && [ -z "${BOT__TOKEN:-}" ]; then
    mkdir -p "$(dirname "$env_file")"
    cp .env.example "$env_file"
    echo "Created $env_file from .env.example: put your bot token into BOT__TOKEN there." >&2
fi
.venv/bin/otklik validate
.venv/bin/otklik db upgrade
exec .venv/bin/otklik run
