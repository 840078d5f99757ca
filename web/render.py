"""The pages' HTML: Jinja2 templates, compiled once, and a cache of rendered pages.

Most pages a browser gets are the same for everybody: the first question of a link's rating,
the next question after an answer, the thanks. Only two values differ from browser to browser:
the CSRF token (a keyed hash of the browser cookie) and the signed state token of a question
page. A page is therefore rendered once with unguessable marks in their place, kept, and each
response is that text with the two tokens put in (both are URL-safe base64 and a dot, which
HTML escaping leaves as they are, so the text is the one Jinja2 would have drawn).

Pages that carry what one person gave are never kept: a question with options already marked
(the person went back) or with their typed text shown again. The cache holds what the
questionnaires and texts say, nobody's answers, and never anything about a browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Final

import jinja2

from questionnaires.schema import Language
from web.pages import QuestionView
from web.texts import text

#: Rendered pages kept; past it the cache starts again (cheaper than LRU bookkeeping per hit).
#: Each page is a few kilobytes; the keys are what the questionnaires can show.
PAGE_CACHE_SIZE: Final = 1024


def environment(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # Templates ship with the code: no stat() of every file on every page.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """Draws a template for a language; keeps what is the same for every browser."""

    def __init__(self, templates: Path, *, size: int = PAGE_CACHE_SIZE) -> None:
        """`size` pages are kept at most (0: none)."""
        self.environment = environment(templates)
        self._size = size
        self._cache: dict[Hashable, str] = {}
        # Unguessable and never sent: each is replaced before a page leaves the server.
        mark = secrets.token_hex(16)
        self._csrf_mark = f"c{mark}"
        self._state_mark = f"s{mark}"
        #: Pages drawn by Jinja2 (a figure for tests).
        self.drawn = 0

    def page(
        self,
        template: str,
        language: Language,
        other_href: str,
        values: Mapping[str, Any],
        *,
        csrf: str,
        state: str,
    ) -> str:
        """The HTML of `template` with `values`, the browser's CSRF and the page's state."""
        key = _key(template, language, other_href, values) if self._size > 0 else None
        if key is None:
            return self._draw(template, language, other_href, values, csrf, state)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._draw(
                template, language, other_href, values, self._csrf_mark, self._state_mark
            )
            if len(self._cache) >= self._size:
                self._cache.clear()
            self._cache[key] = cached
        return cached.replace(self._csrf_mark, csrf).replace(self._state_mark, state)

    def _draw(
        self,
        template: str,
        language: Language,
        other_href: str,
        values: Mapping[str, Any],
        csrf: str,
        state: str,
    ) -> str:
        self.drawn += 1
        other = Language.EN if language is Language.RU else Language.RU
        return self.environment.get_template(template).render(
            lang=language.value,
            other_lang=other.value,
            other_href=other_href,
            t=lambda key, **kw: text(language, key, **kw),
            csrf=csrf,
            state=state,
            **{"error": None, **values},
        )

    def __len__(self) -> int:
        return len(self._cache)


def _key(
    template: str, language: Language, other_href: str, values: Mapping[str, Any]
) -> Hashable | None:
    """What a page is drawn from, or None for a page that must not be kept."""
    step = values.get("step")
    if isinstance(step, QuestionView) and (
        step.prefill_text or any(option.checked for option in step.options)
    ):
        return None  # one person's answer on the page
    key = (template, language, other_href, tuple(sorted(values.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key
