"""The Appendix 2 report as a Word document (python-docx), from its document model.

Everything is done with named styles of the document (headings, "Table Grid", captions, and a
few of our own: the form's header, table text, suppressed figures, the editable conclusions), so
an official can restyle the whole report in Word and sign it. Nothing is decided here: the
document model (reports.appendix2) carries every word and figure.
"""

from __future__ import annotations

import io
from typing import Final

from docx import Document as new_document
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from questionnaires.schema import Language
from reports.appendix2 import Document, Figure, Paragraph, Section, Table

FORM_TITLE_STYLE: Final = "Form Title"
TABLE_TEXT_STYLE: Final = "Table Text"
TABLE_HEADER_STYLE: Final = "Table Header"
SUPPRESSED_STYLE: Final = "Suppressed Figure"
EDITABLE_STYLE: Final = "Conclusions"
CAPTION_STYLE: Final = "Caption"
TABLE_STYLE: Final = "Table Grid"
FONT: Final = "Times New Roman"
#: Text width of an A4 page with 2 cm margins (left 3 cm for filing, right 1.5 cm).
PICTURE_WIDTH: Final = Cm(16)


def render_docx(document: Document) -> bytes:
    """The document as the bytes of a .docx file."""
    word = new_document()
    _page(word)
    _styles(word)
    # Word keeps at most 255 characters in a property; the form's header may be longer.
    word.core_properties.title = document.short_title[:255]
    word.core_properties.language = "en-GB" if document.language == Language.EN else "ru-RU"
    word.add_paragraph(document.title, style=FORM_TITLE_STYLE)
    word.add_paragraph(document.period_line)
    if document.note:
        word.add_paragraph(document.note)
    for section in document.sections:
        _section(word, section)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _page(word: WordDocument) -> None:
    for section in word.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21)
        section.top_margin = section.bottom_margin = Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)


def _styles(word: WordDocument) -> None:
    styles = word.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(12)
    for name in ("Heading 1", "Heading 2", CAPTION_STYLE):
        styles[name].font.name = FONT
        styles[name].font.color.rgb = RGBColor(0, 0, 0)

    title = styles.add_style(FORM_TITLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    title.base_style = normal
    title.font.bold = True
    title.font.size = Pt(14)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)

    cell = styles.add_style(TABLE_TEXT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.font.size = Pt(10)
    cell.paragraph_format.space_after = Pt(0)

    header = styles.add_style(TABLE_HEADER_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    header.base_style = cell
    header.font.bold = True

    suppressed = styles.add_style(SUPPRESSED_STYLE, WD_STYLE_TYPE.CHARACTER)
    suppressed.font.italic = True
    suppressed.font.color.rgb = RGBColor(0x59, 0x59, 0x59)

    editable = styles.add_style(EDITABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    editable.base_style = normal
    editable.paragraph_format.first_line_indent = Cm(1.25)
    editable.paragraph_format.space_after = Pt(6)


def _section(word: WordDocument, section: Section) -> None:
    word.add_heading(section.heading, level=section.level)
    for block in section.blocks:
        if isinstance(block, Paragraph):
            word.add_paragraph(block.text, style=EDITABLE_STYLE if block.editable else None)
        elif isinstance(block, Table):
            _table(word, block)
        elif isinstance(block, Figure):
            word.add_picture(io.BytesIO(block.png), width=PICTURE_WIDTH)
            word.add_paragraph(block.caption, style=CAPTION_STYLE)


def _table(word: WordDocument, table: Table) -> None:
    word.add_paragraph(table.caption, style=CAPTION_STYLE)
    grid = word.add_table(rows=1, cols=len(table.columns))
    grid.style = word.styles[TABLE_STYLE]
    for cell, heading in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.paragraphs[0].style = word.styles[TABLE_HEADER_STYLE]
        cell.paragraphs[0].add_run(heading)
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.style = word.styles[TABLE_TEXT_STYLE]
            run = paragraph.add_run(value.text)
            if value.suppressed:
                run.style = word.styles[SUPPRESSED_STYLE]
