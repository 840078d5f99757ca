"""How one figure shows in every output: whether it is hidden, and its band in words."""

from __future__ import annotations

from typing import Final

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import Band, Score

_BANDS: Final = {
    Band.HIGH: N_("report.band.high"),
    Band.MEDIUM: N_("report.band.medium"),
    Band.LOW: N_("report.band.low"),
}


def band_text(band: Band, language: Language = Language.RU) -> str:
    """The band as a word: высокий / средний / низкий."""
    return tr(language, _BANDS[band])


def is_hidden(score: Score, min_group: int) -> bool:
    """True when a score may show no figures: suppressed, or (defensively) below the threshold."""
    return score.suppressed or 0 < score.n < min_group
