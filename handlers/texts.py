"""Bot phrases in Russian (default) and English, chosen by the user's Telegram language."""

from __future__ import annotations

from typing import Final

from aiogram.types import User

from questionnaires.campaigns import (
    CampaignError,
    UnknownCampaignError,
    UnknownWindowError,
    Verdict,
    WindowConflictError,
)
from questionnaires.engine import Reason
from questionnaires.schema import Language

_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "welcome": {
        Language.RU: "Здравствуйте! Здесь можно оценить качество услуги. Ответы анонимны: "
        "мы не сохраняем, кто отвечал.\n\nВыберите услугу, которую вы получили:",
        Language.EN: "Hello! Here you can rate the quality of a service. Answers are anonymous: "
        "we do not store who answered.\n\nChoose the service you received:",
    },
    "unknown_link": {
        Language.RU: "Ссылка не распознана: возможно, она устарела. Выберите услугу из списка:",
        Language.EN: "This link is not recognised; it may be outdated. Choose the service:",
    },
    "pick_page": {
        Language.RU: "Страница {page} из {pages}",
        Language.EN: "Page {page} of {pages}",
    },
    "already_rated": {
        Language.RU: "Вы уже оценили эту услугу сегодня. Спасибо! "
        "Повторно оценить её можно завтра.",
        Language.EN: "You have already rated this service today. Thank you! You can rate it "
        "again tomorrow.",
    },
    "progress": {
        Language.RU: "Вопрос {number} из {total}",
        Language.EN: "Question {number} of {total}",
    },
    "back": {Language.RU: "← Назад", Language.EN: "← Back"},
    "skip": {Language.RU: "Пропустить →", Language.EN: "Skip →"},
    "done": {Language.RU: "Готово ✓", Language.EN: "Done ✓"},
    "cannot_rate": {Language.RU: "Затрудняюсь ответить", Language.EN: "Cannot rate"},
    "choose_several": {
        Language.RU: "Можно выбрать несколько вариантов, затем нажмите «Готово».",
        Language.EN: "You can choose several options, then press “Done”.",
    },
    "choose_up_to": {
        Language.RU: "Можно выбрать до {limit} вариантов, затем нажмите «Готово».",
        Language.EN: "Choose up to {limit} options, then press “Done”.",
    },
    "type_text": {
        Language.RU: "Напишите ответ сообщением (до {limit} символов).",
        Language.EN: "Type your answer as a message (up to {limit} characters).",
    },
    "type_other": {
        Language.RU: "Вы выбрали «{option}». Уточните, пожалуйста, одним сообщением "
        "(до {limit} символов) или нажмите «Пропустить».",
        Language.EN: "You chose “{option}”. Please specify in one message (up to {limit} "
        "characters) or press “Skip”.",
    },
    "scale_ends": {
        Language.RU: "{min} — {min_label}, {max} — {max_label}",
        Language.EN: "{min} — {min_label}, {max} — {max_label}",
    },
    "answered_mark": {Language.RU: "Ответ принят ✓", Language.EN: "Answer received ✓"},
    "thanks_optin": {
        Language.RU: "Хотите узнать, что изменится по итогам опроса? Мы пришлём короткое "
        "сообщение; ваш ответ при этом останется анонимным.",
        Language.EN: "Would you like to hear what changes as a result? We will send a short "
        "message; your answer stays anonymous.",
    },
    "optin_yes": {Language.RU: "Да, сообщите мне", Language.EN: "Yes, let me know"},
    "optin_no": {Language.RU: "Нет, спасибо", Language.EN: "No, thanks"},
    "optin_saved": {
        Language.RU: "Хорошо, мы сообщим об изменениях. Отписаться: /stop",
        Language.EN: "Fine, we will tell you what changes. To unsubscribe: /stop",
    },
    "optin_declined": {Language.RU: "Хорошо. Спасибо за отзыв!", Language.EN: "Fine. Thank you!"},
    "stopped": {
        Language.RU: "Вы отписались от сообщений. Оценить услугу можно в любой момент: /start",
        Language.EN: "You are unsubscribed. You can rate a service at any time: /start",
    },
    "stale_button": {
        Language.RU: "Эта кнопка относится к завершённому или старому опросу.",
        Language.EN: "This button belongs to a finished or older poll.",
    },
    "already_counted": {Language.RU: "Ответ уже учтён", Language.EN: "Already counted"},
    "button_inactive": {
        Language.RU: "Эта кнопка больше не активна",
        Language.EN: "This button is no longer active",
    },
    "questionnaire_changed": {
        Language.RU: "Анкета обновилась, пока вы отвечали. Пожалуйста, начните заново: /start",
        Language.EN: "The questionnaire was updated while you were answering. "
        "Please start again: /start",
    },
    "no_dialog": {
        Language.RU: "Сейчас опрос не идёт. Чтобы оценить услугу, нажмите /start",
        Language.EN: "No poll is in progress. To rate a service, press /start",
    },
    "unsupported_content": {
        Language.RU: "Я понимаю только текст и нажатия кнопок. Стикеры, фото, голосовые и "
        "файлы не сохраняются.",
        Language.EN: "I understand only text and button presses. Stickers, photos, voice "
        "messages and files are not stored.",
    },
    "unknown_command": {
        Language.RU: "Такой команды нет. Список команд: /help",
        Language.EN: "There is no such command. Commands: /help",
    },
    "cancelled": {
        Language.RU: "Опрос прерван, ответы не сохранены. Начать заново: /start",
        Language.EN: "The poll is cancelled and nothing was stored. Start again: /start",
    },
    "nothing_to_cancel": {
        Language.RU: "Отменять нечего. Оценить услугу: /start",
        Language.EN: "Nothing to cancel. Rate a service: /start",
    },
    "help": {
        Language.RU: "Otklik собирает анонимные отзывы о качестве государственных услуг.\n\n"
        "/start — оценить услугу\n/cancel — прервать опрос\n/stop — отписаться от сообщений\n"
        "/help — эта справка\n\nМы не сохраняем, кто отвечал: ответы хранятся без имени, "
        "username и идентификатора Telegram. Результаты и принятые меры публикуются.",
        Language.EN: "Otklik collects anonymous feedback on the quality of public services.\n\n"
        "/start — rate a service\n/cancel — stop the poll\n/stop — unsubscribe\n"
        "/help — this help\n\nWe do not store who answered: answers are kept without your name, "
        "username or Telegram id. Results and the measures taken are published.",
    },
    "try_later": {
        Language.RU: "Сервис временно недоступен. Ваши ответы сохранены — попробуйте нажать "
        "кнопку ещё раз через несколько минут.",
        Language.EN: "The service is temporarily unavailable. Your answers are kept — please "
        "try the button again in a few minutes.",
    },
    "unexpected_error": {
        Language.RU: "Что-то пошло не так. Мы уже разбираемся; попробуйте ещё раз или /start",
        Language.EN: "Something went wrong. Please try again or press /start",
    },
    "no_services": {
        Language.RU: "Список услуг пока пуст. Обратитесь в орган власти.",
        Language.EN: "The list of services is empty for now.",
    },
    "service_chosen": {Language.RU: "Услуга: {service}", Language.EN: "Service: {service}"},
}

_REASONS: Final[dict[Reason, dict[Language, str]]] = {
    Reason.EXPECTS_CHOICE: {
        Language.RU: "Пожалуйста, выберите ответ кнопкой под вопросом.",
        Language.EN: "Please choose an answer with the buttons under the question.",
    },
    Reason.EXPECTS_TEXT: {
        Language.RU: "Здесь нужен ответ текстом: напишите его сообщением.",
        Language.EN: "This question needs a text answer: type it as a message.",
    },
    Reason.UNKNOWN_OPTION: {
        Language.RU: "Такого варианта нет, выберите из предложенных.",
        Language.EN: "There is no such option; choose one of those shown.",
    },
    Reason.OUT_OF_RANGE: {
        Language.RU: "Такой оценки нет на шкале, выберите кнопку.",
        Language.EN: "That score is not on the scale; use a button.",
    },
    Reason.CANNOT_RATE_NOT_OFFERED: {
        Language.RU: "Здесь нужно выбрать оценку.",
        Language.EN: "Please choose a score here.",
    },
    Reason.EMPTY_TEXT: {
        Language.RU: "Сообщение пустое. Напишите ответ текстом.",
        Language.EN: "The message is empty. Please type your answer.",
    },
    Reason.INVISIBLE_TEXT: {
        Language.RU: "В сообщении нет видимых символов. Напишите ответ словами, пожалуйста.",
        Language.EN: "The message has no visible characters. Please type your answer in words.",
    },
    Reason.TOO_LONG: {
        Language.RU: "Слишком длинный ответ: не больше {limit} символов. Сократите, пожалуйста.",
        Language.EN: "The answer is too long: at most {limit} characters. Please shorten it.",
    },
    Reason.TOO_MANY_CHOICES: {
        Language.RU: "Можно выбрать не больше {limit} вариантов.",
        Language.EN: "You can choose at most {limit} options.",
    },
    Reason.NOTHING_SELECTED: {
        Language.RU: "Выберите хотя бы один вариант.",
        Language.EN: "Choose at least one option.",
    },
    Reason.REQUIRED: {
        Language.RU: "Этот вопрос обязательный.",
        Language.EN: "This question is required.",
    },
    Reason.NOTHING_TO_GO_BACK: {
        Language.RU: "Это первый вопрос.",
        Language.EN: "This is the first question.",
    },
}


_VERDICTS: Final[dict[Verdict, dict[Language, str]]] = {
    Verdict.UNKNOWN: {
        Language.RU: "Такого опроса нет. Открытые опросы: /polls",
        Language.EN: "There is no such poll. Open polls: /polls",
    },
    Verdict.NOT_OPEN: {
        Language.RU: "Этот опрос ещё не начался. Мы пришлём приглашение, когда он откроется.",
        Language.EN: "This poll has not started yet. We will invite you when it opens.",
    },
    Verdict.CLOSED: {
        Language.RU: "Этот опрос уже завершён — спасибо, что откликнулись! Итоги: /results",
        Language.EN: "This poll is already closed — thank you for responding! Results: /results",
    },
    Verdict.ALREADY_ANSWERED: {
        Language.RU: "Вы уже ответили в этом опросе. Спасибо! Каждый отвечает один раз.",
        Language.EN: "You have already answered this poll. Thank you! Everyone answers once.",
    },
    Verdict.NOT_ENROLLED: {
        Language.RU: "Этот опрос — для сотрудников. Получите код у ответственного и отправьте "
        "/join КОД.",
        Language.EN: "This poll is for staff. Get a code from the officer and send /join CODE.",
    },
}


_CAMPAIGN_ERRORS: Final[dict[type[CampaignError], dict[Language, str]]] = {
    UnknownCampaignError: {
        Language.RU: "Такого опроса нет в настройках: кнопка устарела. Откройте список заново.",
        Language.EN: "There is no such poll in the settings: the button is outdated.",
    },
    UnknownWindowError: {
        Language.RU: "Такого окна опроса нет: кнопка устарела. Откройте список заново.",
        Language.EN: "There is no such poll window: the button is outdated.",
    },
    WindowConflictError: {
        Language.RU: "Этот опрос сегодня уже проводился и закрыт. Открыть его снова можно завтра.",
        Language.EN: "This poll already ran today and is closed. It can open again tomorrow.",
    },
}
_CAMPAIGN_ERROR_OTHER: Final = {
    Language.RU: "Сейчас это сделать нельзя: окно опроса ещё не открыто или уже изменилось.",
    Language.EN: "This cannot be done now: the poll window is not open yet or has changed.",
}


def campaign_error_text(language: Language, error: Exception) -> str:
    """An officer's failed poll action in words; never the exception's own (English) text."""
    for kind, texts in _CAMPAIGN_ERRORS.items():
        if isinstance(error, kind):
            return texts[language]
    if isinstance(error, CampaignError):
        return _CAMPAIGN_ERROR_OTHER[language]
    return _TEXTS["button_inactive"][language]


def verdict_text(language: Language, verdict: Verdict) -> str:
    return _VERDICTS[verdict][language]


def language_of(user: User | None) -> Language:
    """English for users whose Telegram is in English, Russian otherwise."""
    code = (user.language_code or "") if user else ""
    return Language.EN if code.lower().startswith("en") else Language.RU


def tr(language: Language, key: str, **values: object) -> str:
    text = _TEXTS[key][language]
    return text.format(**values) if values else text


def reason_text(language: Language, reason: Reason, limit: int | None) -> str:
    return _REASONS[reason][language].format(limit=limit)
