"""Poll windows and staff: /start w<id>, /polls, /join, /feedback, /results, officer controls."""

from __future__ import annotations

import logging
import re
from html import escape
from typing import Annotated, Final, Literal

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    User,
)
from pydantic import Field

from handlers.dialog import begin_dialog, refusal_text
from handlers.ops import set_staff_menu
from handlers.texts import campaign_error_text, language_of
from questionnaires.campaigns import (
    CampaignAudience,
    CampaignError,
    EnrollStatus,
    UnknownWindowError,
)
from questionnaires.i18n import N_, tr
from questionnaires.opt_ins import OptInTopic
from questionnaires.schema import Language
from reports.site import results_text
from reports.telegram import split_message
from services.dialog import DialogService, Initiative, Window
from services.enrolment import MAX_CODES_PER_CALL
from services.feedback import FeedbackService
from services.officer_commands import visible_results
from services.publication import PublicationService
from services.windows import WindowService, WindowView, parse_window_payload

logger = logging.getLogger(__name__)

_ENROLL: Final[dict[EnrollStatus, str]] = {
    EnrollStatus.OK: N_("polls.enroll.ok"),
    EnrollStatus.UNKNOWN: N_("polls.enroll.unknown"),
    EnrollStatus.USED: N_("polls.enroll.used"),
    EnrollStatus.ALREADY_ENROLLED: N_("polls.enroll.already_enrolled"),
}


#: Window ids are database integers; anything longer is forged (and overflows SQLite).
MAX_WINDOW_ID: Final = 2**31 - 1


class PollPress(CallbackData, prefix="w"):
    """Start a window's dialog, or subscribe to invitations (window 0)."""

    window: Annotated[int, Field(ge=0, le=MAX_WINDOW_ID)]
    topic: Annotated[str, Field(max_length=32)] = ""


class PollAdmin(CallbackData, prefix="wa"):
    action: Literal["open", "close"]
    target: Annotated[str, Field(min_length=1, max_length=64)]  # campaign id or window id


class InvitePress(CallbackData, prefix="inv"):
    """Issue invite codes for a catalog department."""

    department: str  # a catalog code: at most 20 characters
    count: int = 1


async def is_body_officer(event: TelegramObject, campaigns: WindowService) -> bool:
    """Body-wide officers (BOT__OFFICER_IDS) only: a service's own officer sees that service's
    reports, but does not open or close polls or let people into the staff."""
    user: User | None = getattr(event, "from_user", None)
    return user is not None and campaigns.is_body_officer(user.id)


async def start_window(
    message: Message, state: FSMContext, dialogs: DialogService, window_id: int, user: User
) -> None:
    """Open a window's dialog if the person may answer in it now."""
    refused = await begin_dialog(message, state, dialogs, user, Window(window_id))
    if refused is not None:
        await message.answer(refusal_text(language_of(user), refused))


def _window_button(window: WindowView, language: Language) -> InlineKeyboardButton:
    until = tr(language, "polls.open_until", day=f"{window.closes_on:%d.%m}")
    return InlineKeyboardButton(
        text=f"{window.title.get(language)} ({until})",
        callback_data=PollPress(window=window.id).pack(),
    )


def setup() -> Router:
    router = Router(name="polls")

    async def window_link(message: Message, command: CommandObject) -> dict[str, int] | bool:
        # Any other payload is a service link: the citizen router understands it.
        window_id = parse_window_payload(command.args)
        return {"window_id": window_id} if window_id and message.from_user else False

    @router.message(CommandStart(deep_link=True), window_link)
    async def on_window_link(
        message: Message,
        window_id: int,
        state: FSMContext,
        dialogs: DialogService,
    ) -> None:
        assert message.from_user is not None
        await start_window(message, state, dialogs, window_id, message.from_user)

    @router.message(Command("polls"))
    async def on_polls(message: Message, campaigns: WindowService) -> None:
        user = message.from_user
        language = language_of(user)
        windows = await campaigns.open_windows(CampaignAudience.EXTERNAL)
        staff = user is not None and await campaigns.enrolment.is_staff(user.id)
        if staff:
            windows += await campaigns.open_windows(CampaignAudience.STAFF)
        rows = [[_window_button(window, language)] for window in windows]
        topic = "staff_polls" if staff else "polls"
        label = N_("polls.staff_invite_me") if staff else N_("polls.invite_me")
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr(language, label),
                    callback_data=PollPress(window=0, topic=topic).pack(),
                )
            ]
        )
        text = tr(language, "polls.open_polls" if windows else "polls.no_open_polls")
        await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(PollPress.filter())
    async def on_poll_press(
        query: CallbackQuery,
        callback_data: PollPress,
        state: FSMContext,
        feedback: FeedbackService,
        campaigns: WindowService,
        dialogs: DialogService,
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if not isinstance(message, Message):
            await query.answer()
            return
        if callback_data.window == 0:
            if callback_data.topic not in ("polls", "staff_polls"):
                await query.answer()
                return
            topic: OptInTopic = "staff_polls" if callback_data.topic == "staff_polls" else "polls"
            if topic == "staff_polls" and not await campaigns.enrolment.is_staff(
                query.from_user.id
            ):
                # A forged or forwarded button: staff topics are for enrolled staff only.
                await query.answer(tr(language, "polls.staff_only"), show_alert=True)
                return
            await feedback.opt_in(message.chat.id, topic)
            await query.answer()
            await message.answer(tr(language, "polls.invited"))
            return
        await query.answer()
        await start_window(message, state, dialogs, callback_data.window, query.from_user)

    @router.message(Command("join"))
    async def on_join(message: Message, command: CommandObject, campaigns: WindowService) -> None:
        user = message.from_user
        language = language_of(user)
        if user is None or not command.args:
            await message.answer(tr(language, "polls.join_usage"))
            return
        result = await campaigns.enrolment.enroll(command.args, user.id)
        markup = None
        if result.status in (EnrollStatus.OK, EnrollStatus.ALREADY_ENROLLED):
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=tr(language, "polls.staff_invite_me"),
                            callback_data=PollPress(window=0, topic="staff_polls").pack(),
                        )
                    ]
                ]
            )
        department = campaigns.enrolment.department_title(result.department, language)
        text = tr(language, _ENROLL[result.status], department=department)
        await message.answer(escape(text), reply_markup=markup)
        if result.status == EnrollStatus.OK and message.bot is not None:
            await set_staff_menu(message.bot, message.chat.id)  # /feedback in their menu

    @router.message(Command("feedback"))
    async def on_feedback(message: Message, state: FSMContext, dialogs: DialogService) -> None:
        user = message.from_user
        if user is None:
            return
        if await begin_dialog(message, state, dialogs, user, Initiative()) is not None:
            # Only enrolled staff give initiative feedback; nothing was started.
            await message.answer(tr(language_of(user), "polls.feedback_staff_only"))

    @router.message(Command("results"))
    async def on_results(
        message: Message,
        campaigns: WindowService,
        publication: PublicationService | None = None,
    ) -> None:
        user = message.from_user
        language = language_of(user)
        if publication is not None:
            # What the public site shows, by service and life situation (services.publication).
            content = await publication.content()
            for part in split_message(results_text(content, language, publication.url)):
                await message.answer(part, disable_web_page_preview=True)
        if user is not None:
            publications = await visible_results(campaigns, user.id)
        else:
            publications = await campaigns.published(CampaignAudience.EXTERNAL)
        if not publications:
            if publication is None:
                await message.answer(tr(language, "polls.no_results"))
            return
        for published in publications[:3]:
            await message.answer(published.text_html)

    return router


def setup_officer() -> Router:
    """Officer controls of poll windows: open now (also an extra quarterly poll), close now,
    and one-time invite codes for staff."""
    router = Router(name="polls_officer")
    router.message.filter(is_body_officer)
    router.callback_query.filter(is_body_officer)

    @router.message(Command("poll_open"))
    async def on_open(message: Message, campaigns: WindowService) -> None:
        language = language_of(message.from_user)
        rows = [
            [
                InlineKeyboardButton(
                    text=campaign.title.get(language) if campaign.title else campaign.id,
                    callback_data=PollAdmin(action="open", target=campaign.id).pack(),
                )
            ]
            for campaign in campaigns.campaigns
        ]
        await message.answer(
            tr(language, "polls.admin.open_prompt"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    @router.message(Command("poll_close"))
    async def on_close(message: Message, campaigns: WindowService) -> None:
        language = language_of(message.from_user)
        windows = await campaigns.open_windows(CampaignAudience.EXTERNAL)
        windows += await campaigns.open_windows(CampaignAudience.STAFF)
        if not windows:
            await message.answer(tr(language, "polls.admin.none_open"))
            return
        rows = [
            [
                InlineKeyboardButton(
                    text=f"{w.title.get(language)} ({w.opens_on:%d.%m}–{w.closes_on:%d.%m})",
                    callback_data=PollAdmin(action="close", target=str(w.id)).pack(),
                )
            ]
            for w in windows
        ]
        await message.answer(
            tr(language, "polls.admin.close_prompt"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    @router.callback_query(PollAdmin.filter())
    async def on_admin(
        query: CallbackQuery, callback_data: PollAdmin, campaigns: WindowService
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        try:
            if callback_data.action == "open":
                window = await campaigns.open_now(callback_data.target)
                # A link the officer can tap and forward (issue 10, item 8), else the command.
                url = campaigns.start_url(window.id)
                link = (
                    escape(url)
                    if url is not None
                    else f"<code>/start {escape(window.start_payload)}</code>"
                )
                text = tr(
                    language,
                    "polls.admin.opened",
                    title=escape(window.title.get(language)),
                    day=f"{window.closes_on:%d.%m.%Y}",
                    link=link,
                )
            else:
                window_id = int(callback_data.target)
                if not 0 < window_id <= MAX_WINDOW_ID:
                    raise UnknownWindowError(callback_data.target)
                window = await campaigns.close_now(window_id)
                text = tr(language, "polls.admin.closed", title=escape(window.title.get(language)))
        except (CampaignError, ValueError) as error:
            text = campaign_error_text(language, error)
            await query.answer(text, show_alert=True)
            return
        await query.answer()
        if isinstance(message, Message):
            await message.edit_text(text)

    @router.message(Command("invite"))
    async def on_invite(
        message: Message, command: CommandObject, campaigns: WindowService
    ) -> None:
        # Departments come from the catalog: typed free text could make a department of one
        # ("Отдeл кадров" with a Latin e reads like the real one).
        language = language_of(message.from_user)
        args = (command.args or "").split()
        count = 1
        if args and re.fullmatch(r"[0-9]{1,6}", args[-1]):
            count = int(args.pop())
        if not 0 < count <= MAX_CODES_PER_CALL:
            await message.answer(tr(language, "polls.invite.count", limit=MAX_CODES_PER_CALL))
            return
        if not campaigns.enrolment.departments:
            await message.answer(tr(language, "polls.invite.no_departments"))
            return
        typed = " ".join(args)
        department = campaigns.enrolment.find_department(typed) if typed else None
        if department is not None:
            for part in await _issue(campaigns, department.code, count, language):
                await message.answer(part)
            return
        intro = tr(language, "polls.invite.choose", count=count)
        if typed:
            intro = tr(language, "polls.invite.unknown", typed=escape(typed))
            imitated = campaigns.enrolment.look_alike(typed)
            if imitated is not None:
                title = escape(imitated.title.get(language))
                intro += tr(language, "polls.invite.look_alike", title=title)
            intro += tr(language, "polls.invite.choose_listed")
        rows = [
            [
                InlineKeyboardButton(
                    text=department.title.get(language),
                    callback_data=InvitePress(department=department.code, count=count).pack(),
                )
            ]
            for department in campaigns.enrolment.departments
        ]
        await message.answer(intro, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(InvitePress.filter())
    async def on_invite_press(
        query: CallbackQuery, callback_data: InvitePress, campaigns: WindowService
    ) -> None:
        language = language_of(query.from_user)
        message = query.message
        if not 0 < callback_data.count <= MAX_CODES_PER_CALL:
            await query.answer(tr(language, "polls.invite.stale"), show_alert=True)
            return
        try:
            first, *rest = await _issue(
                campaigns, callback_data.department, callback_data.count, language
            )
        except ValueError:
            await query.answer(tr(language, "polls.invite.gone"), show_alert=True)
            return
        await query.answer()
        if isinstance(message, Message):
            await message.edit_text(first)
            for part in rest:
                await message.answer(part)

    return router


async def _issue(
    campaigns: WindowService, department: str, count: int, language: Language
) -> list[str]:
    """The codes as messages: a thousand codes do not fit one Telegram message."""
    codes = await campaigns.enrolment.create_invite_codes(department, count)
    listing = "\n".join(f"<code>{code}</code>" for code in codes)
    title = escape(campaigns.enrolment.department_title(department, language))
    return split_message(
        tr(language, "polls.invite.codes", title=title, n=len(codes), listing=listing)
    )
