"""Reading the generated pages back: tables as rows of {column heading: cell text}."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, Tag


def page(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def tables(soup: BeautifulSoup) -> dict[str, list[dict[str, str]]]:
    """Each table by its caption: rows keyed by the column headings (the row header first)."""
    found: dict[str, list[dict[str, str]]] = {}
    for table in soup.find_all("table"):
        assert isinstance(table, Tag)
        caption = table.find("caption")
        assert caption is not None, "every table has a caption"
        headings = [th.get_text(" ", strip=True) for th in table.select("thead th")]
        assert all(th.get("scope") == "col" for th in table.select("thead th"))
        rows = []
        for tr in table.select("tbody tr"):
            header = tr.find("th")
            assert isinstance(header, Tag) and header.get("scope") == "row"
            cells = [header.get_text(" ", strip=True)]
            cells += [td.get_text(" ", strip=True) for td in tr.find_all("td")]
            rows.append(dict(zip(headings, cells, strict=False)))
        found[caption.get_text(" ", strip=True)] = rows
    return found


def number(text: str) -> float:
    return float(text.replace(",", ".").replace("−", "-").replace("±", "").replace("+", ""))


def snapshot(folder: Path) -> dict[Path, bytes]:
    """Every file under `folder` with its bytes."""
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
