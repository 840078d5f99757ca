"""The deployment recipes (issue 14): the Dockerfile passes hadolint and keeps its promises
(non-root, the lock file, only registries), compose.yaml is valid Compose (the specification's
JSON Schema, tests/fixtures/deploy/compose-spec.json) and wires PostgreSQL, Redis and the bot,
the systemd unit upgrades then runs. No Docker daemon or compose plugin is needed: this is what
CI can check on a fresh machine (building the image is left to a machine with Docker)."""

from __future__ import annotations

import configparser
import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs needed for two calls
import pytest
import yaml

ROOT = Path(__file__).parent.parent
SCHEMA = Path(__file__).parent / "fixtures" / "deploy" / "compose-spec.json"
HADOLINT = Path(sys.executable).parent / "hadolint"
PACKAGES = (
    "bot",
    "handlers",
    "questionnaires",
    "reports",
    "scheduler",
    "services",
    "storage",
    "web",
    "max_front",
)


def _hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )


def test_the_dockerfile_passes_hadolint() -> None:
    result = _hadolint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install otklik\nUSER root\n", encoding="utf-8")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3002" in result.stdout


def _stages(dockerfile: str) -> list[list[str]]:
    stages: list[list[str]] = []
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    for line in joined.splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages and line.strip() and not line.startswith("#"):
            stages[-1].append(line.strip())
    return stages


def test_the_image_runs_unprivileged_from_the_hash_checked_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = _stages(dockerfile)
    final = stages[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("ENTRYPOINT") and "otklik" in line for line in final)
    assert "--require-hashes -r requirements.lock" in dockerfile
    assert "--no-deps" in dockerfile  # Otklik itself adds nothing beyond the lock
    for line in dockerfile.splitlines():
        if line.startswith("FROM "):
            image = line.split()[1]
            assert ":" in image and not image.endswith(":latest")
    # Only the registries: no curl/wget/git fetching anything else.
    assert not re.search(r"\b(curl|wget|git clone)\b", dockerfile)


def test_every_copied_path_exists_and_passes_dockerignore() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    allowed = [rule[1:].rstrip("/") for rule in ignore if rule.startswith("!")]
    for line in dockerfile.splitlines():
        if not line.startswith("COPY ") or "--from=" in line:
            continue
        for source in line.split()[1:-1]:
            assert (ROOT / source).exists(), source
            assert any(fnmatch.fnmatch(source, rule) for rule in allowed), source
    for secret in (".env", "data", "secrets", ".venv"):
        assert not any(fnmatch.fnmatch(secret, rule) for rule in allowed)


def test_the_image_copies_every_package_the_wheel_installs() -> None:
    # Issue 13: the image lacked web/ (and would have lacked max_front/), which `otklik web`
    # and MAX alone import: every package setuptools installs must be copied.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = {
        line.split()[1]
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
    }
    assert included <= copied, included - copied
    assert included == set(PACKAGES)


def test_every_data_file_of_the_packages_is_installed() -> None:
    """A wheel holds only package data: a YAML the bot reads but the wheel lacks would stop
    the image at start (campaigns.yaml, triggers.yaml and categories.yaml once did)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT / package).as_posix()
            patterns = package_data.get(package, [])
            covered = any(
                fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/")
                for p in patterns
            )
            assert covered, f"{package}/{relative} is not in package-data"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_the_schema_check_does_catch_a_broken_compose_file() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = _compose()
    broken["services"]["bot"]["depends_on"]["migrate"]["condition"] = "when_ready"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_compose_wires_postgresql_redis_and_the_bot() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "bot"} <= set(services)
    bot = services["bot"]
    environment = bot["environment"]
    assert (
        "@postgres:5432/" in environment["DB__URL"]
        and "postgresql+asyncpg" in environment["DB__URL"]
    )
    assert environment["FSM__REDIS_URL"].startswith("redis://redis:")
    # The schema is migrated once before any bot starts, then the bot needs Redis healthy.
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    # The pepper is a secret file, never in a volume (so never in a backup of the volumes).
    assert environment["PRIVACY__PEPPER_FILE"].startswith("/run/secrets/")
    assert "otklik_pepper" in bot["secrets"]
    assert all("secret" not in str(volume) for volume in bot["volumes"])
    # Redis keeps dialog state across its restarts.
    assert "--appendonly" in services["redis"]["command"]
    assert "yes" in services["redis"]["command"]
    assert "POSTGRES_PASSWORD:?" in environment["DB__URL"]  # no default password


def test_the_systemd_unit_upgrades_then_runs_unprivileged() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read(ROOT / "deploy" / "otklik.service", encoding="utf-8")
    service = unit["Service"]
    assert service["ExecStartPre"].endswith("otklik db upgrade")
    assert service["ExecStart"].endswith("otklik run")
    assert service["User"] not in ("root", "0")
    assert service["RestartPreventExitStatus"] == "2"  # a refused second poller stays down
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
