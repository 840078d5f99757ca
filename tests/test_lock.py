"""The dependency locks agree with pyproject.toml: every dependency pinned, inside its range,
with hashes. A dependency added to pyproject without `./scripts/lock.sh` fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT: Final = Path(__file__).resolve().parent.parent
PIN: Final = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return tomllib.load(stream)["project"]  # type: ignore[no-any-return]


def _pins(lock: str) -> dict[str, Version]:
    return _pins_of((ROOT / lock).read_text(encoding="utf-8"))


def _pins_of(text: str) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(text)}


def disagreements(pins: dict[str, Version], requirements: list[Requirement]) -> list[str]:
    problems = []
    for requirement in requirements:
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is not pinned")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement} but the lock pins {pinned}")
    return problems


def _requirements(extra: str | None) -> list[Requirement]:
    project = _pyproject()
    names: list[str] = list(project["dependencies"])  # type: ignore[call-overload]
    if extra:
        names += project["optional-dependencies"][extra]  # type: ignore[index]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(
    ("lock", "extra"), [("requirements.lock", None), ("requirements-dev.lock", "dev")]
)
def test_every_dependency_is_pinned_inside_its_range(lock: str, extra: str | None) -> None:
    problems = disagreements(_pins(lock), _requirements(extra))
    assert not problems, f"{lock}: {'; '.join(problems)}: run ./scripts/lock.sh, commit the locks"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) >= 20
    unhashed = [e.split()[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    assert not unhashed


def test_the_runtime_lock_is_the_dev_lock_without_the_tools() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert "pytest" in dev and "pytest" not in runtime


def test_a_missing_or_out_of_range_pin_is_caught() -> None:
    pins = _pins_of("redis==9.1.0 \\\n    --hash=sha256:00\nsegno==1.6.1 \\\n")
    requirements = [Requirement("redis>=5.2,<9"), Requirement("segno>=1.6,<2"), Requirement("x")]
    assert disagreements(pins, requirements) == [
        "redis<9,>=5.2 but the lock pins 9.1.0",
        "x is not pinned",
    ]
