"""The dialog service and its tests run without any messenger library (issue 12)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
MESSENGERS = ("aiogram", "telegram", "maxapi")


def test_the_dialog_tests_import_no_messenger() -> None:
    for path in sorted(HERE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in MESSENGERS, f"{path.name} imports {name}"


def test_the_service_and_its_tests_load_no_messenger_even_indirectly() -> None:
    probe = (
        "import sys\n"
        "import services.dialog, tests.dialog.conftest, tests.dialog.test_service\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {MESSENGERS!r})\n"
        "print(' '.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
