"""The `otklik` command: run the bot, validate and preview questionnaires, migrate, schema."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.announce_command import add_commands as add_announce_commands
from bot.appeals_cli import add_commands as add_appeals_commands
from bot.posters import add_commands as add_poster_commands
from bot.problems import EXIT_CONFIG, Problem, database_problem, revision_problem
from bot.publish_command import add_commands as add_publish_commands
from bot.report_command import add_commands as add_report_commands
from questionnaires.campaigns import CampaignFile
from questionnaires.catalog import Catalog, load_catalog
from questionnaires.errors import Defect, DefinitionError
from questionnaires.loader import load_folder
from questionnaires.preview import PreviewAborted, run_preview
from questionnaires.results import ResponseContext
from questionnaires.schema import Language, Questionnaire

if TYPE_CHECKING:
    from bot.settings import ContentSettings, Settings

logger = logging.getLogger(__name__)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "questionnaires" / "schema"

EXIT_OK = 0
EXIT_DEFECTS = 1
EXIT_USAGE = EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an operator's mistake is one explained line and exit code 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    verbose = bool(getattr(args, "verbose", False))
    try:
        result: int = args.handler(args)
    except Problem as problem:
        if verbose:
            traceback.print_exc()
        for line in problem.lines:
            print(line, file=sys.stderr)
        return problem.exit_code
    except BrokenPipeError:
        # `otklik links | head`: the reader has gone; nothing left to say, and nobody to say it
        # to. Point stdout at /dev/null so the interpreter's final flush stays silent too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_DEFECTS
    return result


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of a failure",
    )
    parser = argparse.ArgumentParser(prog="otklik", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (long polling)", parents=[common])
    run.set_defaults(handler=_cmd_run)

    web = commands.add_parser(
        "web",
        help="start only the web front (forms, site, health checks), without Telegram",
        parents=[common],
    )
    web.add_argument("--host", help="address to listen on (default: WEB__HOST)")
    web.add_argument("--port", type=int, help="port to listen on (default: WEB__PORT)")
    web.set_defaults(handler=_cmd_web)

    validate = commands.add_parser(
        "validate", help="check questionnaires and the catalog", parents=[common]
    )
    validate.add_argument("--questionnaires", type=Path, help="folder of questionnaire YAML")
    validate.add_argument("--catalog", type=Path, help="catalog YAML file")
    validate.add_argument("--campaigns", type=Path, help="poll campaigns YAML file")
    validate.add_argument("--triggers", type=Path, help="extra-poll trigger rules YAML file")
    validate.add_argument("--categories", type=Path, help="open-answer categories YAML file")
    validate.set_defaults(handler=_cmd_validate)

    preview = commands.add_parser(
        "preview", help="answer a questionnaire in the terminal", parents=[common]
    )
    preview.add_argument("name", help="questionnaire id, e.g. post_service")
    preview.add_argument("--questionnaires", type=Path, help="folder of questionnaire YAML")
    preview.add_argument("--lang", choices=[lang.value for lang in Language], default="ru")
    preview.add_argument("--service", help="service code from the catalog")
    preview.add_argument("--channel", help="channel code from the catalog")
    preview.add_argument("--life-situation", dest="life_situation")
    preview.set_defaults(handler=_cmd_preview)

    db = commands.add_parser("db", help="database migrations", parents=[common])
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="migrate to the newest schema", parents=[common]
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_cmd_db_upgrade)
    downgrade = db_commands.add_parser(
        "downgrade", help="migrate back to a revision", parents=[common]
    )
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=_cmd_db_downgrade)
    backup = db_commands.add_parser(
        "backup",
        help="copy the SQLite database while the bot runs (PostgreSQL: how to pg_dump)",
        parents=[common],
    )
    backup.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file to write (default: data/backups/otklik-YYYY-MM-DD.db in the home folder)",
    )
    backup.set_defaults(handler=_cmd_db_backup)

    add_poster_commands(commands)
    add_report_commands(commands, _settings)
    add_publish_commands(commands, _settings)
    add_announce_commands(commands, _settings)
    add_appeals_commands(commands, _settings)

    schema = commands.add_parser("schema", help="write JSON Schemas for YAML editors")
    schema.add_argument("--out", type=Path, default=SCHEMA_DIR)
    schema.set_defaults(handler=_cmd_schema)
    return parser


def _settings() -> Settings:
    """The settings from the environment and the home folder's .env, explained if invalid."""
    # Imported lazily: validate/preview/schema must work without any environment at all.
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from bot.problems import settings_problem
    from bot.settings import HOME_VARIABLE, Settings, home

    folder = home()
    if not folder.is_dir():
        raise Problem(f"{HOME_VARIABLE}={folder}: no such folder; create it or fix the variable")
    try:
        return Settings()
    except ValidationError as error:
        raise settings_problem(error) from error
    except SettingsError as error:
        raise Problem(f"settings: {error} (see .env.example for the format)") from error


def _content_settings() -> ContentSettings:
    """The content paths the bot would use; the shipped ones when other settings are invalid
    (validate and preview must work with half-written settings)."""
    from bot.settings import ContentSettings

    try:
        return _settings().content
    except Problem:
        return ContentSettings()


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.main import run_bot

    return run_bot(_settings())


def _cmd_web(args: argparse.Namespace) -> int:
    from bot.main import run_web

    settings = _settings()
    if args.host:
        settings.web.host = args.host
    if args.port:
        settings.web.port = args.port
    return run_web(settings)


def _content_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    defaults = _content_settings()
    folder = getattr(args, "questionnaires", None) or defaults.questionnaires_dir
    catalog = getattr(args, "catalog", None) or defaults.catalog_path
    return folder, catalog


def _cmd_validate(args: argparse.Namespace) -> int:
    from bot.content import campaigns_for
    from questionnaires.open_answers import load_categories

    folder, catalog_path = _content_paths(args)
    result = load_folder(folder)
    defects = list(result.defects)
    try:
        load_catalog(catalog_path)
    except DefinitionError as error:
        defects.extend(error.defects)
    campaigns_path = getattr(args, "campaigns", None) or _content_settings().campaigns_path
    disabled: list[tuple[str, str]] = []
    try:
        campaigns, disabled = campaigns_for(campaigns_path, result)
    except DefinitionError as error:
        defects.extend(error.defects)
        campaigns = None
    triggers_path = getattr(args, "triggers", None) or _content_settings().triggers_path
    defects.extend(_trigger_defects(triggers_path, campaigns))
    categories_path = getattr(args, "categories", None) or _content_settings().categories_path
    try:
        load_categories(categories_path)
    except DefinitionError as error:
        defects.extend(error.defects)
    for defect in defects:
        print(defect, file=sys.stderr)
    for questionnaire_id, file in sorted(result.files.items()):
        print(f"ok  {questionnaire_id:<16} {file}")
    broken = result.broken_files
    if broken:
        print(
            f"{len(broken)} questionnaire file(s) broken: the bot starts without them",
            file=sys.stderr,
        )
        print(
            "campaigns: checked without the broken questionnaires; a campaign naming one is "
            "disabled"
            + (": " + ", ".join(f"{c} ({q})" for c, q in disabled) if disabled else " (none)"),
            file=sys.stderr,
        )
    if defects:
        print(f"{len(defects)} defect(s) found", file=sys.stderr)
        return EXIT_DEFECTS
    print(f"ok  catalog          {catalog_path}")
    print(f"ok  campaigns        {campaigns_path}")
    print(f"ok  triggers         {triggers_path}")
    print(f"ok  categories       {categories_path}")
    return EXIT_OK


def _trigger_defects(path: Path, campaigns: CampaignFile | None) -> list[Defect]:
    """The triggers file checked as the bot checks it at start (weeks need weekly figures)."""
    from questionnaires.triggers import load_triggers

    try:
        weekly = _settings().reports.weekly_figures
    except Problem:
        weekly = False
    known = [c.id for c in campaigns.campaigns if c.audience == "external"] if campaigns else None
    try:
        load_triggers(path, weekly=weekly, campaigns=known)
    except DefinitionError as error:
        return list(error.defects)
    return []


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
    for value, section, option in (
        (args.service, "services", "--service"),
        (args.channel, "channels", "--channel"),
        (args.life_situation, "life_situations", "--life-situation"),
    ):
        codes: list[str] = [item.code for item in getattr(catalog, section, ())] if catalog else []
        if value and catalog and value not in codes:
            print(
                f"{option} {value}: no such code in {catalog_path} "
                f"(known: {', '.join(codes) or 'none'})",
                file=sys.stderr,
            )
            return EXIT_USAGE
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

    return _migrate(upgrade, args.revision)


def _cmd_db_downgrade(args: argparse.Namespace) -> int:
    from storage.migrate import downgrade

    return _migrate(downgrade, args.revision)


def _cmd_db_backup(args: argparse.Namespace) -> int:
    from datetime import date

    from bot.settings import data_folder
    from storage.backup import BackupError, backup_sqlite, pg_dump_advice, sqlite_path

    settings = _settings()
    source = sqlite_path(settings.db.url)
    day = date.today().isoformat()
    if source is None:
        target = args.out or Path(f"otklik-{day}.dump")
        print("\n".join(pg_dump_advice(settings.db.url, target)))
        print(PEPPER_APART.format(pepper=settings.privacy.pepper_file))
        return EXIT_OK
    target = args.out or data_folder() / "backups" / f"otklik-{day}.db"
    try:
        made = backup_sqlite(source, target)
    except (BackupError, OSError) as error:
        raise Problem(f"backup not made: {error}") from error
    print(f"backup written: {made.path} ({made.size // 1024} KiB, {made.tables} tables, checked)")
    print(PEPPER_APART.format(pepper=settings.privacy.pepper_file))
    return EXIT_OK


PEPPER_APART = (
    "The pepper ({pepper}, or PRIVACY__PEPPER) is not in the backup: keep one copy of it apart "
    "from the backups (not on the same disk or in the same archive). A backup with its pepper "
    "lets whoever holds both test who took part in a poll window or enrolled as staff."
)


def _migrate(step: Callable[[str, str], None], revision: str) -> int:
    from bot.main import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        step(settings.db.url, revision)
    except Exception as error:
        problem = revision_problem(error, revision) or database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    print(f"database at revision {revision}")
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
