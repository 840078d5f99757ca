"""The catalogue check: every key the code uses has a text in every language, and the `.pot`
is a fresh extraction (`python -m questionnaires.i18n_check`, run by `.ci/run` and the tests)."""

from __future__ import annotations

import ast
import re
import string
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from questionnaires.i18n import DOMAIN, LOCALES_DIR, catalogue_path
from questionnaires.schema import Language

ROOT: Final = Path(__file__).resolve().parent.parent
#: The packages whose texts a person reads; scripts/i18n.sh extracts the same ones.
PACKAGES: Final = (
    "bot",
    "handlers",
    "scheduler",
    "services",
    "reports",
    "storage",
    "questionnaires",
    "web",
    "max_front",
)
#: The call forms that carry a key: tr(language, "key"), a module's _t(x, "key"), N_("key").
KEYWORDS: Final = {"tr": (2,), "_t": (2,), "N_": None}
TEMPLATE: Final = f"{DOMAIN}.pot"


#: The extraction configuration pybabel reads (its method is this module's `extract_keys`).
MAPPING: Final = ROOT / "babel.cfg"


def _literals(node: ast.expr) -> list[str]:
    """The keys an argument can be: a literal, or each branch of `"a" if c else "b"`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def extract_keys(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str | None, ...], list[str]]]:
    """A pybabel extraction method reading the syntax tree rather than the tokens.

    Babel's own Python extractor does not look inside f-strings (Python 3.11 reads them as one
    token) and glues `"a" if c else "b"` into one key; texts are used in both places here.
    """
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if not isinstance(name, str) or name not in keywords:
            continue
        args = node.args
        for position, arg in enumerate(args):
            for key in _literals(arg):
                # Babel picks the keyword's argument (tr:2) out of the positional ones.
                messages = tuple(key if i == position else None for i in range(len(args)))
                yield node.lineno, name, messages, []


_TEMPLATE_TEXT: Final = re.compile(rb"\bt\.([a-z_][a-z0-9_]*)")


def extract_template_keys(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str | None, ...], list[str]]]:
    """A pybabel extraction method for Jinja templates: `{{ t.name }}` is the key `prefix.name`
    (babel.cfg gives the prefix; reports.site passes the texts as `t`)."""
    prefix = str(options.get("prefix", ""))
    for lineno, line in enumerate(fileobj.read().splitlines(), start=1):
        for name in _TEMPLATE_TEXT.findall(line):
            yield lineno, "N_", (prefix + name.decode(),), []


def extract(root: Path = ROOT) -> set[str]:
    """The keys the code uses, as `pybabel extract -F babel.cfg` finds them."""
    with (root / MAPPING.name).open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    keys: set[str] = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / package, method_map, options_map, keywords=KEYWORDS
        ):
            keys.add(message if isinstance(message, str) else message[0])
    return keys


def read(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, domain=DOMAIN)


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a format string (a broken one is reported by the caller)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def problems(
    used: Iterable[str],
    locales: Path = LOCALES_DIR,
    languages: Iterable[Language] = tuple(Language),
) -> list[str]:
    """Everything wrong with the catalogues in `locales` for the keys in `used`."""
    found: list[str] = []
    used = set(used)
    template = {str(m.id) for m in read(locales / TEMPLATE) if m.id}
    for key in sorted(used - template):
        found.append(f"{TEMPLATE}: {key}: used in the code but not extracted (run i18n.sh)")
    for key in sorted(template - used):
        found.append(f"{TEMPLATE}: {key}: no longer used in the code (run i18n.sh)")
    texts: dict[Language, dict[str, str]] = {}
    for language in languages:
        path = catalogue_path(language, locales)
        name = f"{language}/{path.name}"
        catalogue = read(path)
        texts[language] = {}
        present = {str(m.id) for m in catalogue if m.id}
        for key in sorted(used - present):
            found.append(f"{name}: {key}: missing")
        for key in sorted(present - used):
            found.append(f"{name}: {key}: not used in the code")
        for message in catalogue:
            if not message.id:
                continue
            key, text = str(message.id), str(message.string)
            if message.fuzzy:
                found.append(f"{name}: {key}: fuzzy (check the text, then drop the flag)")
            if not text.strip():
                found.append(f"{name}: {key}: empty")
            try:
                fields = placeholders(text)
            except ValueError as error:
                found.append(f"{name}: {key}: broken placeholder ({error})")
                continue
            if any(not field or field.isdigit() for field in fields):
                # tr() fills placeholders by name only
                found.append(f"{name}: {key}: positional placeholder; name it ({{name}})")
            texts[language][key] = text
    first, *others = list(texts)
    for other in others:
        for key in sorted(texts[first].keys() & texts[other].keys()):
            ours, theirs = placeholders(texts[first][key]), placeholders(texts[other][key])
            if ours != theirs:
                found.append(
                    f"{other}/{DOMAIN}.po: {key}: placeholders {sorted(theirs)} "
                    f"differ from {first}'s {sorted(ours)}"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    """`python -m questionnaires.i18n_check [LOCALES]`: print the problems, fail if any."""
    args = sys.argv[1:] if argv is None else argv
    found = problems(extract(), Path(args[0]) if args else LOCALES_DIR)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
