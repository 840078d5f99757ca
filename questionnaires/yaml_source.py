"""Reads YAML with positions kept, so every defect names its file, line and column."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Final, Protocol, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from questionnaires.errors import Defect, DefinitionError, Path

M = TypeVar("M", bound=BaseModel)

#: Largest definition file read: the shipped ones are under 20 KiB; bigger is a mistake or an
#: attack, and parsing megabytes of YAML takes minutes and hundreds of megabytes.
MAX_FILE_BYTES: Final = 256 * 1024
#: Deepest nesting of lists and mappings: questionnaires need about 6 levels; Python's own
#: recursion limit would otherwise be hit (RecursionError) by a file of brackets.
MAX_DEPTH: Final = 64
#: Most values (scalars, lists, mappings) a file may stand for once its aliases are expanded:
#: the largest shipped questionnaire has about 700.
MAX_VALUES: Final = 50_000


class _Mark(Protocol):
    line: int
    column: int


class _Refused(Exception):
    """A construct the loader does not accept, at a position in the file."""

    def __init__(self, mark: _Mark | None, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: `yes`, `no`, `on`, `off` stay strings.

    Option ids such as `yes`/`no` are common in questionnaires; YAML 1.1 would turn them into
    booleans and the author would get a baffling type error.

    Anchors and aliases stay allowed (the shipped files reuse scale labels with them), but what
    they expand to is bounded: a 600-byte "billion laughs" file would otherwise expand into
    gigabytes, and an alias inside its own anchor recurses without end. Nesting is bounded too.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0  # values so far, each alias counted as the whole value it stands for
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size, for anchored nodes
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise _Refused(
                    event.start_mark,
                    f"the alias '*{event.anchor}' stands inside its own anchor "
                    f"'&{event.anchor}', which would repeat without end",
                    "anchors and aliases may only repeat a finished part; write it out instead",
                )
            node = cast(yaml.Node, super().compose_node(parent, index))
            self._count(self._sizes.get(id(node), 1), event.start_mark)
            return node
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"nested more than {MAX_DEPTH} levels deep",
                "a questionnaire needs only a few levels; check the brackets and indentation",
            )
        anchor: str | None = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        before = self._expanded
        self._count(1, event.start_mark)
        self._depth += 1
        try:
            node = cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)
        if anchor is not None:
            self._sizes[id(node)] = self._expanded - before
        return node

    def _count(self, values: int, mark: _Mark | None) -> None:
        self._expanded += values
        if self._expanded > MAX_VALUES:
            raise _Refused(
                mark,
                f"more than {MAX_VALUES} values, each alias counted as all it repeats",
                "a questionnaire needs a few thousand at most; "
                "use aliases only for small repeated parts such as scale labels",
            )


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Parsed data plus the node tree that remembers where each value stood."""

    file: str
    data: Any
    root: yaml.Node | None

    def locate(self, path: Path) -> tuple[int | None, int | None]:
        """1-based line and column of the deepest node the path reaches."""
        node = self.root
        if node is None:
            return None, None
        found = node
        for part in path:
            nxt = _child(found, part)
            if nxt is None:
                # Discriminated unions add the tag (e.g. "scale") to pydantic's location.
                continue
            found = nxt
        mark = found.start_mark
        return mark.line + 1, mark.column + 1

    def defect(self, path: Path, message: str, **extra: str | None) -> Defect:
        line, column = self.locate(path)
        return Defect(self.file, path, message, line, column, **extra)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return cast(yaml.Node, value)
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


def _too_big(file: str, size: int) -> DefinitionError:
    return DefinitionError(
        [
            Defect(
                file,
                (),
                f"the file is too big ({size // 1024} KiB; at most {MAX_FILE_BYTES // 1024} KiB)",
                1,
                1,
                hint="split it into several questionnaires, or check that it is the right file",
            )
        ]
    )


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors, duplicate keys, anchors, oversized or too deeply
    nested input and any other parser failure raise DefinitionError, located where possible."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        raise _too_big(file, size)
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DefinitionError([Defect(file, (), "the file is empty", 1, 1)])
        duplicates = list(_duplicate_keys(root, ()))
        if duplicates:
            raise DefinitionError(
                [
                    Defect(
                        file,
                        path,
                        f"duplicate key '{key.value}'",
                        key.start_mark.line + 1,
                        key.start_mark.column + 1,
                        hint="YAML keeps only the last one; remove or rename the other",
                    )
                    for path, key in duplicates
                ]
            )
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(filter(None, [error.context, error.problem])) or "invalid YAML"
        raise DefinitionError(
            [
                Defect(
                    file,
                    (),
                    f"YAML syntax: {message}",
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    hint="check the indentation (spaces only), that ':' follows each key, "
                    "and quote texts containing ': ', '#', '?', '{' or '}'",
                )
            ]
        ) from None
    except _Refused as refused:
        raise DefinitionError(
            [
                Defect(
                    file,
                    (),
                    refused.message,
                    refused.mark.line + 1 if refused.mark else None,
                    refused.mark.column + 1 if refused.mark else None,
                    hint=refused.hint,
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        raise DefinitionError([Defect(file, (), f"YAML: {error}")]) from None
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as error:
        # The parser's own failures (a date like 2026-13-45, resources exhausted): still a
        # defect of this file, never a crash of whoever loads it.
        line, column = _position(loader)
        message = f"YAML cannot be read: {type(error).__name__}: {error}"
        raise DefinitionError([Defect(file, (), message, line, column)]) from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, root)


def _position(loader: _StrictLoader) -> tuple[int | None, int | None]:
    try:
        mark = loader.get_mark()
    except Exception:  # the loader may be in any state after a failure
        return None, None
    return mark.line + 1, mark.column + 1


def _duplicate_keys(node: yaml.Node, path: Path) -> Iterable[tuple[Path, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                yield path, key
            seen.add(key.value)
            yield from _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


_TYPE_WORDS = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "string_type": "text (quote it if it looks like a number or a date)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (items starting with '- ')",
    "tuple_type": "a list (items starting with '- ')",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def validate_model(
    document: YamlDocument,
    model: type[M],
    known_keys: Callable[[Path], Iterable[str]] | None = None,
) -> M:
    """Validate parsed YAML against a model; every error becomes a located Defect."""
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        details = error.errors()
        located = [tuple(detail["loc"]) for detail in details]
        raise DefinitionError(
            [
                _defect_of(document, detail, known_keys)
                for detail in details
                # A list whose items failed is also reported "too short"; the items say why.
                if not (
                    detail["type"] == "too_short"
                    and any(
                        len(loc) > len(detail["loc"])
                        and loc[: len(detail["loc"])] == tuple(detail["loc"])
                        for loc in located
                    )
                )
            ]
        ) from None


def _defect_of(
    document: YamlDocument,
    detail: ErrorDetails,
    known_keys: Callable[[Path], Iterable[str]] | None,
) -> Defect:
    path = _data_path(document.data, tuple(detail["loc"]))
    kind = detail["type"]
    given = detail.get("input")
    ctx = detail.get("ctx") or {}
    expected: str | None = None
    hint: str | None = None
    if kind == "extra_forbidden":
        key = str(path[-1])
        message = f"unknown key '{key}'"
        candidates = list(known_keys(path[:-1])) if known_keys else []
        close = difflib.get_close_matches(key, candidates, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "remove it; unknown keys are refused"
        if set(candidates) == {"ru", "en"} and not close:
            # `{ru: Да, знаю}` splits at the comma: the tail becomes a key.
            hint = "quote a text that contains ',' or ':', e.g. ru: \"Да, знаю\""
        if candidates:
            expected = "one of " + ", ".join(sorted(candidates))
        line, column = _key_position(document, path)
        return Defect(document.file, path, message, line, column, expected, hint)
    if kind == "missing":
        field = str(path[-1])
        message = f"missing required key '{field}'"
        if field == "ru":
            message = "the Russian text ('ru') is required"
            hint = "every text needs ru; en is optional"
        line, column = document.locate(path[:-1])
        return Defect(document.file, path, message, line, column, None, hint)
    if kind == "union_tag_invalid":
        given = ctx.get("tag", given)
        path = (*path, "type")
    if kind in ("union_tag_invalid", "literal_error"):
        message = f"unknown value {given!r}"
        expected = str(ctx.get("expected_tags") or ctx.get("expected") or "")
        if expected:
            close = difflib.get_close_matches(
                str(given), [s.strip(" '") for s in expected.split(",")], n=1
            )
            hint = f"did you mean {close[0]}?" if close else None
    elif kind == "union_tag_not_found":
        message = "missing required key 'type'"
        expected = str(ctx.get("expected_tags", ""))
    elif kind == "enum":
        message = f"unknown value {given!r}"
        expected = str(ctx.get("expected", ""))
    elif kind == "string_pattern_mismatch":
        message = f"{given!r} is not a valid id"
        expected = "lowercase latin letters, digits and '_', starting with a letter"
    elif kind in _TYPE_WORDS:
        message = f"wrong type: got {type(given).__name__} {given!r}"
        expected = _TYPE_WORDS[kind]
    else:
        message = detail["msg"].removeprefix("Value error, ")
    line, column = document.locate(path)
    return Defect(document.file, path, message, line, column, expected, hint)


def _data_path(data: Any, loc: Path) -> Path:
    """Pydantic's location without the tags it adds for discriminated unions."""
    path: list[str | int] = []
    node = data
    tag_skipped: object = None
    for part in loc:
        # The tag comes first, even when it equals a field name (type: text has a `text` key).
        if isinstance(node, dict) and node.get("type") == part and tag_skipped is not node:
            tag_skipped = node
            continue
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        path.append(part)
    return tuple(path)


def _key_position(document: YamlDocument, path: Path) -> tuple[int | None, int | None]:
    parent_line, parent_col = document.locate(path[:-1])
    node = document.root
    for part in path[:-1]:
        child = _child(node, part) if node is not None else None
        if child is not None:
            node = child
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == path[-1]:
                return key.start_mark.line + 1, key.start_mark.column + 1
    return parent_line, parent_col


def read_text(path: FsPath) -> str:
    """Read a definition file, turning I/O and encoding problems into a Defect."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(str(path), size)
        with path.open("rb") as stream:  # the file may grow between stat and read
            data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise _too_big(str(path), len(data))
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DefinitionError(
            [Defect(str(path), (), f"not UTF-8 text: {error.reason}", hint="save as UTF-8")]
        ) from None
    except OSError as error:
        raise DefinitionError([Defect(str(path), (), f"cannot read: {error.strerror}")]) from None
