#!/usr/bin/env bash
# Regenerates the dependency locks from pyproject.toml: exact versions with their sha256 hashes,
# for any platform, Python 3.11 and newer. Run it after changing a dependency in pyproject.toml
# and commit both files; ./scripts/bootstrap.sh installs from them.
#   ./scripts/lock.sh                        keep the locked versions that still fit
#   ./scripts/lock.sh --upgrade              move everything to the newest allowed versions
#   ./scripts/lock.sh --upgrade-package redis
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# uv resolves for every platform at once and reads hashes from the index; it is a locking tool,
# not a dependency of Otklik, so it is installed here only.
.venv/bin/python -m pip install --quiet "uv>=0.9,<1"

compile() {  # compile OUTPUT [uv options]
    local output=$1; shift
    .venv/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
        --generate-hashes --custom-compile-command "./scripts/lock.sh" \
        --output-file "$output" "$@"
}
# The dev lock first; the runtime lock takes its versions from it, so a dev environment and a
# production one run the very same libraries.
compile requirements-dev.lock --extra dev "$@"
compile requirements.lock --constraint requirements-dev.lock "$@"
echo "locked: requirements.lock, requirements-dev.lock" >&2
