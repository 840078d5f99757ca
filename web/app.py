"""The web server: routes, middlewares (rate limit, cookie, CSRF, headers, errors), the site.

`create_app` takes services from the composition root (bot/web.py) and knows no storage.
Nothing about the visitor is logged or stored: the access log has no address or user agent,
the rate limit keeps keyed hashes of addresses in memory for a minute, and the only thing the
services see is a keyed hash of a random browser cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from questionnaires.schema import Language
from services.outages import is_storage_outage
from web.pages import FormPort, Page
from web.render import Pages
from web.security import (
    BROWSER_COOKIE,
    RateLimiter,
    Signer,
    csrf_token,
    csrf_valid,
    new_browser_id,
    person_of,
    valid_browser_id,
)
from web.texts import text

logger = logging.getLogger(__name__)

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"
#: A year: the cookie only ever names "the same browser" to the ballot-stuffing guard.
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

LIMITER_KEY: Final = web.AppKey("limiter", RateLimiter)
PAGES_KEY: Final = web.AppKey("pages", Pages)
#: Per request: the browser cookie's value (new or known), whether it came with the request,
#: and the language field of a posted form.
BROWSER: Final = web.RequestKey("browser", str)
BROWSER_KNOWN: Final = web.RequestKey("browser_known", bool)
#: The posted form's `lang` ("" when it has none), once the form is parsed.
FORM_LANG: Final = web.RequestKey("form_lang", str)
#: The request's language, once nothing can change it any more (see language_of).
LANGUAGE: Final = web.RequestKey("language", Language)
#: The CSRF token of the browser, once a posted form carried it (drawn again on its pages).
CSRF: Final = web.RequestKey("csrf", str)
#: Paths never rate limited (health checks, metrics, webhooks) and, among them, the ones that
#: are not browsers (metrics, webhooks): no cookie, no CSRF.
UNLIMITED_KEY: Final = web.AppKey("unlimited", frozenset)
NOT_BROWSERS_KEY: Final = web.AppKey("not_browsers", frozenset)
SECURITY_HEADERS: Final = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
#: The headers of every page drawn from a template (copied into each response).
PAGE_HEADERS: Final = CIMultiDict(
    [
        (hdrs.CONTENT_TYPE, "text/html; charset=utf-8"),
        (hdrs.CACHE_CONTROL, "no-store"),
        *SECURITY_HEADERS,
    ]
)


class NotReady(Exception):
    """Raised by ``WebServices.ready`` for a part other than the database that cannot work
    (readyz names it), e.g. a MAX webhook subscription MAX refused."""

    def __init__(self, part: str, state: str) -> None:
        super().__init__(f"{part}: {state}")
        self.part = part
        self.state = state


@dataclass(frozen=True)
class WebServices:
    """What the web front needs from the composition root."""

    forms: FormPort
    signer: Signer
    #: Raises when the database cannot answer, NotReady when another part cannot (readyz).
    ready: Callable[[], Awaitable[None]]
    site_dir: Path | None = None
    rate_per_minute: int = 120
    secure_cookies: bool = False
    #: Webhook mode (bot/webhook.py): the path Telegram posts updates to and its handler.
    telegram: tuple[str, Handler] | None = None
    #: MAX's webhook mode (bot/max_webhook.py): the path MAX posts updates to and its handler.
    max: tuple[str, Handler] | None = None
    #: Prometheus exposition (body, content type) for `/metrics`; None: not served.
    metrics: Callable[[], tuple[bytes, str]] | None = None


SERVICES_KEY: Final = web.AppKey("services", WebServices)


class QuietAccessLogger(AbstractAccessLogger):
    """The route template, method, status and time: never the concrete path (it carries the
    service, channel, situation or window of a link), the address, user agent or referrer.

    No line per request at INFO (a line per dialog step with its time, the number of POSTs
    betraying the branch taken): ordinary requests at DEBUG, server errors (5xx) at WARNING,
    each naming only the route it matched (``/r/{payload}``), never what filled it.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.WARNING if response.status >= 500 else logging.DEBUG
        if self.logger.isEnabledFor(level):
            self.logger.log(
                level,
                "%s %s %s %.1fms",
                request.method,
                route_template(request),
                response.status,
                time * 1000,
            )


def route_template(request: web.BaseRequest) -> str:
    """The template of the route a request matched (``/r/{payload}``), or ``-`` for none."""
    match_info = getattr(request, "match_info", None)
    resource = None if match_info is None else match_info.route.resource
    return "-" if resource is None else resource.canonical


def runner_options() -> dict[str, Any]:
    """How every runner of the app is made (bot/web.py, tests, bench): the quiet access log."""
    return {
        "access_log_class": QuietAccessLogger,
        "access_log": logging.getLogger("web.access"),
    }


def language_of(request: web.Request) -> Language:
    """`?lang=` or the form's `lang`, else the browser's first preferred language."""
    if LANGUAGE in request:
        return request[LANGUAGE]
    chosen = request.query.get("lang") or request.get(FORM_LANG)
    if chosen in ("ru", "en"):
        language = Language(chosen)
    else:
        first = request.headers.get("Accept-Language", "").split(",")[0].strip().lower()
        language = Language.EN if first.startswith("en") else Language.RU
    if request.method != "POST" or FORM_LANG in request:
        request[LANGUAGE] = language  # final: asked again by every page of the request
    return language


def render(
    request: web.Request,
    template: str,
    status: int = 200,
    **values: Any,
) -> web.Response:
    language = language_of(request)
    browser = request.get(BROWSER)
    csrf = request.get(CSRF) or (
        csrf_token(request.app[SERVICES_KEY].signer, browser) if browser else ""
    )
    other = Language.EN if language is Language.RU else Language.RU
    other_href = (
        f"{request.path}?lang={other.value}"
        if request.method == "GET"
        else f"/form?lang={other.value}"
    )
    body = request.app[PAGES_KEY].page(
        template, language, other_href, values, csrf=csrf, state=values.pop("state", "")
    )
    return web.Response(body=body.encode(), status=status, headers=PAGE_HEADERS)


def message(
    request: web.Request, key: str, status: int = 200, *, again: bool = False
) -> web.Response:
    language = language_of(request)
    return render(
        request,
        "message.html.j2",
        status,
        title=text(language, "site_name"),
        message=text(language, key),
        again=again,
    )


# --- middlewares ------------------------------------------------------------------------------


@web.middleware
async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request through the same gates, outermost first: security headers and error pages
    (an outage or a bug is a page, never a traceback), the rate limit, the browser cookie, CSRF.

    One middleware, not four: each layer was a coroutine frame, a partial and a repeated look
    at the path per request (issue 12 item 5); the order and what each gate does are unchanged.
    """
    try:
        response = await _gates(request, handler)
    except web.HTTPNotFound:
        response = message(request, "not_found", 404)
    except web.HTTPRequestEntityTooLarge:
        # More than any answer can be (3,500 characters); the dialog is untouched.
        response = message(request, "too_large", 413)
    except web.HTTPException:
        raise
    except Exception as error:
        if is_storage_outage(error):
            logger.warning("Web request failed, storage unavailable: %s", type(error).__name__)
            response = message(request, "unavailable", 503)
            response.headers["Retry-After"] = "30"
        else:
            logger.exception("Web request failed: %s %s", request.method, request.path)
            response = message(request, "server_error", 500)
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    return response


async def _gates(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The rate limit, the browser cookie and CSRF, in this order (see `front`)."""
    path = request.path
    app = request.app
    if path in app[UNLIMITED_KEY]:
        # Health checks, the metrics scraper and the messengers' webhooks (all of Telegram's
        # updates come from a few addresses) are never limited; the scraper and the webhooks
        # (their own secret) are not browsers: no cookie, no form token.
        if path in app[NOT_BROWSERS_KEY]:
            return await handler(request)
    else:
        # Rate limit: too many requests from one address get 429.
        wait = app[LIMITER_KEY].allow(request.remote or "")
        if wait is not None:
            refused = message(request, "too_many", 429)
            refused.headers["Retry-After"] = str(int(wait))
            return refused
    # Browser cookie: every visitor gets a random one; it stands for "the same browser".
    known = valid_browser_id(request.cookies.get(BROWSER_COOKIE))
    browser = request[BROWSER] = known or new_browser_id()
    request[BROWSER_KNOWN] = known is not None
    response = await _csrf(request, handler, browser, known is not None)
    if known is None and not path.startswith(("/static/", "/site/", "/healthz", "/readyz")):
        response.headers.add(
            hdrs.SET_COOKIE, _cookie(browser, secure=app[SERVICES_KEY].secure_cookies)
        )
    return response


async def _csrf(
    request: web.Request, handler: Handler, browser: str, known: bool
) -> web.StreamResponse:
    """A POST must carry the token drawn for this browser's cookie, from this site."""
    if request.method != "POST":
        return await handler(request)
    form = await request.post()  # parsed once: aiohttp keeps it for the handler
    lang = form.get("lang")
    request[FORM_LANG] = lang if isinstance(lang, str) else ""
    token = form.get("csrf")
    if not known:
        return message(request, "cookies_needed", 400)
    if not isinstance(token, str) or not csrf_valid(
        request.app[SERVICES_KEY].signer, browser, token
    ):
        return message(request, "forged", 403)
    request[CSRF] = token  # valid: the browser's token, which this request's pages carry
    return await handler(request)


def _cookie(browser: str, *, secure: bool) -> str:
    """The Set-Cookie value of a new browser: written out, not through http.cookies' Morsel
    (the value is URL-safe base64, nothing in it needs quoting)."""
    attributes = f"; HttpOnly; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax"
    return f"{BROWSER_COOKIE}={browser}{attributes}{'; Secure' if secure else ''}"


# --- handlers ---------------------------------------------------------------------------------


def _person(request: web.Request) -> int:
    return person_of(request.app[SERVICES_KEY].signer, request[BROWSER])


def _forms(request: web.Request) -> FormPort:
    forms: FormPort = request.app[SERVICES_KEY].forms
    return forms


def _show(request: web.Request, page: Page) -> web.Response:
    """A page from the form layer: a question, or a message."""
    language = language_of(request)
    if page.question is not None:
        return render(
            request,
            "question.html.j2",
            page.status,
            title=page.title,
            step=page.question,
            state=page.state,
            error=page.error,
            notice=text(language, page.notice) if page.notice else None,
            intro=page.intro,
        )
    if page.picker is not None:
        return render(
            request,
            "picker.html.j2",
            page.status,
            title=text(language, "picker_title"),
            services=page.picker.services,
            polls=page.picker.polls,
            notice=text(language, page.notice) if page.notice else None,
        )
    return render(
        request,
        "message.html.j2",
        page.status,
        title=page.title or text(language, "site_name"),
        message=page.message or "",
        again=page.again,
    )


async def picker(request: web.Request) -> web.Response:
    return _show(request, await _forms(request).picker(language_of(request)))


async def from_link(request: web.Request) -> web.Response:
    """`/r/<payload>`: the post-service rating of the link's service and channel."""
    page = await _forms(request).start_link(
        _person(request), request.match_info["payload"], language_of(request)
    )
    return _show(request, page)


async def from_window_link(request: web.Request) -> web.Response:
    """`/w/<id>`: the questionnaire of an open poll window of citizens (an invitation link)."""
    page = await _forms(request).start_window(
        _person(request), request.match_info["window"], language_of(request)
    )
    return _show(request, page)


async def start(request: web.Request) -> web.Response:
    """The picker's form: a service, or an open poll window."""
    form = await request.post()
    service, window = form.get("service"), form.get("window")
    forms, person, language = _forms(request), _person(request), language_of(request)
    if isinstance(window, str) and window:
        page = await forms.start_window(person, window, language)
    elif isinstance(service, str) and service:
        page = await forms.start_service(person, service, language)
    else:
        page = await forms.picker(language, notice="picker_intro", status=422)
    return _show(request, page)


async def current(request: web.Request) -> web.Response:
    return _show(request, await _forms(request).current(_person(request), language_of(request)))


async def submit(request: web.Request) -> web.Response:
    form = await request.post()
    page = await _forms(request).submit(
        _person(request),
        language_of(request),
        state=str(form.get("state") or ""),
        action=str(form.get("action") or "answer"),
        choices=[value for value in form.getall("choice", []) if isinstance(value, str)],
        typed=str(form.get("text") or ""),
    )
    return _show(request, page)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[SERVICES_KEY].ready()
    except NotReady as error:
        logger.warning("Not ready: %s", error)
        return web.json_response({"status": "unavailable", error.part: error.state}, status=503)
    except Exception as error:
        logger.warning("Not ready: %s", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics (services/metrics.py): counts and timings, no identities."""
    exposition = request.app[SERVICES_KEY].metrics
    assert exposition is not None
    body, content_type = exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


def create_app(services: WebServices) -> web.Application:
    """The web application; the caller runs it (bot/web.py) or a test client drives it."""
    app = web.Application(middlewares=[front], client_max_size=64 * 1024)
    app[SERVICES_KEY] = services
    hooks = frozenset(hook[0] for hook in (services.telegram, services.max) if hook is not None)
    app[NOT_BROWSERS_KEY] = hooks | {"/metrics"}
    app[UNLIMITED_KEY] = hooks | {"/metrics", "/healthz", "/readyz"}
    app[LIMITER_KEY] = RateLimiter(services.rate_per_minute)
    app[PAGES_KEY] = Pages(TEMPLATES)
    app.router.add_get("/", picker)
    app.router.add_get("/r/{payload}", from_link)
    app.router.add_get("/w/{window}", from_window_link)
    app.router.add_post("/start", start)
    app.router.add_get("/form", current)
    app.router.add_post("/form", submit)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_static("/static/", STATIC, append_version=False)
    for hook in (services.telegram, services.max):
        if hook is not None:
            path, receive = hook
            app.router.add_post(path, receive)
    if services.metrics is not None:
        app.router.add_get("/metrics", metrics)
    if services.site_dir is not None:
        services.site_dir.mkdir(parents=True, exist_ok=True)
        app.router.add_get("/site", _to_site)
        app.router.add_get("/site/{path:.*}", site_file)
    return app


async def _to_site(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/site/")


async def site_file(request: web.Request) -> web.StreamResponse:
    """A file of the published site (PUBLISH__DIR); a folder means its index.html."""
    root = request.app[SERVICES_KEY].site_dir
    assert root is not None
    base = root.resolve()
    wanted = (base / request.match_info["path"]).resolve()
    if not wanted.is_relative_to(base):
        raise web.HTTPNotFound()
    if wanted.is_dir():
        wanted = wanted / "index.html"
    if not wanted.is_file():
        raise web.HTTPNotFound()
    response = web.FileResponse(wanted)
    # Regenerated after each closed period: a browser asks again rather than trust a copy.
    response.headers["Cache-Control"] = "no-cache"
    return response
