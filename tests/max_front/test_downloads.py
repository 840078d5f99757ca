"""Files people send in MAX (review of issue 13): fetched over https only (plain http to this
machine alone, for the emulator), no redirect followed, one fetch per message for both the pain
map sheet and the appeals register checks, and a file sent while an officer types a measure is
imported, the measure waiting."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.max import max_measure_drafts
from max_front.api import MaxApiError, OnceDownloaded
from max_front.client import MaxapiClient, downloadable, public_address
from max_front.front import MaxFront
from max_front.painmap import MaxPainMap
from questionnaires.i18n import tr
from questionnaires.schema import Language
from services.painmap import PainMapService
from storage.painmap import PainMapStore
from tests.appeals.generate import FIXTURES
from tests.dialog.conftest import Desk
from tests.max_front.conftest import RecordingApi
from tests.max_front.test_officer_commands import OFFICER, chat, officers_front, register_file
from tests.web.conftest import serve


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.max.ru/a/register.xlsx", True),
        ("http://files.max.ru/a/register.xlsx", False),  # plain http elsewhere: refused
        ("http://127.0.0.1:8080/files/register.csv", True),  # the emulator
        ("http://[::1]:8080/files/register.csv", True),
        ("http://localhost:8080/files/register.csv", True),
        ("http://10.0.0.7/admin", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("ftp://files.max.ru/register.csv", False),
        ("file:///etc/passwd", False),
        ("https:///no-host", False),
        ("https://[broken/x", False),
    ],
)
def test_only_https_or_loopback_http_is_downloadable(url: str, allowed: bool) -> None:
    assert downloadable(url) is allowed


async def test_a_plain_http_file_url_is_refused_without_a_request() -> None:
    client = MaxapiClient("t", "http://127.0.0.1:9")
    try:
        with pytest.raises(MaxApiError) as refused:
            await client.download("http://files.example/register.csv", 100)
    finally:
        await client.close()
    assert refused.value.code == 400 and refused.value.never_sent


async def test_a_redirect_is_not_followed() -> None:
    hits: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        hits.append("moved")
        raise web.HTTPFound("/inside")

    async def inside(request: web.Request) -> web.Response:
        hits.append("inside")
        return web.Response(body=b"secret")

    app = web.Application()
    app.router.add_get("/moved", moved)
    app.router.add_get("/inside", inside)
    client = MaxapiClient("t", "http://127.0.0.1:9")
    try:
        async with serve(app) as http:
            with pytest.raises(MaxApiError) as refused:
                await client.download(str(http.make_url("/moved")), 100)
    finally:
        await client.close()
    assert refused.value.code == 302
    assert hits == ["moved"]


class Names(AbstractResolver):
    """A DNS stand-in: each name's answers in turn (the last one again), counting questions."""

    def __init__(self, **answers: list[list[str]]) -> None:
        self.answers = {name.replace("_", "."): list(turns) for name, turns in answers.items()}
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        turns = self.answers[host]
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/register.csv",
        "https://localhost/register.csv",  # a name: what it resolves to counts
        "https://10.0.0.7/admin",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",  # shared address space (carrier NAT)
        "https://169.254.169.254/latest/meta-data",  # a cloud's metadata
        "https://[::1]/x",
        "https://[fe80::1]/x",
        "https://[fd00::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://[2002:a00:1::1]/x",  # 6to4 carrying 10.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/x",  # Teredo carrying 10.0.0.1
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
    ],
)
async def test_an_https_file_url_to_an_internal_address_is_refused_without_a_request(
    url: str,
) -> None:
    # Review: https was allowed to any host, so a URL in an update could make the bot fetch
    # from this machine or its network (the files come from MAX's storage, on the internet).
    client = MaxapiClient("t", "http://127.0.0.1:9")
    try:
        with pytest.raises(MaxApiError) as refused:
            await client.download(url, 100)
    finally:
        await client.close()
    assert refused.value.code == 400 and refused.value.never_sent


@pytest.mark.parametrize(
    "addresses", [["10.0.0.5"], ["93.184.216.34", "127.0.0.1"], ["fd12::5"], []]
)
async def test_a_file_host_whose_name_resolves_inside_is_refused(addresses: list[str]) -> None:
    names = Names(files_example=[addresses])
    client = MaxapiClient("t", "http://127.0.0.1:9", resolver=names)
    try:
        with pytest.raises(MaxApiError) as refused:
            await client.download("https://files.example/register.csv", 100)
    finally:
        await client.close()
    assert refused.value.code == 400 and refused.value.never_sent
    assert names.asked == ["files.example"]


async def test_the_file_is_fetched_from_the_address_checked_not_a_second_answer() -> None:
    # A name that answers the check with an allowed address and the connection with another
    # (DNS rebinding) is fetched from the address checked: the name is asked once.
    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"register")

    app = web.Application()
    app.router.add_get("/files/register.csv", file)
    async with serve(app) as http:
        port = http.make_url("/").port
        names = Names(localhost=[["127.0.0.1"], ["10.0.0.5"]])
        client = MaxapiClient("t", "http://127.0.0.1:9", resolver=names)
        try:
            got = await client.download(f"http://localhost:{port}/files/register.csv", 100)
        finally:
            await client.close()
    assert names.asked == ["localhost"]
    assert got == b"register"


async def test_once_downloaded_fetches_once_and_keeps_each_check_s_limit() -> None:
    fetched: list[tuple[str, int]] = []

    async def fetch(url: str, limit: int) -> bytes:
        fetched.append((url, limit))
        if url == "gone":
            raise MaxApiError(404, "not.found")
        return b"x" * 15

    file = OnceDownloaded(fetch, 20)
    with pytest.raises(MaxApiError) as big:
        await file.download("u", 10)  # a smaller check: too big for it
    assert big.value.code == 413
    assert await file.download("u", 20) == b"x" * 15  # the larger one gets it, not fetched again
    for _ in range(2):
        with pytest.raises(MaxApiError) as gone:
            await file.download("gone", 20)
        assert gone.value.code == 404
    assert fetched == [("u", 20), ("gone", 20)]


@dataclass
class CountingApi(RecordingApi):
    fetched: list[str] = field(default_factory=list)

    async def download(self, url: str, limit: int) -> bytes:
        self.fetched.append(url)
        return await super().download(url, limit)


def with_pain_map(desk: Desk, api: CountingApi) -> tuple[MaxFront, MemoryStorage]:
    """The officers' front of the register tests with the pain map beside it, as bot.max."""
    front = officers_front(desk, api, appeals=True)
    assert front.reporting is not None
    storage = MemoryStorage()
    service = PainMapService(
        store=PainMapStore(desk.sessions),
        reporting=front.reporting,
        zone=ZoneInfo("Asia/Yakutsk"),
        clock=lambda: desk.clock_now[0],
    )
    front.pains = MaxPainMap(
        api=api,
        painmap=service,
        person=front.person,
        drafts=max_measure_drafts(storage),
        dialogs=front.state_for,
    )
    return front, storage


async def test_a_body_officer_s_xlsx_register_is_fetched_once_for_both_checks(
    desk: Desk,
) -> None:
    # Review: the pain map check fetched it (not a pain map sheet), then the register import
    # fetched the same file again.
    api = CountingApi()
    url = "https://files.max.test/register"
    api.downloads[url] = (FIXTURES / "register.xlsx").read_bytes()
    front, _ = with_pain_map(desk, api)
    await front.handle(chat(OFFICER).text("", attachments=register_file(url, "register.xlsx")))
    reply = api.timeline[-1]
    assert "register.xlsx" in reply.text and "добавлено" in reply.text
    assert len(await desk.rows("appeals")) > 0
    assert api.fetched == [url]


async def test_a_file_sent_while_a_measure_is_typed_is_imported_and_the_measure_waits(
    desk: Desk,
) -> None:
    # Review: the file got "send the text" and was never imported.
    api = CountingApi()
    url = "https://files.max.test/register"
    api.downloads[url] = (FIXTURES / "register.xlsx").read_bytes()
    front, storage = with_pain_map(desk, api)
    draft = max_measure_drafts(storage)(front.person(OFFICER))
    await draft.save({"pain": "p1", "step": "text"})
    await front.handle(chat(OFFICER).text("", attachments=register_file(url, "register.xlsx")))
    assert "добавлено" in api.timeline[-1].text
    assert len(await desk.rows("appeals")) > 0
    assert await draft.load() == {"pain": "p1", "step": "text"}
    # A sticker or photo still gets the measure's "send text", and the text goes on.
    photo = [{"type": "image", "payload": {"url": "https://files.max.test/p"}}]
    await front.handle(chat(OFFICER).text("", attachments=photo))
    assert api.timeline[-1].text == tr(Language.RU, "painmap.not_text")
    await front.handle(chat(OFFICER).text("Электронная очередь"))
    assert api.timeline[-1].text == tr(Language.RU, "painmap.ask_responsible")


def test_an_address_that_carries_a_public_ipv4_address_is_public() -> None:
    # 6to4 of 93.184.216.34: refusing the tunnel forms only where they carry an inside address.
    assert public_address("2002:5db8:d822::1")
    assert not public_address("2002:a00:1::1")
