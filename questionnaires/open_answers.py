"""Categories of open answers (Procedure §3.4, §4.4): keyword rules from YAML, matched by stem.

Comments, "other: …" follow-ups and staff initiative messages are grouped into the categories
of ``questionnaires/categories.yaml`` so that reports can count them. A rule lists keywords;
words are compared by their Snowball stem (Russian, and English for Latin words), so a keyword
matches any of its word forms. A phrase matches its words in a row; a keyword ending in ``*``
matches any word beginning with it. A text may fall in several categories; one that matches
none falls in :data:`OTHER`.

Why a stemmer and not a lemmatiser: stems need no dictionary (``snowballstemmer`` is pure
Python, a few hundred kilobytes), cost microseconds a word, and an officer writing rules can
always add a second keyword or a ``*`` where a stem falls short; a lemmatiser such as
``pymorphy3`` would add a 15 MB dictionary package (last released 2022) for a small gain here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated, Final

import snowballstemmer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from questionnaires.errors import Defect, DefinitionError
from questionnaires.loader import model_keys
from questionnaires.schema import Identifier, Language, Text
from questionnaires.yaml_source import parse_yaml, read_text, validate_model

CATEGORIES_FILE: Final = FsPath(__file__).parent / "categories.yaml"

#: The category of a text no rule matches; reserved, never defined in the file.
OTHER: Final = "other"
OTHER_TITLE: Final = Text(ru="Прочее", en="Other")
#: Category ids travel in callback data and in the re-tag table.
MAX_CATEGORIES: Final = 30
#: Texts whose categories a Categoriser keeps: every report of a period categorises the same
#: comments again (each officer, each output), and the rules are stemming per word. Some
#: 100k short texts, a few tens of MB; the oldest are forgotten first.
MEMO_TEXTS: Final = 100_000

_WORD: Final = re.compile(r"[^\W\d_]+")
_STEMMERS: Final = {
    "russian": snowballstemmer.stemmer("russian"),
    "english": snowballstemmer.stemmer("english"),
}

Keyword = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    id: Identifier
    title: Text
    keywords: tuple[Keyword, ...] = Field(min_length=1)


class CategoryFile(_Strict):
    """The categories file: a version and the categories in the order reports list them."""

    version: int = Field(ge=1)
    categories: tuple[Category, ...] = Field(min_length=1, max_length=MAX_CATEGORIES)


def words(text: str) -> list[str]:
    """Letter runs of ``text``, case-folded, «ё» read as «е»."""
    return _WORD.findall(text.casefold().replace("ё", "е"))


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball stem of one folded word: Russian for Cyrillic, English for Latin."""
    language = "english" if word.isascii() else "russian"
    return str(_STEMMERS[language].stemWord(word))


@dataclass(frozen=True, slots=True)
class _Rule:
    """One keyword: stems in a row, the last one a prefix of the written word when the keyword
    ends in ``*``."""

    stems: tuple[str, ...]
    prefix: bool


def _rule_of(keyword: str) -> _Rule | None:
    prefix = keyword.endswith("*")
    parts = words(keyword.rstrip("*"))
    if not parts:
        return None
    if prefix:
        # The prefix is matched against the word as written, the other words by stem.
        return _Rule((*(stem(part) for part in parts[:-1]), parts[-1]), True)
    return _Rule(tuple(stem(part) for part in parts), False)


@dataclass(frozen=True)
class Categoriser:
    """Assigns categories to texts; built once from a checked file.

    Rules are indexed so that a text costs one look-up per word, not one pass per keyword:
    by the stem of a one-word keyword, by the written prefix of a ``*`` keyword (tried at each
    prefix length in use), and by the first word of a phrase (checked in place only there).
    """

    file: CategoryFile
    _words: dict[str, frozenset[str]]  # stem -> categories
    _prefixes: dict[str, frozenset[str]]  # written prefix -> categories
    _lengths: tuple[int, ...]  # prefix lengths in use
    _phrases: dict[str, tuple[tuple[_Rule, str], ...]]  # first stem or prefix -> rules
    _order: dict[str, int]
    #: One text's categories by the text: a pure function of it and of the rules above.
    _memo: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, file: CategoryFile) -> Categoriser:
        single: dict[str, set[str]] = {}
        prefixes: dict[str, set[str]] = {}
        phrases: dict[str, list[tuple[_Rule, str]]] = {}
        for category in file.categories:
            for rule in filter(None, map(_rule_of, category.keywords)):
                if len(rule.stems) > 1:
                    phrases.setdefault(rule.stems[0], []).append((rule, category.id))
                elif rule.prefix:
                    prefixes.setdefault(rule.stems[0], set()).add(category.id)
                else:
                    single.setdefault(rule.stems[0], set()).add(category.id)
        return cls(
            file,
            {key: frozenset(value) for key, value in single.items()},
            {key: frozenset(value) for key, value in prefixes.items()},
            tuple(sorted({len(key) for key in prefixes})),
            {key: tuple(value) for key, value in phrases.items()},
            {category.id: index for index, category in enumerate(file.categories)},
        )

    @property
    def ids(self) -> tuple[str, ...]:
        """Every category id in report order, :data:`OTHER` last."""
        return (*(category.id for category in self.file.categories), OTHER)

    def title(self, category: str, language: Language | str = Language.RU) -> str:
        for entry in self.file.categories:
            if entry.id == category:
                return entry.title.get(language)
        return OTHER_TITLE.get(language) if category == OTHER else category

    def categories_of(self, *texts: str) -> tuple[str, ...]:
        """The categories of one person's open answers (in file order), or (OTHER,)."""
        if len(texts) != 1:
            return self._categorise(texts)
        memo = self._memo
        found = memo.get(texts[0])
        if found is None:
            found = memo[texts[0]] = self._categorise(texts)
            if len(memo) > MEMO_TEXTS:
                del memo[next(iter(memo))]
        return found

    def forget(self) -> None:
        """Drop the remembered texts (benchmarks time the categorising itself)."""
        self._memo.clear()

    def _categorise(self, texts: Sequence[str]) -> tuple[str, ...]:
        raw = [word for text in texts for word in words(text)]
        found = [stem(word) for word in raw]
        matched: set[str] = set()
        single, prefixes, phrases = self._words, self._prefixes, self._phrases
        for position, (written, stemmed) in enumerate(zip(raw, found, strict=True)):
            hit = single.get(stemmed)
            if hit:
                matched.update(hit)
            size = len(written)
            for length in self._lengths:
                if length > size:
                    break
                hit = prefixes.get(written[:length])
                if hit:
                    matched.update(hit)
            if stemmed in phrases:
                for rule, category in phrases[stemmed]:
                    if category not in matched and _phrase_at(rule, found, raw, position):
                        matched.add(category)
        if not matched:
            return (OTHER,)
        return tuple(sorted(matched, key=self._order.__getitem__))

    def known(self, categories: Iterable[str]) -> tuple[str, ...]:
        """``categories`` restricted to ids of this file, in its order (re-tags of removed
        categories are ignored rather than shown under a dead id)."""
        wanted = set(categories)
        return tuple(category for category in self.ids if category in wanted)


def _phrase_at(rule: _Rule, found: Sequence[str], raw: Sequence[str], start: int) -> bool:
    size = len(rule.stems)
    if start + size > len(found):
        return False
    if rule.prefix:
        return tuple(found[start : start + size - 1]) == rule.stems[:-1] and raw[
            start + size - 1
        ].startswith(rule.stems[-1])
    return tuple(found[start : start + size]) == rule.stems


def _check(file: CategoryFile, name: str) -> list[Defect]:
    defects: list[Defect] = []
    seen: dict[str, int] = {}
    for index, category in enumerate(file.categories):
        path = ("categories", index, "id")
        if category.id == OTHER:
            defects.append(
                Defect(
                    name,
                    path,
                    f"'{OTHER}' is reserved for answers no rule matches",
                    hint="choose another id",
                )
            )
        if category.id in seen:
            defects.append(
                Defect(
                    name,
                    path,
                    f"duplicate category id '{category.id}'",
                    hint=f"categories[{seen[category.id]}] already uses it",
                )
            )
        seen.setdefault(category.id, index)
        for position, keyword in enumerate(category.keywords):
            if not words(keyword.rstrip("*")):
                defects.append(
                    Defect(
                        name,
                        ("categories", index, "keywords", position),
                        f"keyword {keyword!r} has no letters",
                        hint="write a word or a phrase",
                    )
                )
    return defects


def parse_categories(text: str, file: str) -> Categoriser:
    """Parse and check a categories file; DefinitionError lists every defect, located."""
    document = parse_yaml(text, file)
    parsed = validate_model(
        document, CategoryFile, lambda p: model_keys(CategoryFile, document.data, p)
    )
    defects = [defect.located(*document.locate(defect.path)) for defect in _check(parsed, file)]
    if defects:
        raise DefinitionError(defects)
    return Categoriser.of(parsed)


def load_categories(path: FsPath = CATEGORIES_FILE) -> Categoriser:
    """Load a categories file (the shipped one by default)."""
    return parse_categories(read_text(path), str(path))
