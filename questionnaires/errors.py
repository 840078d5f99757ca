"""Domain errors: defects an author can act on, and engine errors a handler maps to a reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """`("questions", 2, "show_if")` → `questions[2].show_if`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(document)"


@dataclass(frozen=True, slots=True)
class Defect:
    """One problem in a YAML file, located precisely enough to fix without guessing."""

    file: str
    path: Path
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    expected: str | None = None
    hint: str | None = None

    def located(self, line: int | None, column: int | None) -> Defect:
        return Defect(self.file, self.path, self.message, line, column, self.expected, self.hint)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {format_path(self.path)}: {self.message}"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class OtklikError(Exception):
    """Base of the domain errors."""


class DefinitionError(OtklikError):
    """A questionnaire or catalog file has defects; all of them are listed."""

    def __init__(self, defects: Sequence[Defect]) -> None:
        self.defects = tuple(defects)
        super().__init__("\n".join(str(d) for d in self.defects))


class StaleProgressError(OtklikError):
    """The saved dialog progress belongs to another questionnaire or an older version."""


class DialogFinishedError(OtklikError):
    """An input arrived for a dialog that has already completed."""
