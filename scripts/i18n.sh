#!/usr/bin/env bash
# Maintains the text catalogues in questionnaires/locales (keys are symbolic: "bot.welcome").
#   ./scripts/i18n.sh extract      the .pot from the keys in the code, then each .po updated
#                                  from it (new keys come empty, removed keys go)
#   ./scripts/i18n.sh check        what tests/test_i18n.py checks: every key has a non-empty,
#                                  non-fuzzy text in every language, the same {placeholders},
#                                  and the .pot is a fresh extraction
#   ./scripts/i18n.sh init LANG    a new language's .po from the .pot (then add it to Language)
#   ./scripts/i18n.sh compile DIR  .mo files into DIR, for tools that want them; the bot itself
#                                  reads the .po files (nothing binary in git)
set -euo pipefail
cd "$(dirname "$0")/.."

LOCALES="${OTKLIK_LOCALES:-questionnaires/locales}"  # another folder: the tests
DOMAIN=otklik
# The same packages and keywords as questionnaires/i18n_check.py (the test compares the two).
PACKAGES=(bot handlers scheduler services reports storage questionnaires web max_front)
KEYWORDS=(--no-default-keywords -k tr:2 -k _t:2 -k N_)
PYBABEL=.venv/bin/pybabel

tidy() {  # Babel ends a catalogue with a blank line, which `git diff --check` refuses
    .venv/bin/python - "$LOCALES/$DOMAIN.pot" "$LOCALES"/*/LC_MESSAGES/"$DOMAIN".po <<'PY'
import sys
from pathlib import Path
for name in sys.argv[1:]:
    path = Path(name)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n", encoding="utf-8")
PY
}

case "${1:-}" in
    extract)
        "$PYBABEL" -q extract -F babel.cfg "${KEYWORDS[@]}" --no-location --sort-output \
            --omit-header --no-wrap -o "$LOCALES/$DOMAIN.pot" "${PACKAGES[@]}"
        "$PYBABEL" -q update -i "$LOCALES/$DOMAIN.pot" -d "$LOCALES" -D "$DOMAIN" \
            --no-fuzzy-matching --ignore-obsolete --omit-header --no-wrap
        tidy
        .venv/bin/python -m questionnaires.i18n_check "$LOCALES" || true
        ;;
    check)
        exec .venv/bin/python -m questionnaires.i18n_check "$LOCALES"
        ;;
    init)
        "$PYBABEL" -q init -i "$LOCALES/$DOMAIN.pot" -d "$LOCALES" -D "$DOMAIN" -l "${2:?language}" \
            --no-wrap
        ;;
    compile)
        out="${2:?output directory}"
        for po in "$LOCALES"/*/LC_MESSAGES/"$DOMAIN".po; do
            language=$(basename "$(dirname "$(dirname "$po")")")
            mkdir -p "$out/$language/LC_MESSAGES"
            "$PYBABEL" -q compile -i "$po" -o "$out/$language/LC_MESSAGES/$DOMAIN.mo" \
                --statistics
        done
        ;;
    *)
        sed -n '2,11p' "$0" >&2
        exit 2
        ;;
esac
