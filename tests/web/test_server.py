"""The server around the forms: cookie, CSRF, rate limit, headers, errors, logs, site, health."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from questionnaires.schema import Language
from tests.web.conftest import Client, serve
from web.app import WebServices, create_app
from web.pages import Page, PickerView, ServiceChoice
from web.security import BROWSER_COOKIE, Signer

UA = "Mozilla/5.0 (Secret Phone 12; rv:99) Firefox/99"


class Outage(Exception):
    pass


class FakeForms:
    """Records calls; `fail` raises from every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.fail: BaseException | None = None

    def _page(self, name: str, person: int = 0) -> Page:
        self.calls.append((name, person))
        if self.fail is not None:
            raise self.fail
        return Page(picker=PickerView((ServiceChoice("licensing", "Лицензирование"),)))

    async def picker(
        self, language: Language, *, notice: str | None = None, status: int = 200
    ) -> Page:
        return self._page("picker")

    async def start_link(self, person: int, payload: str, language: Language) -> Page:
        return self._page("link", person)

    async def start_service(self, person: int, service: str, language: Language) -> Page:
        return self._page("service", person)

    async def start_window(self, person: int, window: str, language: Language) -> Page:
        return self._page("window", person)

    async def current(self, person: int, language: Language) -> Page:
        return self._page("current", person)

    async def submit(
        self,
        person: int,
        language: Language,
        *,
        state: str,
        action: str,
        choices: Sequence[str],
        typed: str,
    ) -> Page:
        return self._page("submit", person)


class Ready:
    def __init__(self) -> None:
        self.down = False

    async def __call__(self) -> None:
        if self.down:
            raise OSError("connection refused")


@pytest.fixture
def forms() -> FakeForms:
    return FakeForms()


@pytest.fixture
def ready() -> Ready:
    return Ready()


@pytest.fixture
async def client(forms: FakeForms, ready: Ready, tmp_path: Path) -> AsyncIterator[Client]:
    site = tmp_path / "site"
    (site / "ru").mkdir(parents=True)
    (site / "index.html").write_text("<p>root</p>", encoding="utf-8")
    (site / "ru" / "index.html").write_text("<p>итоги</p>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    services = WebServices(
        forms=forms, signer=Signer(b"k" * 32), ready=ready, site_dir=site, rate_per_minute=30
    )
    async with serve(create_app(services)) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_the_first_page_sets_a_random_http_only_cookie(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    cookie = response.cookies[BROWSER_COOKIE]
    assert len(cookie.value) == 43
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    again = await client.get("/")
    assert BROWSER_COOKIE not in again.cookies  # kept, not replaced


async def test_pages_carry_security_headers_and_are_not_cached(client: Client) -> None:
    response = await client.get("/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_post_without_the_csrf_token_is_refused(client: Client, forms: FakeForms) -> None:
    await client.get("/")
    response = await client.post("/form", data={"action": "answer", "choice": "5"})
    assert response.status == 403
    assert "не с этого сайта" in await response.text()
    assert not [call for call in forms.calls if call[0] == "submit"]


async def test_a_csrf_token_of_another_browser_is_refused(
    client: Client, forms: FakeForms
) -> None:
    token = csrf_of(await (await client.get("/")).text())
    client.session.cookie_jar.clear()
    await client.get("/")  # a new browser
    response = await client.post("/form", data={"csrf": token, "action": "answer"})
    assert response.status == 403
    assert not [call for call in forms.calls if call[0] == "submit"]


async def test_a_post_with_the_token_reaches_the_forms_as_a_keyed_person(
    client: Client, forms: FakeForms
) -> None:
    token = csrf_of(await (await client.get("/")).text())
    response = await client.post("/form", data={"csrf": token, "action": "answer"})
    assert response.status == 200
    (_name, person), *_ = [call for call in forms.calls if call[0] == "submit"]
    assert person < 0
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[BROWSER_COOKIE]
    assert cookie.value not in str(person)


async def test_a_post_without_cookies_explains_they_are_needed(
    client: Client, forms: FakeForms
) -> None:
    token = csrf_of(await (await client.get("/")).text())
    client.session.cookie_jar.clear()
    response = await client.post("/form", data={"csrf": token, "action": "answer"})
    assert response.status == 400
    assert "cookie" in await response.text()


async def test_too_many_requests_from_one_address_get_429_with_retry_after(
    client: Client,
) -> None:
    statuses = [(await client.get("/")).status for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    last = await client.get("/")
    assert int(last.headers["Retry-After"]) >= 1
    assert "Подождите" in await last.text()
    # Health checks of the operator's probes are never limited.
    assert (await client.get("/healthz")).status == 200


async def test_the_access_log_names_no_address_and_no_user_agent(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get(
        "/r/licensing_site", headers={"User-Agent": UA, "Referer": "https://x.example/"}
    )
    await client.get("/", headers={"User-Agent": UA, "X-Forwarded-For": "203.0.113.7"})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /r/{payload} 200" in text  # the access log did write, the template only
    for secret in ("127.0.0.1", "203.0.113.7", "Secret Phone", "x.example", "licensing"):
        assert secret not in text


async def test_the_access_log_writes_no_line_per_request_at_info(
    client: Client, forms: FakeForms, caplog: pytest.LogCaptureFixture
) -> None:
    """A line per dialog step with its time (and the number of POSTs, the branch taken) told
    who answered what and when: ordinary requests log at DEBUG only, with the route template;
    a server error at WARNING, with the template too."""
    caplog.set_level(logging.INFO, logger="web.access")
    await client.get("/r/licensing_site_moving")
    await client.get("/w/17")
    await client.get("/form")
    await client.post("/form", data={"choice": "x"})
    assert [r for r in caplog.records if r.name == "web.access"] == []
    forms.fail = RuntimeError("boom in code")
    assert (await client.get("/r/licensing_site_moving")).status == 500
    [error] = [r for r in caplog.records if r.name == "web.access"]
    assert error.levelno == logging.WARNING
    assert error.getMessage().startswith("GET /r/{payload} 500 ")
    assert "licensing" not in error.getMessage()


async def test_a_storage_outage_is_a_503_page_saying_to_try_again(
    client: Client, forms: FakeForms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.app.is_storage_outage", lambda error: isinstance(error, Outage))
    forms.fail = Outage()
    response = await client.get("/form")
    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    assert "не потерян" in await response.text()


async def test_a_bug_is_a_500_page_without_traceback(
    client: Client, forms: FakeForms, caplog: pytest.LogCaptureFixture
) -> None:
    forms.fail = RuntimeError("boom in code")
    response = await client.get("/form")
    assert response.status == 500
    body = await response.text()
    assert "boom" not in body and "Traceback" not in body
    assert "Что-то пошло не так" in body


async def test_english_from_the_query_or_the_browser_preference(client: Client) -> None:
    assert 'lang="en"' in await (await client.get("/?lang=en")).text()
    english = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in await english.text()
    assert 'lang="ru"' in await (await client.get("/")).text()


async def test_an_unknown_address_is_a_404_page(client: Client) -> None:
    response = await client.get("/nothing/here")
    assert response.status == 404
    assert "не найдена" in await response.text()


async def test_healthz_and_readyz_report_the_database(client: Client, ready: Ready) -> None:
    assert (await client.get("/healthz")).status == 200
    assert await (await client.get("/readyz")).json() == {"status": "ok", "database": "ok"}
    ready.down = True
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["database"] == "down"
    assert (await client.get("/healthz")).status == 200  # alive, only not ready


async def test_the_published_site_is_served_folder_index_included(client: Client) -> None:
    assert (await client.get("/site", allow_redirects=False)).status == 301
    root = await client.get("/site/")
    assert root.status == 200 and "root" in await root.text()
    russian = await client.get("/site/ru/")
    assert "итоги" in await russian.text()
    assert (await client.get("/site/ru/index.html")).status == 200


@pytest.mark.parametrize(
    "path", ["/site/../secret.txt", "/site/%2e%2e/secret.txt", "/site/ru/../../secret.txt"]
)
async def test_the_site_never_serves_a_file_outside_its_folder(client: Client, path: str) -> None:
    response = await client.get(path)
    assert "outside" not in await response.text()
    assert response.status == 404
