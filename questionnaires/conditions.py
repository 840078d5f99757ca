"""The `show_if` condition language: tokenizer, parser, evaluator and load-time checker.

Grammar, loosest first: ``or`` < ``and`` < ``not`` < comparison, with parentheses::

    condition  := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" condition ")" | "answered" "(" REF ")" | comparison
    comparison := REF ("==" | "!=" | "<" | "<=" | ">" | ">=") VALUE
                | REF ("in" | "not in") LIST | REF "has" (VALUE | LIST)
    VALUE      := INTEGER | IDENTIFIER (an option id) | "text" | 'text'     (no escapes)
    LIST       := "[" VALUE ("," VALUE)* "]"

The left side is always a reference (a question id or a context key), the right side always a
literal; a bare identifier on the right is an option id, never another reference. Identifiers
match ``[A-Za-z_][A-Za-z0-9_-]*``; keywords are lowercase. Nothing is ever passed to ``eval``.

Semantics of ``Condition.evaluate``:

- A name present in ``answers`` is looked up there; otherwise the context keys (``service``,
  ``channel``, ``life_situation``) are looked up in ``context``; anything else is unanswered.
- Any comparison on an unanswered reference (missing, or a context value of None) is False,
  ``!=`` and ``not in`` included, so "unless" is written ``not (x == 1)``.
- ``answered(x)`` is True iff ``x`` has a value.
- ``< <= > >=`` are True only for an int value ("cannot_rate" on a scale gives False).
- ``==`` is True only for equal values of the same type (int with an integer literal, str with
  an identifier or quoted string); ``!=`` is its negation when answered.
- ``in [..]``: a str or int value is a member; a list (multiple choice) overlaps the literal list.
  ``not in`` is its negation when answered.
- ``has X`` / ``has [X, Y]``: the multiple-choice value contains X / any of them.
"""

from __future__ import annotations

import difflib
import enum
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from questionnaires.results import CANNOT_RATE

AnswerValue = int | str | list[str]

CONTEXT_KEYS: Final = frozenset({"service", "channel", "life_situation"})
KEYWORDS: Final = frozenset({"and", "or", "not", "in", "has", "answered"})
# Bounds recursion so hostile or broken YAML yields a syntax error, not a RecursionError.
MAX_DEPTH: Final = 50

_NUMERIC_OPS: Final[dict[str, Callable[[int, int], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPERATORS: Final = ("==", "!=", *_NUMERIC_OPS, "in", "not in", "has")
# Typical slips from other languages, mapped to what to write instead.
_FOREIGN_CHARS: Final = {
    "=": "use '=='",
    "!": "use '!=' or 'not'",
    "&": "use 'and'",
    "|": "use 'or'",
}
_SINGLE_CHARS: Final = "()[],"


class ConditionSyntaxError(ValueError):
    """A `show_if` expression that cannot be parsed; `column` is a 0-based offset."""

    message: str
    column: int
    hint: str | None

    def __init__(self, message: str, column: int, hint: str | None = None) -> None:
        self.message, self.column, self.hint = message, column, hint
        super().__init__(f"{message} (column {column})" + (f"; {hint}" if hint else ""))


class SymbolKind(enum.StrEnum):
    NUMBER = "number"
    CHOICE = "choice"
    MULTI = "multi"
    TEXT = "text"
    CONTEXT = "context"


_KIND_NOUNS: Final = {
    SymbolKind.NUMBER: "a number question",
    SymbolKind.CHOICE: "a single-choice question",
    SymbolKind.MULTI: "a multiple-choice question",
    SymbolKind.TEXT: "a free-text question",
    SymbolKind.CONTEXT: "a context key",
}


@dataclass(frozen=True)
class Symbol:
    """What the checker knows about a reference: its kind, options and numeric range."""

    kind: SymbolKind
    options: frozenset[str] | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class ConditionProblem:
    """One load-time type problem found by `Condition.check`."""

    message: str
    column: int
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "ident", "keyword", "int", "string", "op", one of "()[],", or "end"
    text: str
    column: int


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str
    column: int


@dataclass(frozen=True, slots=True)
class _Literal:
    value: int | str
    column: int


@dataclass(frozen=True, slots=True)
class _Compare:
    ref: _Ref
    op: str
    op_column: int
    values: tuple[_Literal, ...]  # one item unless the source had a list


@dataclass(frozen=True, slots=True)
class _Answered:
    ref: _Ref


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _BoolOp:
    op: str  # "and" | "or"
    operands: tuple[_Node, ...]


_Node = _Compare | _Answered | _Not | _BoolOp


def _is_ident_char(char: str) -> bool:
    # Explicit ASCII: str.isalnum() would admit Cyrillic and superscript digits.
    return char.isascii() and (char.isalnum() or char in "_-")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        start = pos
        if char.isspace():
            pos += 1
            continue
        if char.isascii() and (char.isalpha() or char == "_"):
            while pos < len(source) and _is_ident_char(source[pos]):
                pos += 1
            word = source[start:pos]
            tokens.append(_Token("keyword" if word in KEYWORDS else "ident", word, start))
        elif char.isascii() and char.isdigit():
            while pos < len(source) and _is_ident_char(source[pos]):
                pos += 1
            word = source[start:pos]
            if not word.isdigit():
                raise ConditionSyntaxError(
                    f"'{word}' is neither a number nor an identifier", start, f'quote it: "{word}"'
                )
            tokens.append(_Token("int", word, start))
        elif char in "\"'":
            end = source.find(char, start + 1)
            if end < 0:
                raise ConditionSyntaxError("unterminated string", start, f"close it with {char}")
            tokens.append(_Token("string", source[start + 1 : end], start))
            pos = end + 1
        elif source.startswith(("==", "!=", "<=", ">="), pos):
            tokens.append(_Token("op", source[pos : pos + 2], start))
            pos += 2
        elif char in "<>":
            tokens.append(_Token("op", char, start))
            pos += 1
        elif char in _SINGLE_CHARS:
            tokens.append(_Token(char, char, start))
            pos += 1
        elif char in _FOREIGN_CHARS:
            raise ConditionSyntaxError(f"unknown operator '{char}'", start, _FOREIGN_CHARS[char])
        else:
            hint = 'quote text: "..."' if char.isalpha() else None
            raise ConditionSyntaxError(f"unexpected character {char!r}", start, hint)
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.token.kind == kind and (text is None or self.token.text == text)

    def parse(self) -> _Node:
        if self.at("end"):
            raise ConditionSyntaxError("empty condition", 0, "for example: overall <= 3")
        node = self.parse_or()
        if not self.at("end"):
            token = self.token
            if token.kind == ")":
                hint: str | None = "there is no '(' to close"
            elif token.kind == "ident" and token.text.lower() in KEYWORDS:
                hint = f"keywords are lowercase: '{token.text.lower()}'"
            else:
                hint = "join conditions with 'and' or 'or'"
            raise ConditionSyntaxError(f"unexpected '{token.text}'", token.column, hint)
        return node

    def parse_or(self) -> _Node:
        return self.parse_chain("or", self.parse_and)

    def parse_and(self) -> _Node:
        return self.parse_chain("and", self.parse_not)

    def parse_chain(self, keyword: str, parse_operand: Callable[[], _Node]) -> _Node:
        operands = [parse_operand()]
        while self.at("keyword", keyword):
            self.advance()
            operands.append(parse_operand())
        return operands[0] if len(operands) == 1 else _BoolOp(keyword, tuple(operands))

    def parse_not(self) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionSyntaxError("condition is nested too deeply", self.token.column)
        try:
            if self.at("keyword", "not"):
                self.advance()
                return _Not(self.parse_not())
            return self.parse_primary()
        finally:
            self.depth -= 1

    def parse_primary(self) -> _Node:
        token = self.token
        if token.kind == "(":
            self.advance()
            node = self.parse_or()
            self.expect_close(token, ")")
            return node
        if token.kind == "keyword" and token.text == "answered":
            self.advance()
            opening = self.token
            if opening.kind != "(":
                raise ConditionSyntaxError(
                    "expected '(' after 'answered'", opening.column, "write answered(question_id)"
                )
            self.advance()
            ref = self.parse_ref()
            self.expect_close(opening, ")")
            return _Answered(ref)
        return self.parse_comparison()

    def expect_close(self, opening: _Token, closing: str) -> None:
        if self.at(closing):
            self.advance()
            return
        if self.at("end"):
            raise ConditionSyntaxError(
                f"'{opening.text}' is never closed", opening.column, f"add '{closing}'"
            )
        hint = (
            "separate values with ','"
            if closing == "]"
            else f"close the '(' at column {opening.column}"
        )
        raise ConditionSyntaxError(
            f"expected '{closing}', found '{self.token.text}'", self.token.column, hint
        )

    def parse_ref(self) -> _Ref:
        token = self.token
        if token.kind == "ident":
            self.advance()
            return _Ref(token.text, token.column)
        if token.kind == "end":
            previous = self.tokens[self.pos - 1].text if self.pos else ""
            raise ConditionSyntaxError(f"expected a condition after '{previous}'", token.column)
        if token.kind == "op":
            raise ConditionSyntaxError(
                f"expected a question id before '{token.text}'",
                token.column,
                f"write: question_id {token.text} value",
            )
        if token.kind in ("int", "string"):
            raise ConditionSyntaxError(
                "the left side must be a question id, not a value",
                token.column,
                "write: question_id == value",
            )
        raise ConditionSyntaxError(f"expected a question id, found '{token.text}'", token.column)

    def parse_comparison(self) -> _Node:
        ref = self.parse_ref()
        token = self.token
        if token.kind == "op" or (token.kind == "keyword" and token.text in ("in", "has")):
            op = self.advance().text
        elif token.kind == "keyword" and token.text == "not":
            self.advance()
            if not self.at("keyword", "in"):
                raise ConditionSyntaxError(
                    "expected 'in' after 'not'",
                    self.token.column,
                    f"write {ref.name} not in [...]",
                )
            self.advance()
            op = "not in"
        else:
            raise ConditionSyntaxError(
                f"expected an operator after '{ref.name}'",
                token.column,
                f"one of {', '.join(_OPERATORS)}, or answered({ref.name})",
            )
        value_column = self.token.column
        values, is_list = self.parse_value(op)
        if op in ("in", "not in") and not is_list:
            raise ConditionSyntaxError(
                f"'{op}' needs a list", value_column, f"write {ref.name} {op} [...]"
            )
        if op in ("==", "!=") and is_list:
            raise ConditionSyntaxError(
                f"'{op}' compares with one value", value_column, f"write {ref.name} in [...]"
            )
        if op in _NUMERIC_OPS and (is_list or not isinstance(values[0].value, int)):
            raise ConditionSyntaxError(f"'{op}' needs a number", value_column)
        return _Compare(ref, op, token.column, values)

    def parse_value(self, op: str) -> tuple[tuple[_Literal, ...], bool]:
        opening = self.token
        if opening.kind != "[":
            return (self.parse_scalar(op),), False
        self.advance()
        if self.at("]"):
            raise ConditionSyntaxError("empty list", opening.column, "list at least one value")
        values = [self.parse_scalar("[")]
        while self.at(","):
            values.append(self.parse_scalar(self.advance().text))
        self.expect_close(opening, "]")
        return tuple(values), True

    def parse_scalar(self, after: str) -> _Literal:
        token = self.token
        if token.kind == "int":
            self.advance()
            return _Literal(int(token.text), token.column)
        if token.kind in ("ident", "string"):
            self.advance()
            return _Literal(token.text, token.column)
        hint = f'quote it: "{token.text}"' if token.kind == "keyword" else None
        raise ConditionSyntaxError(f"expected a value after '{after}'", token.column, hint)


def _resolve(
    name: str, answers: Mapping[str, AnswerValue], context: Mapping[str, str | None]
) -> AnswerValue | None:
    if name in answers:
        return answers[name]
    return context.get(name) if name in CONTEXT_KEYS else None


def _same(value: AnswerValue, literal: int | str) -> bool:
    # Strict types: the option id "3" is not the scale value 3.
    return isinstance(value, int) == isinstance(literal, int) and value == literal


def _compare(op: str, value: AnswerValue, literals: tuple[int | str, ...]) -> bool:
    if op == "!=":
        return not _compare("==", value, literals)
    if op == "not in":
        return not _compare("in", value, literals)
    if op == "==":
        return _same(value, literals[0])
    if op in _NUMERIC_OPS:
        number, literal = value, literals[0]
        return (
            isinstance(number, int)
            and not isinstance(number, bool)
            and isinstance(literal, int)
            and _NUMERIC_OPS[op](number, literal)
        )
    if isinstance(value, list):  # "in" overlaps a multiple choice, and so does "has"
        return any(isinstance(item, str) and item in value for item in literals)
    return op == "in" and any(_same(value, item) for item in literals)


def _evaluate(
    node: _Node, answers: Mapping[str, AnswerValue], context: Mapping[str, str | None]
) -> bool:
    if isinstance(node, _BoolOp):
        results = (_evaluate(operand, answers, context) for operand in node.operands)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, _Not):
        return not _evaluate(node.operand, answers, context)
    value = _resolve(node.ref.name, answers, context)
    if isinstance(node, _Answered):
        return value is not None
    if value is None:
        return False
    return _compare(node.op, value, tuple(literal.value for literal in node.values))


def _walk(node: _Node) -> Iterator[_Compare | _Answered]:
    if isinstance(node, _BoolOp):
        for operand in node.operands:
            yield from _walk(operand)
    elif isinstance(node, _Not):
        yield from _walk(node.operand)
    else:
        yield node


def _check_compare(node: _Compare, symbol: Symbol) -> Iterator[ConditionProblem]:
    name, op, kind = node.ref.name, node.op, symbol.kind
    noun = _KIND_NOUNS[kind]
    if kind is SymbolKind.TEXT:
        yield ConditionProblem(
            f"'{name}' is free text: it can only be tested for an answer",
            node.op_column,
            f"answered({name})",
        )
        return
    if op in _NUMERIC_OPS and kind is not SymbolKind.NUMBER:
        yield ConditionProblem(
            f"'{op}' compares numbers, but '{name}' is {noun}",
            node.op_column,
            f"use {name} in [...]",
        )
        return
    if op == "has" and kind is not SymbolKind.MULTI:
        hint = None if kind is SymbolKind.NUMBER else f"use {name} in [...]"
        yield ConditionProblem(
            f"'has' needs a multiple-choice question, but '{name}' is {noun}", node.op_column, hint
        )
        return
    if op in ("==", "!=") and kind is SymbolKind.MULTI:
        # A list answer never equals one option, so this would be constant.
        yield ConditionProblem(
            f"'{op}' cannot match {noun} '{name}'", node.op_column, f"use {name} has ..."
        )
        return
    for literal in node.values:
        value, column = literal.value, literal.column
        if kind is SymbolKind.NUMBER and isinstance(value, int):
            low, high = symbol.minimum, symbol.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                yield ConditionProblem(
                    f"{value} is outside the range of '{name}'",
                    column,
                    f"use a number from {low} to {high}",
                )
        elif kind is SymbolKind.NUMBER and value != CANNOT_RATE:
            yield ConditionProblem(
                f"'{name}' is {noun}, '{value}' is not a number",
                column,
                f"use a number or {CANNOT_RATE}",
            )
        elif kind in (SymbolKind.CHOICE, SymbolKind.MULTI) and symbol.options is not None:
            if value not in symbol.options:
                valid = ", ".join(sorted(symbol.options))
                yield ConditionProblem(
                    f"'{value}' is not an option of '{name}'", column, f"valid options: {valid}"
                )
        elif kind is SymbolKind.CONTEXT and isinstance(value, int):
            yield ConditionProblem(
                f"'{name}' is {noun}: compare it with codes, not numbers",
                column,
                f'quote it: "{value}"',
            )


@dataclass(frozen=True)
class Condition:
    """A parsed `show_if` expression; constructing one parses `source` or raises."""

    source: str
    _tree: _Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", _Parser(self.source).parse())

    def references(self) -> frozenset[str]:
        """Every question id or context key the expression mentions."""
        return frozenset(node.ref.name for node in _walk(self._tree))

    def evaluate(
        self, answers: Mapping[str, AnswerValue], context: Mapping[str, str | None]
    ) -> bool:
        """Whether the condition holds for these answers and response context."""
        return _evaluate(self._tree, answers, context)

    def check(self, symbols: Mapping[str, Symbol]) -> list[ConditionProblem]:
        """Every type problem against the questionnaire's symbols, in source order."""
        problems: list[ConditionProblem] = []
        for node in _walk(self._tree):
            name, column = node.ref.name, node.ref.column
            symbol = symbols.get(name)
            if symbol is None:
                close = difflib.get_close_matches(name, list(symbols), n=1)
                hint = f"did you mean '{close[0]}'?" if close else None
                problems.append(ConditionProblem(f"unknown reference '{name}'", column, hint))
            elif isinstance(node, _Answered):
                pass  # any answer, and any context key (a link may omit it), may be absent
            else:
                problems.extend(_check_compare(node, symbol))
        return sorted(problems, key=lambda problem: problem.column)


def parse_condition(source: str) -> Condition:
    """Parse a `show_if` expression; raises ConditionSyntaxError with a column and a hint."""
    return Condition(source)
