"""Load-time checks a schema cannot express: ids, conditions, placeholders, analysis roles."""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping

from questionnaires.conditions import (
    ConditionSyntaxError,
    Symbol,
    SymbolKind,
    parse_condition,
)
from questionnaires.errors import Defect, Path
from questionnaires.schema import (
    CONTEXT_KEYS,
    MAX_SCALE_POINTS,
    Audience,
    Kind,
    MultiChoiceQuestion,
    NpsQuestion,
    Question,
    Questionnaire,
    Role,
    ScaleQuestion,
    SingleChoiceQuestion,
    Text,
    TextQuestion,
    YesNoQuestion,
)

_AUDIENCE_OF_KIND = {
    Kind.POST_SERVICE: Audience.EXTERNAL,
    Kind.DEEP: Audience.EXTERNAL,
    Kind.STAFF: Audience.INTERNAL,
    Kind.INITIATIVE: Audience.INTERNAL,
}


def symbol_of(question: Question) -> Symbol:
    """How a question's answer can be used in a condition."""
    if isinstance(question, ScaleQuestion | NpsQuestion):
        return Symbol(SymbolKind.NUMBER, minimum=question.min, maximum=question.max)
    if isinstance(question, MultiChoiceQuestion):
        return Symbol(SymbolKind.MULTI, options=frozenset(o.id for o in question.options))
    if isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        return Symbol(SymbolKind.CHOICE, options=frozenset(o.id for o in question.options))
    return Symbol(SymbolKind.TEXT)


def check_questionnaire(questionnaire: Questionnaire, file: str) -> list[Defect]:
    """Every semantic defect of a structurally valid questionnaire, in file order."""
    defects: list[Defect] = []
    q = questionnaire
    expected_audience = _AUDIENCE_OF_KIND[q.kind]
    if q.audience != expected_audience:
        defects.append(
            Defect(
                file,
                ("audience",),
                f"a '{q.kind}' questionnaire is for the {expected_audience} audience",
                expected=f"audience: {expected_audience}",
            )
        )
    context_symbols = {key: Symbol(SymbolKind.CONTEXT) for key in CONTEXT_KEYS}
    for path, text in (("title",), q.title), (("intro",), q.intro):
        if text is not None:
            defects += _check_placeholders(text, path, file, allowed=set(CONTEXT_KEYS))

    all_ids = {question.id: index for index, question in enumerate(q.questions)}
    seen: dict[str, int] = {}
    earlier: dict[str, Symbol] = dict(context_symbols)
    for index, question in enumerate(q.questions):
        base: Path = ("questions", index)
        if question.id in seen:
            defects.append(
                Defect(
                    file,
                    (*base, "id"),
                    f"duplicate question id '{question.id}'",
                    hint=f"questions[{seen[question.id]}] already uses it; ids must be unique",
                )
            )
        else:
            seen[question.id] = index
        defects += _check_ranges(question, base, file)
        defects += _check_options(question, base, file)
        defects += _check_role(question, base, file)
        allowed = set(CONTEXT_KEYS) | {k for k in earlier if k not in CONTEXT_KEYS}
        for text_path, text in _texts(question, base):
            defects += _check_placeholders(text, text_path, file, allowed)
        conditions: list[tuple[Path, str]] = []
        if question.show_if is not None:
            conditions.append(((*base, "show_if"), question.show_if))
        conditions += [
            ((*base, "variants", k, "if"), v.show_if) for k, v in enumerate(question.variants)
        ]
        for cond_path, source in conditions:
            defects += _check_condition(
                source, cond_path, file, question.id, index, all_ids, earlier, q
            )
        earlier[question.id] = symbol_of(question)

    roles = [(i, question) for i, question in enumerate(q.questions) if question.role]
    overall = [i for i, question in roles if question.role == Role.OVERALL]
    for extra in overall[1:]:
        defects.append(
            Defect(
                file,
                ("questions", extra, "role"),
                "only one question can be the overall satisfaction question",
                hint=f"questions[{overall[0]}] already has role: overall",
            )
        )
    defects += _check_placeholders(q.outro, ("outro",), file, set(CONTEXT_KEYS) | set(all_ids))
    return defects


def _texts(question: Question, base: Path) -> Iterator[tuple[Path, Text]]:
    yield (*base, "text"), question.text
    if question.hint is not None:
        yield (*base, "hint"), question.hint
    for k, variant in enumerate(question.variants):
        yield (*base, "variants", k, "text"), variant.text


def _check_ranges(question: Question, base: Path, file: str) -> list[Defect]:
    if isinstance(question, ScaleQuestion):
        if question.min >= question.max:
            return [
                Defect(
                    file,
                    (*base, "max"),
                    f"the scale's min ({question.min}) must be below its max ({question.max})",
                    hint="the default is min: 1, max: 5",
                )
            ]
        if question.max - question.min + 1 > MAX_SCALE_POINTS:
            return [
                Defect(
                    file,
                    (*base, "max"),
                    f"a scale of {question.max - question.min + 1} points does not fit as buttons",
                    expected=f"at most {MAX_SCALE_POINTS} points",
                )
            ]
    if (
        isinstance(question, MultiChoiceQuestion)
        and question.max_choices is not None
        and question.max_choices > len(question.options)
    ):
        return [
            Defect(
                file,
                (*base, "max_choices"),
                f"max_choices ({question.max_choices}) exceeds the "
                f"{len(question.options)} options",
            )
        ]
    return []


def _check_options(question: Question, base: Path, file: str) -> list[Defect]:
    if not isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion):
        return []
    defects: list[Defect] = []
    seen: dict[str, int] = {}
    others = 0
    for j, option in enumerate(question.options):
        if option.id in seen:
            defects.append(
                Defect(
                    file,
                    (*base, "options", j, "id"),
                    f"duplicate option id '{option.id}'",
                    hint=f"options[{seen[option.id]}] already uses it",
                )
            )
        seen.setdefault(option.id, j)
        if option.other:
            others += 1
            if others > 1:
                defects.append(
                    Defect(
                        file,
                        (*base, "options", j, "other"),
                        "only one option per question can ask for an 'other' text",
                    )
                )
    return defects


def _check_role(question: Question, base: Path, file: str) -> list[Defect]:
    role = question.role
    path = (*base, "role")
    if role == Role.OVERALL and not (
        isinstance(question, ScaleQuestion) and (question.min, question.max) == (1, 5)
    ):
        return [
            Defect(
                file,
                path,
                "the overall question must be a 1-5 scale so results compare across channels",
                expected="type: scale, min: 1, max: 5",
            )
        ]
    if role == Role.PROBLEMS and not isinstance(
        question, SingleChoiceQuestion | MultiChoiceQuestion
    ):
        return [
            Defect(file, path, "a problems question lists options", expected="single or multi")
        ]
    if role == Role.PARAMETER and not isinstance(question, ScaleQuestion):
        return [Defect(file, path, "a parameter is rated on a scale", expected="type: scale")]
    if role == Role.COMMENT and not isinstance(question, TextQuestion):
        return [Defect(file, path, "a comment is free text", expected="type: text")]
    if role == Role.SITUATION and not (
        isinstance(question, ScaleQuestion) and (question.min, question.max) == (1, 5)
    ):
        return [
            Defect(
                file,
                path,
                "satisfaction with a life situation uses the overall question's 1-5 scale",
                expected="type: scale, min: 1, max: 5",
            )
        ]
    if role == Role.SITUATION_CHOICE and not isinstance(question, SingleChoiceQuestion):
        return [Defect(file, path, "a life situation is chosen once", expected="type: single")]
    return []


def _check_placeholders(text: Text, path: Path, file: str, allowed: set[str]) -> list[Defect]:
    defects: list[Defect] = []
    for language in ("ru", "en"):
        value = getattr(text, language)
        if value is None:
            continue
        try:
            fields = [
                name for _, name, _, _ in string.Formatter().parse(value) if name is not None
            ]
        except ValueError as error:
            defects.append(
                Defect(
                    file,
                    (*path, language),
                    f"broken placeholder: {error}",
                    hint="write {{ and }} for literal braces",
                )
            )
            continue
        for name in fields:
            if name not in allowed:
                defects.append(
                    Defect(
                        file,
                        (*path, language),
                        f"unknown placeholder {{{name}}}",
                        expected="one of " + ", ".join(sorted(allowed)),
                        hint="placeholders name the context or an earlier question",
                    )
                )
    return defects


def _check_condition(
    source: str,
    path: Path,
    file: str,
    own_id: str,
    own_index: int,
    all_ids: Mapping[str, int],
    earlier: Mapping[str, Symbol],
    questionnaire: Questionnaire,
) -> list[Defect]:
    try:
        condition = parse_condition(source)
    except ConditionSyntaxError as error:
        return [
            Defect(
                file,
                path,
                f"{error.message} at column {error.column + 1} of «{source}»",
                hint=error.hint,
            )
        ]
    defects: list[Defect] = []
    symbols = dict(earlier)
    for name in sorted(condition.references()):
        if name in earlier:
            continue
        index = all_ids.get(name)
        if index is None:
            continue  # reported by check() below with a did-you-mean hint
        what = "itself" if name == own_id else f"question '{name}' that comes later"
        defects.append(
            Defect(
                file,
                path,
                f"condition refers to {what} (questions[{index}])",
                hint="a condition may only use questions asked before this one"
                if index >= own_index
                else None,
            )
        )
        symbols[name] = symbol_of(questionnaire.questions[index])
    for problem in condition.check(symbols):
        defects.append(
            Defect(
                file,
                path,
                f"{problem.message} at column {problem.column + 1} of «{source}»",
                hint=problem.hint,
            )
        )
    return defects
