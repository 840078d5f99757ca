"""The import direction of docs/architecture.md holds: the import-linter contracts in
pyproject.toml pass on this tree, and each of them fails on a tree that breaks it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
LINT_IMPORTS: Final = Path(sys.executable).parent / "lint-imports"

#: One module per contract that imports what the contract forbids (written into a copy).
BREACHES: Final = {
    "handlers/_breach.py": "import sqlalchemy\nimport storage.fsm\n",
    "scheduler/_breach.py": "import storage.deliveries\n",
    "web/_breach.py": "import storage.responses\nimport handlers.dialog\n",
    "reports/_breach.py": "import aiogram\nimport services.funnel\n",
    "services/_breach.py": "import aiogram\nimport sqlalchemy\nimport storage.models_painmap\n",
    "questionnaires/_breach.py": "import redis\n",
    # The MAX front that reaches Telegram's library or a store (issue 13).
    "max_front/_breach.py": "import aiogram\nimport storage.fsm\n",
    # A front's detail wired into a service by the composition (review: handlers.signals).
    "bot/composition.py": "import handlers.signals\n",
    # Enrolment that reaches back into the windows using it (issue 12 item 3).
    "services/enrolment.py": "import services.windows\n",
    "storage/_breach_a.py": "import storage._breach_b\n",
    "storage/_breach_b.py": "import storage._breach_a\n",
}


def _root_packages() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        config = tomllib.load(stream)["tool"]["importlinter"]
    return list(config["root_packages"])


def _contract_names() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        contracts = tomllib.load(stream)["tool"]["importlinter"]["contracts"]
    return [str(contract["name"]) for contract in contracts]


def _lint(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    # A process of its own: import-linter finds the packages through sys.path and the
    # current directory, which must be the tree under test, not this one.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", *options],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _status(output: str, name: str) -> str:
    # Long names wrap onto the next line: compare the text with whitespace collapsed.
    flat = " ".join(output.split())
    match = re.search(re.escape(" ".join(name.split())) + r" (KEPT|BROKEN)", flat)
    assert match is not None, f"contract {name!r} not in the output:\n{output}"
    return match.group(1)


def test_the_import_contracts_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(_status(result.stdout, name) == "KEPT" for name in _contract_names())


def test_every_contract_catches_its_breach(tmp_path: Path) -> None:
    for package in _root_packages():
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for path, source in BREACHES.items():
        (tmp_path / path).write_text(source, encoding="utf-8")

    result = _lint(tmp_path, "--no-cache")

    assert result.returncode != 0
    statuses = {name: _status(result.stdout, name) for name in _contract_names()}
    assert statuses == dict.fromkeys(statuses, "BROKEN"), result.stdout
    for importer, imported in [
        ("handlers._breach", "storage.fsm"),
        ("handlers._breach", "sqlalchemy"),
        ("scheduler._breach", "storage.deliveries"),
        ("web._breach", "storage.responses"),
        ("web._breach", "handlers.dialog"),
        ("reports._breach", "services.funnel"),
        ("reports._breach", "aiogram"),
        ("services._breach", "sqlalchemy"),
        ("services._breach", "aiogram"),
        ("services._breach", "storage.models_painmap"),
        ("questionnaires._breach", "redis"),
        ("max_front._breach", "aiogram"),
        ("max_front._breach", "storage.fsm"),
        ("bot.composition", "handlers.signals"),
        ("services.enrolment", "services.windows"),
    ]:
        assert f"{importer} -> {imported}" in result.stdout, (importer, imported)
    assert "._breach_a -> ._breach_b" in result.stdout or "._breach_b -> ._breach_a" in (
        result.stdout
    )


def test_the_services_contract_names_every_model_module() -> None:
    # Review: services imported storage.models_painmap and models_signals for constants; the
    # contract forbids every model module, and a model module added later must be listed too.
    import storage.models_base
    from storage.registry import MODEL_MODULES

    with (ROOT / "pyproject.toml").open("rb") as stream:
        contracts = tomllib.load(stream)["tool"]["importlinter"]["contracts"]
    [contract] = [c for c in contracts if c["id"] == "services-without-models"]
    modules = {m.__name__ for m in (*MODEL_MODULES, storage.models_base)}
    assert set(contract["forbidden_modules"]) == modules
