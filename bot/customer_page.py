"""W5 from the customer's phone: the page a customer link opens, on the bot's HTTP server
(mounted by ``bot.run`` when ``PUBLIC_BASE_URL`` is set; the rules are
:mod:`models.customer_link`).

- ``GET /c/{token}``: the order's extra items to approve or decline, or — once the link is
  used up or expired — what was decided and the shop's phone; a link whose prices changed
  since it was sent refuses. ``?done=1`` is the confirmation after sending.
- ``POST /c/{token}``: the customer's decisions (a plain form, no script), then a 303 to the
  confirmation; the staff are told as if an advisor had decided. Sent again after the link is
  used, it shows what was decided and changes nothing.
- ``GET /c/{token}/photo/{id}``: a photo of an item on the link.

An unknown token answers the same 404 whatever it is (a guess, another shop's, a mistyped one).
The form carries the link's form key and must come from ``PUBLIC_BASE_URL`` (``Origin`` /
``Referer``); every client address is rate-limited in memory. The language is Chinese unless
``?lang=en`` or the browser asks for English. Behind a proxy, the client address is the one
uvicorn takes from ``X-Forwarded-For`` of the proxies it trusts (``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.customer_page_html import (
    Shop,
    Typed,
    closed_page,
    done_page,
    form_page,
    message_page,
)
from bot.http import TooLarge, read_body
from bot.i18n import Translator, locale_from_language_code
from bot.refusals import refusal
from bot.services import Services
from handlers.floor.customer_consent import tell_staff
from models.attachment import Attachment
from models.customer_link import (
    CustomerChoice,
    CustomerLink,
    DeclineReason,
    LinkState,
    LinkView,
    customer_decides,
    find_link,
    form_key_matches,
    opened,
    view_link,
)
from models.db import id_of
from models.extra_item import Decision
from models.rules import Refused

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
MAX_FIELDS = 200
WINDOW = 60.0  # seconds the rate limits count over
LIMITS = {"get": 30, "post": 10, "photo": 120, "unknown": 5}  # per client address a minute
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; "
                               "style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    # Not no-referrer: with it a browser posts the form with "Origin: null", and the origin
    # check could only let that through. same-origin sends no Referer (the token) elsewhere,
    # and the page links and loads nothing from elsewhere.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RateLimit:
    """Requests per client address and kind in the last ``WINDOW`` seconds, in memory (one
    process; a restart forgets). At most ``max_clients`` addresses are kept: the longest
    unseen go first."""

    def __init__(self, monotonic: Callable[[], float], limits: dict[str, int] | None = None,
                 *, window: float = WINDOW, max_clients: int = 10_000) -> None:
        self.monotonic = monotonic
        self.limits = limits or LIMITS
        self.window = window
        self.max_clients = max_clients
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, kind: str, client: str) -> deque[float]:
        key = (kind, client)
        hits = self._hits.pop(key, None) or deque()
        self._hits[key] = hits  # the most recently seen last
        since = self.monotonic() - self.window
        while hits and hits[0] <= since:
            hits.popleft()
        while len(self._hits) > self.max_clients:
            self._hits.popitem(last=False)
        return hits

    def spent(self, kind: str, client: str) -> bool:
        """Whether ``client`` used up its ``kind`` requests (without counting one)."""
        return len(self._recent(kind, client)) >= self.limits[kind]

    def allow(self, kind: str, client: str) -> bool:
        """Count a request; False when it is over the limit."""
        hits = self._recent(kind, client)
        if len(hits) >= self.limits[kind]:
            return False
        hits.append(self.monotonic())
        return True


def origin_of(url: str) -> str:
    """``https://Shop.example.com:443/x`` → ``https://shop.example.com`` (as ``Origin`` says)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def choose_locale(request: Request, default: str) -> tuple[str, bool]:
    """The page's language and whether the address chose it (``?lang=``, kept on links)."""
    asked = request.query_params.get("lang")
    if asked:
        return locale_from_language_code(asked, default), True
    ranked = []
    for position, entry in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _sep, params = entry.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _quality, _position, tag in sorted(ranked):
        if tag.lower().startswith(("zh", "en")):
            return locale_from_language_code(tag, default), False
    return default, False


@dataclass(frozen=True)
class Visit:
    """One request to the page: the link's token, the language, the client."""

    token: str
    translator: Translator
    chosen: bool  # the language came with the address
    client: str

    @property
    def path(self) -> str:
        return f"/c/{self.token}"

    def address(self, **query: str) -> str:
        if self.chosen:
            query["lang"] = self.translator.locale
        return self.path + ("?" + urlencode(query) if query else "")

    @property
    def switch(self) -> str:
        return self.path + "?" + urlencode({"lang": "zh" if self.translator.locale == "en"
                                            else "en"})


class CustomerPage:
    """The three routes, sharing the rate limits of this process."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.limits = RateLimit(services.clock.monotonic)

    @property
    def shop(self) -> Shop:
        settings = self.services.settings
        return Shop(settings.shop_name, settings.shop_phone)

    def _visit(self, request: Request) -> Visit:
        settings = self.services.settings
        locale, chosen = choose_locale(request, settings.default_locale)
        return Visit(token=str(request.path_params["token"]),
                     translator=Translator(locale, settings.tz, self.services.clock.now()),
                     chosen=chosen, client=request.client.host if request.client else "?")

    def _page(self, html: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **NO_STORE})

    def _say(self, visit: Visit, status: int, title: str, text: str) -> HTMLResponse:
        return self._page(message_page(visit.translator, self.shop, title, text), status)

    def _too_many(self, visit: Visit) -> HTMLResponse:
        _ = visit.translator
        return self._say(visit, 429, _("Too many requests"),
                         _("Please wait a minute and try again."))

    def _unknown(self, visit: Visit) -> HTMLResponse:
        if not self.limits.allow("unknown", visit.client):
            return self._too_many(visit)
        _ = visit.translator
        return self._say(visit, 404, _("This link is not valid"),
                         _("Please check that you opened the whole link, or ask your service "
                           "advisor for a new one."))

    def _changed(self, visit: Visit) -> HTMLResponse:
        _ = visit.translator
        return self._say(visit, 200, _("The prices have changed"),
                         _("The work or its prices changed after this link was sent. Please ask "
                           "your service advisor for a new link."))

    def _closed(self, visit: Visit, view: LinkView) -> HTMLResponse:
        return self._page(closed_page(
            visit.translator, self.shop, view, expired=view.state is LinkState.expired,
            photo_url=None if view.state is LinkState.expired else f"{visit.path}/photo",
            switch=visit.switch))

    def _form(self, visit: Visit, view: LinkView, *, typed: Typed | None = None,
              error: str | None = None, status: int = 200) -> HTMLResponse:
        return self._page(form_page(
            visit.translator, self.shop, view, action=visit.address(),
            photo_url=f"{visit.path}/photo", typed=typed, error=error,
            switch=visit.switch), status)

    def _done(self, visit: Visit, view: LinkView) -> HTMLResponse | None:
        """The confirmation: what the customer decided on this link (None: nothing)."""
        mine = [entry.item for entry in view.items if entry.item.decided_at is not None]
        if not mine:
            return None
        return self._page(done_page(
            visit.translator, self.shop, mine[0].signed_name or "",
            [item.description for item in mine if item.decision == Decision.approved],
            [item.description for item in mine if item.decision == Decision.rejected],
            switch=visit.switch))

    async def show(self, request: Request) -> Response:
        """``GET /c/{token}``."""
        visit = self._visit(request)
        if not self.limits.allow("get", visit.client) or self.limits.spent("unknown",
                                                                           visit.client):
            return self._too_many(visit)
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            link = await find_link(session, visit.token)
            if link is None:
                return self._unknown(visit)
            view = await view_link(session, link, now)
            if request.query_params.get("done") and (done := self._done(visit, view)):
                return done
            if view.state is not LinkState.open:
                return self._closed(visit, view)
            if view.changed:
                return self._changed(visit)
            await opened(session, link, now)
            await session.commit()
            return self._form(visit, view)

    async def decide(self, request: Request) -> Response:
        """``POST /c/{token}``."""
        visit = self._visit(request)
        _ = visit.translator
        if not self.limits.allow("post", visit.client) or self.limits.spent("unknown",
                                                                            visit.client):
            return self._too_many(visit)
        if not self._same_origin(request):
            log.warning("customer page: a form from another site (%s)", visit.client)
            return self._forbidden(visit)
        try:
            body = await read_body(request, MAX_BODY)
        except TooLarge:
            return self._say(visit, 413, _("Too much text"),
                             _("What you sent is too long. Please shorten your note and try "
                               "again."))
        except ClientDisconnect:
            return Response(status_code=400)
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True,
                        max_num_fields=MAX_FIELDS)
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            link = await find_link(session, visit.token)
            if link is None:
                return self._unknown(visit)
            if not form_key_matches(link, _field(form, "form_key")):
                log.warning("customer page: a form without the link's key (%s)", visit.client)
                return self._forbidden(visit)
            view = await view_link(session, link, now)
            if view.state is not LinkState.open:
                return self._closed(visit, view)  # sent again: what was decided
            if view.changed:
                return self._changed(visit)
            return await self._record(session, request, visit, link, view, form)

    async def _record(self, session: AsyncSession, request: Request, visit: Visit,
                      link: CustomerLink, view: LinkView, form: dict[str, list[str]]
                      ) -> Response:
        _ = visit.translator
        pending = [e.item.request_id for e in view.items if e.status is Decision.pending]
        typed = Typed(
            choices={key: value for key in pending
                     if (value := _field(form, f"choice-{key}")) in ("approve", "decline")},
            reasons={key: value for key in pending
                     if (value := _field(form, f"reason-{key}")) in set(DeclineReason)},
            name=_field(form, "name")[:100], note=_field(form, "note")[:1000])
        if len(typed.choices) != len(pending):
            return self._form(visit, view, typed=typed, status=422,
                              error=_("Please choose Approve or Decline for every item."))
        if not typed.name.strip():
            return self._form(visit, view, typed=typed, status=422,
                              error=_("Please type your name: it is your signature."))
        choices = [CustomerChoice(key, typed.choices[key] == "approve",
                                  DeclineReason(typed.reasons[key])
                                  if typed.reasons.get(key) else None) for key in pending]
        try:
            outcomes = await customer_decides(
                session, link=link, choices=choices, name=typed.name, note=typed.note,
                ip=visit.client, user_agent=request.headers.get("user-agent"),
                now=self.services.clock.now())
        except Refused as refused:
            await session.rollback()
            return await self._refused(session, visit, refused, typed)
        await session.commit()
        try:
            await tell_staff(self.services, id_of(link), outcomes)
        except Exception:  # the decision stands; the cards show it when next drawn
            log.exception("customer link %s decided, but telling the staff failed", link.id)
        return RedirectResponse(visit.address(done="1"), status_code=303,
                                headers={**SECURITY_HEADERS, **NO_STORE})

    async def _refused(self, session: AsyncSession, visit: Visit, refused: Refused,
                       typed: Typed) -> Response:
        """The rules said no (the link expired or was used up meanwhile …): read afresh."""
        _ = visit.translator
        link = await find_link(session, visit.token)
        assert link is not None
        view = await view_link(session, link, self.services.clock.now())
        if refused.code == "customer_link_closed" or view.state is not LinkState.open:
            return self._closed(visit, view)
        if refused.code == "customer_link_changed":
            return self._changed(visit)
        if refused.code in ("customer_name_missing", "customer_link_items"):
            return self._form(visit, view, typed=typed, status=422,
                              error=refusal(_, refused))
        log.info("customer link %s: refused %s", link.id, refused.code)
        return self._say(visit, 409, _("Your decision could not be recorded"),
                         _("This work can no longer be decided on this page. Please call the "
                           "workshop."))

    def _forbidden(self, visit: Visit) -> HTMLResponse:
        _ = visit.translator
        return self._say(visit, 403, _("This form cannot be accepted"),
                         _("Please open the link you were sent again and send your decision "
                           "from that page."))

    def _same_origin(self, request: Request) -> bool:
        """``Origin`` (or, without it, ``Referer``), when the browser sends one, is
        ``PUBLIC_BASE_URL``'s."""
        base = self.services.settings.public_base_url or ""
        given = request.headers.get("origin") or request.headers.get("referer")
        return given is None or origin_of(given) == origin_of(base)

    async def photo(self, request: Request) -> Response:
        """``GET /c/{token}/photo/{attachment_id}``: a photo the link shows."""
        visit = self._visit(request)
        if not self.limits.allow("photo", visit.client) or self.limits.spent("unknown",
                                                                             visit.client):
            return self._too_many(visit)
        photo_id = int(request.path_params["attachment_id"])
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            link = await find_link(session, visit.token)
            if link is None:
                return self._unknown(visit)
            view = await view_link(session, link, now)
            attachment = await session.get(Attachment, photo_id)
            if (view.state is LinkState.expired or attachment is None
                    or not any(photo_id in e.item.photo_ids for e in view.items)):
                return Response(status_code=404, headers=SECURITY_HEADERS)
            data = await self.services.messenger.photo_bytes(session, attachment, now)
            await session.commit()  # the bytes downloaded are kept
        if data is None:
            return Response(status_code=404, headers=SECURITY_HEADERS)
        return Response(data, media_type="image/jpeg",
                        headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"})


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def routes(services: Services, page: CustomerPage | None = None) -> list[Route]:
    """The page's routes; none without ``PUBLIC_BASE_URL``."""
    if not services.settings.public_base_url:
        return []
    page = page or CustomerPage(services)
    return [Route("/c/{token}", page.show, methods=["GET"]),
            Route("/c/{token}", page.decide, methods=["POST"]),
            Route("/c/{token}/photo/{attachment_id:int}", page.photo, methods=["GET"])]
