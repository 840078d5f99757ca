#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs Otklik into it with the locked, hash-checked
# dependency versions (requirements.lock; `dev`: requirements-dev.lock); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Otklik needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
extras="${1:-}"
lock="requirements${extras:+-$extras}.lock"
if [ ! -f "$lock" ]; then
    echo "No lock file $lock for '${extras}'; known: requirements.lock, requirements-dev.lock." >&2
    exit 1
fi
stamp=".venv/.otklik-installed${extras:+-$extras}"
# Reinstall only when the dependencies changed: keeps repeated starts fast.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    # Exact versions, each file checked against its sha256 in the lock...
    .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
    # ...then Otklik itself, which brings nothing more.
    .venv/bin/python -m pip install --quiet --no-deps -e .
    touch "$stamp"
fi
