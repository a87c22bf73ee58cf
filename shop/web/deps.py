"""What handlers receive by dependency injection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property

from jinja2 import Environment
from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.params import SkipValidation
from litestar.types import Message, Scope
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop.accounts.tokens import (
    bearer_token,
    operator_for,
    record_use,
    stale_use,
    unauthorized,
    valid_token,
)
from shop.clock import Clock
from shop.db import reader, session_scope
from shop.i18n import Translator, negotiate
from shop.mail.outbox import SEND_SOON
from shop.orders.notifications import send_due_mail
from shop.plugins.manager import EnabledPlugins, Plugins
from shop.plugins.state import EnabledCache
from shop.settings import Settings
from shop.web import idempotency
from shop.web.page_cache import PageCache
from shop.web.transaction import Deferred

log = logging.getLogger("shop")

LOCALE_COOKIE = "shop_locale"


@dataclass(frozen=True)
class Shop:
    """The long-lived parts of one running shop, built once at start-up."""

    settings: Settings
    engine: Engine  # sessions that write
    plugins: Plugins
    clock: Clock
    templates: Environment  # pages, and mails rendered outside a request
    enabled: EnabledCache
    pages: PageCache = field(default_factory=PageCache)

    @cached_property
    def reader(self) -> Engine:
        """The same database, for sessions that only read (GET pages and API calls)."""
        return reader(self.engine)

    def enabled_now(self) -> EnabledPlugins:
        """The enabled plugins, read in a session of their own (outside a request)."""
        with session_scope(self.reader) as session:
            return self.enabled.view(session)


# What a handler's parameter names mean; the providers are wired in shop.app. They do no
# I/O: the session and what is read through it are resolved by ``@transaction``.
ShopDep = NamedDependency[Shop]
Db = NamedDependency[SkipValidation[Session]]
Enabled = NamedDependency[SkipValidation[EnabledPlugins]]
T = NamedDependency[Translator]
Operator = NamedDependency[SkipValidation[str]]

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def provide_shop(state: State) -> Shop:
    shop: Shop = state.shop
    return shop


async def provide_db(
    request: Request,  # type: ignore[type-arg]
    shop: ShopDep,
) -> AsyncIterator[Session]:
    """The request's session, not yet connected; GET and HEAD only read. An API POST's
    ``Idempotency-Key`` rides along in ``session.info`` for ``@transaction``."""
    engine = shop.reader if request.method in READS else shop.engine
    session = Session(engine, expire_on_commit=False)
    key = request.headers.get(idempotency.HEADER)
    if key is not None and request.method == "POST" and request.url.path.startswith("/api/"):
        session.info[idempotency.KEYED] = idempotency.KeyedRequest(
            key=idempotency.check_key(key),
            path=request.url.path,
            fingerprint=idempotency.body_fingerprint(await request.body()),
            received_at=shop.clock.now(),
        )
    try:
        yield session
    finally:
        if session.info.pop(SEND_SOON, False):
            mail_queued(request)
        if session.in_transaction():
            log.error("%s ran outside @transaction; its work is rolled back", request.url.path)
        session.close()


def provide_enabled(db: Db, shop: ShopDep) -> Deferred[EnabledPlugins]:
    def view(session: Session) -> EnabledPlugins:
        if session.get_bind() is shop.engine:
            # A writing request: read the plugin state before its write transaction begins,
            # so the state is not read while holding SQLite's write lock.
            return shop.enabled_now()
        return shop.enabled.view(session)

    return Deferred(db, view)


def request_locale(request: Request) -> str:  # type: ignore[type-arg]
    """URL prefix, then ``?lang=``, then the buyer's stored choice, then Accept-Language.

    The API follows its contract (``?lang=`` or Accept-Language) and ignores the cookie.
    """
    api = request.url.path.startswith(("/api/", "/webhooks/"))
    return negotiate(
        request.path_params.get("lang") if request.scope.get("path_params") else None,
        request.query_params.get("lang"),
        None if api else request.cookies.get(LOCALE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def add_content_language(message: Message, scope: Scope) -> None:
    """Tell clients which language a response is in (before-send hook)."""
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    headers = MutableScopeHeaders.from_message(message)
    if "content-language" not in headers:
        headers["Content-Language"] = request_locale(Request(scope))


def translator_for(request: Request) -> Translator:  # type: ignore[type-arg]
    shop: Shop = request.app.state.shop
    return Translator.for_settings(shop.settings, request_locale(request))


def provide_translator(request: Request) -> Translator:  # type: ignore[type-arg]
    return translator_for(request)


def provide_operator(request: Request, db: Db) -> Deferred[str]:  # type: ignore[type-arg]
    """The operator named by the request's bearer token; 401 without a valid one."""
    token = bearer_token(request.headers.get("authorization", ""))
    shop: Shop = request.app.state.shop
    reads = request.method in READS

    def check(session: Session) -> str:
        now = shop.clock.now()
        if not reads:
            name = operator_for(session, token, now) if token else None
            if name is None:
                raise unauthorized()
            return name
        # A read's session cannot write: the last use goes in a short write of its own.
        row = valid_token(session, token, now) if token else None
        if row is None:
            raise unauthorized()
        if stale_use(row, now) and row.id is not None:
            with session_scope(shop.engine) as writer:
                record_use(writer, row.id, now)
        return row.name

    return Deferred(db, check)


MAIL_QUEUED = "mail_queued"


def base_url(request: Request) -> str:  # type: ignore[type-arg]
    """The address the buyer reached the shop at, for links back (provider returns)."""
    return str(request.base_url).rstrip("/")


def mail_queued(request: Request) -> None:  # type: ignore[type-arg]
    """Mark the request: after the response, try to send what it queued."""
    request.state[MAIL_QUEUED] = True


def deliver_now(shop: Shop) -> int:
    """Send what is due now (no-op without SMTP), in short transactions of its own and
    none held while SMTP talks; a message that failed waits for its retry time."""
    if not shop.settings.smtp_url:
        return 0
    return send_due_mail(shop.engine, shop.plugins, shop.settings, shop.clock, batches=1).sent


async def deliver_mail_after_response(request: Request) -> None:  # type: ignore[type-arg]
    if request.state.get(MAIL_QUEUED):
        await sync_to_thread(deliver_now, request.app.state.shop)
