"""Telegram HTML split into messages: at most 4096 UTF-16 units each, a tag open at a cut
closed and reopened, paragraphs and lines kept whole when they fit."""

from __future__ import annotations

import html
import re
from typing import Final

#: Telegram rejects longer message texts.
MESSAGE_LIMIT: Final = 4096

_TAG: Final = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*?(/?)>")
_TOKEN: Final = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);|[^<&]+|[<&]")
_Stack = tuple[tuple[str, str], ...]  # open tags: (name, the opening tag as written)


def _size(text: str) -> int:
    # Telegram counts UTF-16 code units; an emoji outside the BMP takes two.
    return len(text.encode("utf-16-le")) // 2


def _advance(stack: _Stack, piece: str) -> _Stack:
    """The open tags after `piece`, given those open before it."""
    if "<" not in piece:
        return stack
    result = list(stack)
    for match in _TAG.finditer(piece):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            for index in range(len(result) - 1, -1, -1):
                if result[index][0] == name:
                    del result[index:]
                    break
        elif not self_closing:
            result.append((name, match.group(0)))
    return tuple(result)


def _closers(stack: _Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _openers(stack: _Stack) -> str:
    return "".join(opening for _, opening in stack)


def _visible(chunk: str) -> bool:
    return bool(_TAG.sub("", chunk).strip())


class _Packer:
    """Fills messages piece by piece, closing tags left open at a cut and reopening them next."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self.stack: _Stack = ()
        self.body = ""
        self.empty = True

    def add(self, piece: str, separator: str) -> bool:
        """Append `piece` if it fits with its closing tags; tell whether it did."""
        stack = _advance(self.stack, piece)
        body = self.body + ("" if self.empty else separator) + piece
        if _size(body) + _size(_closers(stack)) > self.limit:
            return False
        self.body, self.stack, self.empty = body, stack, False
        return True

    def room(self) -> int:
        return self.limit - _size(self.body) - _size(_closers(self.stack))

    def flush(self) -> None:
        chunk = (self.body + _closers(self.stack)).strip()
        if _visible(chunk):
            self.chunks.append(chunk)
        self.body, self.empty = _openers(self.stack), True

    def cut(self, piece: str) -> None:
        """Place a piece too long for one message: cut between tags, entities and words."""
        self.flush()
        for match in _TOKEN.finditer(piece):
            token = match.group(0)
            if token in ("<", "&"):  # a stray character in otherwise valid HTML
                token = html.escape(token)
            is_text = not token.startswith(("<", "&"))
            while token:
                if not is_text:
                    if not self.add(token, ""):
                        self._fresh_or_fail()
                        if not self.add(token, ""):
                            raise ValueError(f"limit {self.limit} is too small for {token!r}")
                    break
                taken = self._fitting_prefix(token)
                if not taken:
                    self._fresh_or_fail()
                    continue
                self.add(taken, "")
                token = token[len(taken) :]
                if token:
                    self.flush()

    def _fresh_or_fail(self) -> None:
        if self.empty:
            raise ValueError(f"limit {self.limit} is too small for the open tags")
        self.flush()

    def _fitting_prefix(self, text: str) -> str:
        room = self.room()
        if _size(text) <= room:
            return text
        end = 0
        used = 0
        for char in text:
            used += 2 if ord(char) > 0xFFFF else 1
            if used > room:
                break
            end += 1
        space = text.rfind(" ", 0, end)
        # Prefer a word boundary unless that wastes most of the message.
        if space > end // 2:
            end = space + 1
        return text[:end]


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into messages of at most `limit` UTF-16 units (Telegram's measure).

    Paragraphs (blank-line separated) stay together when they fit, then lines; a line longer
    than the limit is cut between tags, entities and preferably words. A tag open at a cut is
    closed at the end of one message and reopened at the start of the next.
    """
    packer = _Packer(limit)
    for paragraph in text.split("\n\n"):
        if packer.add(paragraph, "\n\n"):
            continue
        packer.flush()
        if packer.add(paragraph, ""):
            continue
        for index, line in enumerate(paragraph.split("\n")):
            separator = "\n" if index else "\n\n"
            if packer.add(line, separator):
                continue
            packer.flush()
            if not packer.add(line, ""):
                packer.cut(line)
    packer.flush()
    return packer.chunks
