"""Charts are written with fast PNG compression (issue 15) and the same pixels."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from matplotlib.figure import Figure
from PIL import Image

from questionnaires.schema import Language
from reports.charts import distribution_png
from reports.model import Score


def _idat(png: bytes) -> bytes:
    """The concatenated IDAT data (the zlib stream) of a PNG."""
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return data


def test_a_chart_is_compressed_at_the_fastest_level_with_the_same_pixels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    score = Score(n=10, csat=70.0, mean=3.9, distribution={1: 1, 2: 1, 3: 1, 4: 3, 5: 4})
    png = distribution_png(score, title="Отчёт", min_group=5, language=Language.RU)
    stream = _idat(png)
    # The zlib header's FLEVEL bits (RFC 1950): 0 = fastest, 2 = Pillow's default level 6.
    assert stream[1] >> 6 == 0
    assert zlib.decompress(stream)
    # The same picture at Pillow's default level: identical pixels, only the bytes differ.
    original = Figure.savefig

    def default_level(self: Figure, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("pil_kwargs", None)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", default_level)
    reference = distribution_png(score, title="Отчёт", min_group=5, language=Language.RU)
    monkeypatch.undo()
    assert _idat(reference)[1] >> 6 == 2
    fast, slow = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(reference))
    assert fast.size == slow.size == (1200, 700)
    assert fast.tobytes() == slow.tobytes()
