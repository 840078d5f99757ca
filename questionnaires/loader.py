"""Loads questionnaire files and folders, collecting every defect instead of stopping at one."""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel

from questionnaires.checks import check_questionnaire
from questionnaires.errors import Defect, DefinitionError, Path
from questionnaires.schema import Questionnaire
from questionnaires.yaml_source import YamlDocument, parse_yaml, read_text, validate_model

logger = logging.getLogger(__name__)

DEFINITIONS_DIR = FsPath(__file__).parent / "definitions"


def model_keys(model: type[BaseModel], data: Any, path: Path) -> list[str]:
    """Keys allowed at `path` inside data validated by `model` (for did-you-mean hints)."""
    current: Any = model
    node = data
    for part in path:
        current = _unwrap(current, node)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else Any
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if info is None:
            continue  # a discriminator tag in pydantic's location: stay on this node
        current = info.annotation
        node = node.get(part) if isinstance(node, Mapping) else None
    current = _unwrap(current, node)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any, node: Any) -> Any:
    """Strip Annotated/Optional and pick a union member by the node's `type` tag."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            tag = node.get("type") if isinstance(node, Mapping) else None
            chosen = next(
                (
                    m
                    for m in members
                    if isinstance(m, type)
                    and issubclass(m, BaseModel)
                    and "type" in m.model_fields
                    and typing.get_args(m.model_fields["type"].annotation) == (tag,)
                ),
                None,
            )
            if chosen is None and len(members) > 1:
                return annotation
            annotation = chosen or members[0]
        else:
            return annotation


def parse_questionnaire(text: str, file: str) -> Questionnaire:
    """Parse and fully check one questionnaire; DefinitionError lists all defects."""
    document = parse_yaml(text, file)
    questionnaire = validate_model(
        document, Questionnaire, lambda p: model_keys(Questionnaire, document.data, p)
    )
    defects = [_located(document, d) for d in check_questionnaire(questionnaire, file)]
    if defects:
        raise DefinitionError(defects)
    return questionnaire


def _located(document: YamlDocument, defect: Defect) -> Defect:
    line, column = document.locate(defect.path)
    return defect.located(line, column)


def load_questionnaire(path: FsPath) -> Questionnaire:
    return parse_questionnaire(read_text(path), str(path))


@dataclass
class LoadResult:
    """What a folder gave: the good questionnaires by id, and the defects of the rest."""

    questionnaires: dict[str, Questionnaire] = field(default_factory=dict)
    defects: list[Defect] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # questionnaire id -> file

    @property
    def ok(self) -> bool:
        return not self.defects

    @property
    def broken_files(self) -> list[str]:
        """Files left out because of their defects, each once, in order."""
        return list(dict.fromkeys(d.file for d in self.defects))


def questionnaire_files(folder: FsPath) -> list[FsPath]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_folder(folder: FsPath, files: Iterable[FsPath] | None = None) -> LoadResult:
    """Load every questionnaire in a folder; a broken file is reported, the others still load."""
    result = LoadResult()
    if not folder.is_dir():
        result.defects.append(Defect(str(folder), (), "questionnaire folder does not exist"))
        return result
    for path in files if files is not None else questionnaire_files(folder):
        try:
            questionnaire = load_questionnaire(path)
        except DefinitionError as error:
            result.defects.extend(error.defects)
            # Whoever loads the folder reports the defects themselves (the bot logs each one).
            logger.debug("Questionnaire file %s has %d defect(s)", path, len(error.defects))
            continue
        except Exception as error:  # a bug in a check must not take the other files down
            logger.exception("Questionnaire file %s could not be checked", path)
            result.defects.append(
                Defect(str(path), (), f"cannot be checked: {type(error).__name__}: {error}")
            )
            continue
        if questionnaire.id in result.questionnaires:
            result.defects.append(
                Defect(
                    str(path),
                    ("id",),
                    f"questionnaire id '{questionnaire.id}' is used by another file",
                    hint=f"{result.files[questionnaire.id]} already defines it",
                )
            )
            continue
        result.questionnaires[questionnaire.id] = questionnaire
        result.files[questionnaire.id] = str(path)
    return result
