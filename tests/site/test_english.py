"""The site's English tree speaks English (issue 12 item 2): every word of the program comes
from the catalogue, every name with an English form in the catalog, the questionnaires or a
poll window is given in it. Russian may stand only where the source has no English at all,
and each such text is listed here by where it comes from, not by pattern."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from tests.site.conftest import BODY_NAME, MEASURES, WINDOWS, Seeded

CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _no_english() -> set[str]:
    """Texts whose source has no English: the body's name (a setting in one language), the
    done measures (typed by officers), a poll window titled in Russian only."""
    texts = {BODY_NAME}
    for measure in MEASURES:
        texts |= {measure.problem, measure.process, measure.measure}
    texts |= {window.title.ru for window in WINDOWS if not window.title.en}
    return {text for text in texts if text}


def _texts(html: str) -> list[str]:
    """What a reader meets: text nodes, and attributes read aloud or shown (title, alt,
    aria-label, the page's description)."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    # Marked as another language for readers and screen readers: the link to the Russian
    # tree names its language in it («Русский»).
    for other in soup.select("[lang]:not(html)"):
        if other.get("lang") != "en":
            other.decompose()
    found = [text.strip() for text in soup.find_all(string=True) if text.strip()]
    for tag in soup.find_all(True):
        for attribute in ("title", "alt", "aria-label", "content", "placeholder"):
            value = tag.get(attribute)
            if isinstance(value, str) and value.strip():
                found.append(value.strip())
    return found


def russian_left(page: str, allowed: set[str]) -> list[str]:
    """Texts with Cyrillic once every allowed name is taken out of them."""
    left = []
    for text in _texts(page):
        rest = text
        for name in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(name, "")
        if CYRILLIC.search(rest):
            left.append(text)
    return left


async def test_the_english_pages_carry_no_russian_but_names_without_english(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    allowed = _no_english()
    pages = sorted((tmp_path / "en").rglob("*.html"))
    assert len(pages) > 5
    found = {
        str(path.relative_to(tmp_path)): left
        for path in pages
        if (left := russian_left(path.read_text(encoding="utf-8"), allowed))
    }
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
    # Not blind: the Russian tree is Russian.
    assert russian_left((tmp_path / "ru" / "index.html").read_text(encoding="utf-8"), allowed)


async def test_the_methodology_comes_from_the_catalogue_in_both_languages(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    await seeded_sqlite.publication.publish(tmp_path)
    english = BeautifulSoup((tmp_path / "en" / "methodology.html").read_text(), "html.parser")
    russian = BeautifulSoup((tmp_path / "ru" / "methodology.html").read_text(), "html.parser")
    assert "Figures of a group of fewer than 5 ratings" in english.get_text()
    assert "Цифры группы, в которой меньше 5 оценок" in russian.get_text()
    assert "{k}" not in english.get_text() + russian.get_text()
    assert [h.get_text() for h in english.find_all("h2")] == [
        "What is asked",
        "How satisfaction is computed",
        "What is never published, and why",
    ]
