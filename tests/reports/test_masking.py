"""Contact details in free texts are masked before any officer sees them (issue 8)."""

from __future__ import annotations

import pytest

from questionnaires.schema import Language
from reports.disclosure import MASK, mask_contacts


@pytest.mark.parametrize(
    "text",
    [
        "позвоните +7 912 345-67-89",
        "мой номер 8 (912) 345 67 89",
        "тел. 89123456789",
        "пишите ivan.petrov+otklik@mail.ru",
        "вот ссылка https://vk.com/id123 и t.me/ivanov",
        "в телеграме @ivan_petrov_1980",
        "меня обслуживал Иванов, я звонил в 9:05",
    ],
)
def test_contact_details_and_times_of_day_are_masked(text: str) -> None:
    masked = mask_contacts(text)
    assert MASK in masked
    for secret in ("912", "345", "mail.ru", "vk.com", "ivanov", "ivan_petrov", "9:05"):
        assert secret not in masked


def test_ordinary_text_and_small_numbers_are_kept() -> None:
    text = "Ждал 40 минут, окно 3, оценка 4.5 из 5 — спасибо!"
    assert mask_contacts(text) == text


def test_an_english_reader_sees_the_mask_in_english() -> None:
    """Issue 12 item 2: the mask is a word of the program, from the catalogue."""
    masked = mask_contacts("call me on +7 912 345-67-89", language=Language.EN)
    assert masked == "call me on [hidden]"
    assert MASK not in masked
    # Russian, the default, keeps the mark the reports always had.
    assert mask_contacts("тел. 89123456789") == f"тел. {MASK}"
