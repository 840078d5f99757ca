"""Every word the web front shows, Russian and English, in one place (to move to gettext)."""

from __future__ import annotations

from typing import Final

from questionnaires.engine import Reason
from questionnaires.schema import Language

TEXTS: Final[dict[str, dict[Language, str]]] = {
    "site_name": {Language.RU: "Отклик", Language.EN: "Otklik"},
    "skip_link": {Language.RU: "К содержанию", Language.EN: "Skip to content"},
    "other_language": {Language.RU: "English", Language.EN: "Русский"},
    "anonymous_note": {
        Language.RU: "Опрос анонимный: мы не спрашиваем имя, не храним адрес и сведения о "
        "браузере рядом с ответами.",
        Language.EN: "The survey is anonymous: we do not ask your name and keep no address or "
        "browser details next to the answers.",
    },
    "survey_title": {Language.RU: "Опрос", Language.EN: "Survey"},
    "picker_title": {Language.RU: "Оценить услугу", Language.EN: "Rate a service"},
    "picker_intro": {
        Language.RU: "Выберите услугу, которую вы получили:",
        Language.EN: "Choose the service you received:",
    },
    "picker_legend": {Language.RU: "Услуга", Language.EN: "Service"},
    "unknown_link": {
        Language.RU: "Эта ссылка устарела или набрана с ошибкой. Выберите услугу из списка:",
        Language.EN: "This link is out of date or mistyped. Choose the service from the list:",
    },
    "internal_service": {
        Language.RU: "Эту услугу оценивают сотрудники ведомства в анонимных опросах "
        "сотрудников. Если вы получали услугу как гражданин или организация, выберите её:",
        Language.EN: "Staff rate this internal service in anonymous staff polls. If you "
        "received a service as a citizen or a company, choose it:",
    },
    "polls_title": {Language.RU: "Открытые опросы", Language.EN: "Open polls"},
    "polls_intro": {
        Language.RU: "Сейчас идут опросы, в которых можно участвовать один раз:",
        Language.EN: "These polls are open now; you may answer each once:",
    },
    "start": {Language.RU: "Начать", Language.EN: "Start"},
    "next": {Language.RU: "Далее", Language.EN: "Next"},
    "back": {Language.RU: "Назад", Language.EN: "Back"},
    "skip": {Language.RU: "Пропустить", Language.EN: "Skip"},
    "cancel": {Language.RU: "Прервать опрос", Language.EN: "Stop the survey"},
    "progress": {
        Language.RU: "Вопрос {number} из {total}",
        Language.EN: "Question {number} of {total}",
    },
    "optional": {Language.RU: "необязательный вопрос", Language.EN: "optional question"},
    "other_prompt": {
        Language.RU: "Уточните ваш вариант «{option}»:",
        Language.EN: "Please specify «{option}»:",
    },
    "error_title": {Language.RU: "Ошибка в ответе", Language.EN: "There is a problem"},
    "thanks_title": {Language.RU: "Спасибо!", Language.EN: "Thank you!"},
    "again": {Language.RU: "Оценить другую услугу", Language.EN: "Rate another service"},
    "already_rated": {
        Language.RU: "Вы уже оценили эту услугу сегодня. Спасибо! Оценить её снова можно завтра.",
        Language.EN: "You have already rated this service today. Thank you! You can rate it "
        "again tomorrow.",
    },
    "already_counted": {
        Language.RU: "Этот ответ уже учтён. Вот текущий вопрос.",
        Language.EN: "That answer was already counted. Here is the current question.",
    },
    "no_dialog": {
        Language.RU: "Опрос завершён или прерван. Ваши сохранённые ответы учтены; можно "
        "начать заново.",
        Language.EN: "This survey is finished or was stopped. Answers you sent are counted; "
        "you can start again.",
    },
    "expired": {
        Language.RU: "Страница устарела (прошло слишком много времени). Начните, пожалуйста, "
        "заново.",
        Language.EN: "This page has expired. Please start again.",
    },
    "forged": {
        Language.RU: "Форма повреждена или отправлена не с этого сайта. Начните, пожалуйста, "
        "заново.",
        Language.EN: "The form was damaged or not sent from this site. Please start again.",
    },
    "cookies_needed": {
        Language.RU: "Чтобы ответ не потерялся, браузер должен принимать файлы cookie этого "
        "сайта (в них нет ничего о вас). Включите их и начните заново.",
        Language.EN: "Your browser must accept this site's cookies (they hold nothing about "
        "you) so that your answers are not lost. Enable them and start again.",
    },
    "cancelled": {
        Language.RU: "Опрос прерван, ответы не сохранены.",
        Language.EN: "The survey was stopped; nothing was saved.",
    },
    "too_many": {
        Language.RU: "Слишком много запросов. Подождите минуту и попробуйте снова.",
        Language.EN: "Too many requests. Please wait a minute and try again.",
    },
    "unavailable": {
        Language.RU: "Сервис временно недоступен. Ваш ответ не потерян: попробуйте отправить "
        "его ещё раз через минуту.",
        Language.EN: "The service is temporarily unavailable. Your answer is not lost: please "
        "send it again in a minute.",
    },
    "not_found": {
        Language.RU: "Страница не найдена.",
        Language.EN: "Page not found.",
    },
    "server_error": {
        Language.RU: "Что-то пошло не так. Попробуйте ещё раз.",
        Language.EN: "Something went wrong. Please try again.",
    },
    "window_closed": {
        Language.RU: "Этот опрос уже закрыт. Спасибо за интерес!",
        Language.EN: "This poll is closed. Thank you for your interest!",
    },
    "window_answered": {
        Language.RU: "Вы уже ответили на этот опрос. Спасибо!",
        Language.EN: "You have already answered this poll. Thank you!",
    },
    "too_large": {
        Language.RU: "Ответ слишком большой и не принят. Вернитесь назад, сократите его и "
        "отправьте снова.",
        Language.EN: "The answer is too large and was not accepted. Go back, shorten it and "
        "send it again.",
    },
    "other_dialog": {
        Language.RU: "Эта страница от опроса, начатого заново (например, в другой вкладке). "
        "Вот текущий вопрос.",
        Language.EN: "That page belongs to a survey you started again (in another tab, say). "
        "Here is the current question.",
    },
    "home": {Language.RU: "На главную", Language.EN: "Home"},
}


REASONS: Final[dict[Reason, dict[Language, str]]] = {
    Reason.EXPECTS_CHOICE: {
        Language.RU: "Выберите один из вариантов ответа.",
        Language.EN: "Choose one of the answers.",
    },
    Reason.EXPECTS_TEXT: {
        Language.RU: "Здесь нужен ответ текстом.",
        Language.EN: "This question needs a text answer.",
    },
    Reason.UNKNOWN_OPTION: {
        Language.RU: "Такого варианта нет, выберите из предложенных.",
        Language.EN: "There is no such option; choose one of those shown.",
    },
    Reason.OUT_OF_RANGE: {
        Language.RU: "Такой оценки нет на шкале, выберите одну из предложенных.",
        Language.EN: "That score is not on the scale; choose one of those shown.",
    },
    Reason.CANNOT_RATE_NOT_OFFERED: {
        Language.RU: "Здесь нужно выбрать оценку.",
        Language.EN: "Please choose a score here.",
    },
    Reason.EMPTY_TEXT: {
        Language.RU: "Ответ пустой. Напишите его, пожалуйста.",
        Language.EN: "The answer is empty. Please type it.",
    },
    Reason.INVISIBLE_TEXT: {
        Language.RU: "В ответе нет видимых символов. Напишите его словами, пожалуйста.",
        Language.EN: "The answer has no visible characters. Please type it in words.",
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
        Language.RU: "Этот вопрос обязательный: выберите или напишите ответ.",
        Language.EN: "This question is required: choose or type an answer.",
    },
    Reason.NOTHING_TO_GO_BACK: {
        Language.RU: "Это первый вопрос.",
        Language.EN: "This is the first question.",
    },
}


def reason_text(language: Language, reason: Reason, limit: int | None) -> str:
    """Why an answer was refused, worded for a form (no buttons, no messages)."""
    wording = REASONS[reason]
    return (wording.get(language) or wording[Language.RU]).format(limit=limit)


def text(language: Language, key: str, **values: object) -> str:
    """The text of `key` in `language` (Russian when no English wording exists)."""
    wording = TEXTS[key]
    chosen = wording.get(language) or wording[Language.RU]
    return chosen.format(**values) if values else chosen
