"""Checks that a Telegram HTML message is well formed: known tags, balanced, nothing stray."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_TAG = re.compile(r"</?[a-z][a-z-]*(?:\s[^<>]*)?>")

#: Tags Telegram accepts with parse_mode=HTML.
TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)


class TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.errors.append(f"unknown tag <{tag}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> does not close {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(message: str) -> str:
    """Raise AssertionError unless the message parses with balanced known tags; return its text."""
    parser = TagBalance()
    parser.feed(message)
    parser.close()
    assert not parser.errors, (parser.errors, message)
    assert not parser.stack, (f"left open: {parser.stack}", message)
    # Raw "<" or "&" that is not markup would be rejected by Telegram.
    for index, char in enumerate(message):
        if char == "&":
            tail = message[index : index + 10]
            assert tail.startswith(("&lt;", "&gt;", "&amp;", "&quot;", "&#")), tail
    for index, char in enumerate(message):
        if char == "<":
            assert _TAG.match(message, index), message[index : index + 20]
    return "".join(parser.text)
