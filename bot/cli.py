"""The `otklik` command: run the bot, validate and preview questionnaires, migrate, schema."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.posters import add_commands as add_poster_commands
from questionnaires.campaigns import load_campaigns
from questionnaires.catalog import Catalog, load_catalog
from questionnaires.errors import DefinitionError
from questionnaires.loader import load_folder
from questionnaires.preview import PreviewAborted, run_preview
from questionnaires.results import ResponseContext
from questionnaires.schema import Language, Questionnaire

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "questionnaires" / "schema"

EXIT_OK = 0
EXIT_DEFECTS = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    result: int = args.handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otklik", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (long polling)")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check questionnaires and the catalog")
    validate.add_argument("--questionnaires", type=Path, help="folder of questionnaire YAML")
    validate.add_argument("--catalog", type=Path, help="catalog YAML file")
    validate.add_argument("--campaigns", type=Path, help="poll campaigns YAML file")
    validate.set_defaults(handler=_cmd_validate)

    preview = commands.add_parser("preview", help="answer a questionnaire in the terminal")
    preview.add_argument("name", help="questionnaire id, e.g. post_service")
    preview.add_argument("--questionnaires", type=Path, help="folder of questionnaire YAML")
    preview.add_argument("--lang", choices=[lang.value for lang in Language], default="ru")
    preview.add_argument("--service", help="service code from the catalog")
    preview.add_argument("--channel", help="channel code from the catalog")
    preview.add_argument("--life-situation", dest="life_situation")
    preview.set_defaults(handler=_cmd_preview)

    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_cmd_db_upgrade)
    downgrade = db_commands.add_parser("downgrade", help="migrate back to a revision")
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=_cmd_db_downgrade)

    add_poster_commands(commands)

    schema = commands.add_parser("schema", help="write JSON Schemas for YAML editors")
    schema.add_argument("--out", type=Path, default=SCHEMA_DIR)
    schema.set_defaults(handler=_cmd_schema)
    return parser


def _settings() -> Settings:
    # Imported lazily: validate/preview/schema must work without any environment at all.
    from bot.settings import Settings

    return Settings()


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.main import run_bot

    return run_bot(_settings())


def _content_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    from bot.settings import ContentSettings

    defaults = ContentSettings()
    folder = getattr(args, "questionnaires", None) or defaults.questionnaires_dir
    catalog = getattr(args, "catalog", None) or defaults.catalog_path
    return folder, catalog


def _cmd_validate(args: argparse.Namespace) -> int:
    from bot.settings import ContentSettings

    folder, catalog_path = _content_paths(args)
    result = load_folder(folder)
    defects = list(result.defects)
    try:
        load_catalog(catalog_path)
    except DefinitionError as error:
        defects.extend(error.defects)
    campaigns_path = getattr(args, "campaigns", None) or ContentSettings().campaigns_path
    try:
        load_campaigns(campaigns_path, result.questionnaires)
    except DefinitionError as error:
        defects.extend(error.defects)
    for defect in defects:
        print(defect, file=sys.stderr)
    for questionnaire_id, file in sorted(result.files.items()):
        print(f"ok  {questionnaire_id:<16} {file}")
    if defects:
        print(f"{len(defects)} defect(s) found", file=sys.stderr)
        return EXIT_DEFECTS
    print(f"ok  catalog          {catalog_path}")
    print(f"ok  campaigns        {campaigns_path}")
    return EXIT_OK


def _cmd_preview(args: argparse.Namespace) -> int:
    folder, catalog_path = _content_paths(args)
    result = load_folder(folder)
    questionnaire: Questionnaire | None = result.questionnaires.get(args.name)
    if questionnaire is None:
        for defect in result.defects:
            print(defect, file=sys.stderr)
        known = ", ".join(sorted(result.questionnaires)) or "none"
        print(f"no valid questionnaire '{args.name}' (available: {known})", file=sys.stderr)
        return EXIT_DEFECTS
    language = Language(args.lang)
    catalog: Catalog | None
    try:
        catalog = load_catalog(catalog_path)
    except DefinitionError:
        catalog = None
    context = ResponseContext(
        service=args.service or _first(catalog, "services"),
        channel=args.channel or _first(catalog, "channels"),
        life_situation=args.life_situation,
    )
    titles = catalog.titles(context, language) if catalog else context.as_mapping()

    def read(prompt: str) -> str:
        print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    try:
        run_preview(questionnaire, read, print, language=language, context=context, titles=titles)
    except PreviewAborted as aborted:
        print(f"\ninput ended at question '{aborted}'", file=sys.stderr)
        return EXIT_DEFECTS
    return EXIT_OK


def _first(catalog: Catalog | None, section: str) -> str | None:
    items = getattr(catalog, section, ()) if catalog else ()
    return items[0].code if items else None


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.db.url, args.revision)
    print(f"database at revision {args.revision}")
    return EXIT_OK


def _cmd_db_downgrade(args: argparse.Namespace) -> int:
    from storage.migrate import downgrade

    settings = _settings()
    downgrade(settings.db.url, args.revision)
    print(f"database at revision {args.revision}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, document in json_schemas().items():
        (out / name).write_text(document, encoding="utf-8")
        print(f"wrote {out / name}")
    return EXIT_OK


def json_schemas() -> dict[str, str]:
    """JSON Schema documents of the YAML formats, keyed by file name."""
    return {
        "questionnaire.schema.json": _dump(Questionnaire.model_json_schema(by_alias=True)),
        "catalog.schema.json": _dump(Catalog.model_json_schema(by_alias=True)),
    }


def _dump(schema: dict[str, object]) -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
