"""What handlers receive by dependency injection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from jinja2 import Environment
from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import Message, Scope
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop.accounts.tokens import operator_for
from shop.catalog.products import N_
from shop.clock import Clock
from shop.db import session_scope
from shop.errors import ShopError
from shop.i18n import Translator, negotiate
from shop.orders.notifications import send_due_mail
from shop.plugins.manager import EnabledPlugins, Plugins
from shop.plugins.state import enabled_view
from shop.settings import Settings

LOCALE_COOKIE = "shop_locale"


@dataclass(frozen=True)
class Shop:
    """The long-lived parts of one running shop, built once at start-up."""

    settings: Settings
    engine: Engine
    plugins: Plugins
    clock: Clock
    templates: Environment  # pages, and mails rendered outside a request


# What a handler's parameter names mean; the providers are wired in shop.app.
ShopDep = NamedDependency[Shop]
Db = NamedDependency[Session]
Enabled = NamedDependency[EnabledPlugins]
T = NamedDependency[Translator]
Operator = NamedDependency[str]


def provide_shop(state: State) -> Shop:
    shop: Shop = state.shop
    return shop


def provide_db(shop: ShopDep) -> Iterator[Session]:
    with session_scope(shop.engine) as session:
        yield session


def provide_enabled(db: Db, shop: ShopDep) -> EnabledPlugins:
    return enabled_view(db, shop.plugins, shop.settings)


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
    return Translator.for_locale(shop.settings.locales_dir, request_locale(request))


def provide_translator(request: Request) -> Translator:  # type: ignore[type-arg]
    return translator_for(request)


def provide_operator(request: Request, db: Db, enabled: Enabled) -> str:  # type: ignore[type-arg]
    """The operator named by the request's bearer token; 401 without a valid one.

    It takes ``enabled`` only to be resolved after it: both use the request's one session,
    which must not be used from two threads at once.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    name = operator_for(db, token.strip()) if scheme.lower() == "bearer" and token else None
    if name is None:
        raise ShopError(
            401, "unauthorized", N_("Send an operator token as “Authorization: Bearer <token>”.")
        )
    return name


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
