"""``create_app(settings)``: wires plugins, database, templates and routes into Litestar."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from litestar import Litestar, Router
from litestar.concurrency import sync_to_thread
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from shop.clock import Clock
from shop.db import make_engine
from shop.orders.line_text import adjustment_text, line_text, payment_label
from shop.orders.notifications import mail_credit_notes
from shop.plugins.context import HookContext
from shop.plugins.dispatch import tell_plugins
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import EnabledCache
from shop.private_files import secret_from_file
from shop.settings import Settings
from shop.web.account_pages import ROUTES as ACCOUNT_ROUTES
from shop.web.address_pages import (
    release_confirm_page,
    release_page,
    request_release_api,
    request_release_page,
    trial_confirm_page,
    trial_key_page,
)
from shop.web.admin_pages import LoginRequired, admin_pages, to_login
from shop.web.api.activations import activations_router
from shop.web.api.admin import admin_router
from shop.web.api.admin_reviews import admin_reviews_router
from shop.web.api.licences import licences_router
from shop.web.api.orders import (
    cancel_by_buyer,
    change_method,
    create_order,
    create_trial,
    get_order,
    licence_public_key,
    order_credit_note_pdf,
    order_document_pdf,
    order_xrechnung,
)
from shop.web.api.products import list_products
from shop.web.api.subscriptions import subscriptions_router
from shop.web.cancel_pages import ROUTES as CANCEL_ROUTES
from shop.web.checkout_pages import (
    add_to_cart,
    cart_page,
    checkout_page,
    checkout_submit,
    order_cancel,
    order_method,
    order_page,
    trial_submit,
    update_cart,
)
from shop.web.deps import (
    Shop,
    add_content_language,
    deliver_mail_after_response,
    provide_db,
    provide_enabled,
    provide_shop,
    provide_translator,
)
from shop.web.hostile_input import refuse_hostile_input
from shop.web.pages import catalog, home, product_page
from shop.web.payment_routes import payment_return, receive_webhook
from shop.web.problems import handle_error
from shop.web.rate_limits import rate_limit_middleware
from shop.web.security_headers import PUBLIC, security_headers
from shop.web.subscription_pages import (
    subscription_cancel,
    subscription_cancel_confirm,
    subscription_page,
    subscription_resume,
    switch_apply,
    switch_order_withdraw,
    switch_order_withdraw_confirm,
    switch_page,
    switch_preview,
    switch_withdraw,
)


@pass_context
def _gettext(context: Context, message: str) -> str:
    translated: str = context["t"].translations.gettext(message)
    return translated


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    translated: str = context["t"].translations.ngettext(singular, plural, n)
    return translated


@pass_context
def _line_text(context: Context, line: Any) -> str:
    return line_text(line, context["order"].currency, context["t"])


@pass_context
def _adjustment_text(context: Context, adjustment: Any) -> str:
    return adjustment_text(adjustment.label, adjustment.params, context["t"])


@pass_context
def _payment_label(context: Context, payment: Any) -> str:
    return payment_label(payment, context["t"], context.get("payment_methods"))


class ShopTemplates(BaseLoader):
    """The enabled plugins' ``templates`` folders before the core's, and the core's as
    ``core:<name>`` (so an override extends the original). Each template found is reloaded
    when the enabled plugins change: enabling or disabling a plugin shows or drops its
    overrides without a restart. ``enabled`` None: every plugin's folder counts."""

    def __init__(
        self,
        plugin_folders: Mapping[str, Path],
        core: Path,
        enabled: Callable[[], frozenset[str] | None] = lambda: None,
    ) -> None:
        self.plugins = {name: FileSystemLoader(folder) for name, folder in plugin_folders.items()}
        self.core = FileSystemLoader(core)
        self.enabled = enabled

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        on = self.enabled()
        found = None
        if template.startswith(CORE_PREFIX):
            found = self.core.get_source(environment, template.removeprefix(CORE_PREFIX))
        for name, loader in self.plugins.items():
            if found is not None:
                break
            if on is not None and name not in on:
                continue
            with suppress(TemplateNotFound):
                found = loader.get_source(environment, template)
        source, filename, uptodate = found or self.core.get_source(environment, template)

        def still_current() -> bool:
            return self.enabled() == on and (uptodate is None or uptodate())

        return source, filename, still_current

    def list_templates(self) -> list[str]:
        names = set(self.core.list_templates())
        names |= {CORE_PREFIX + name for name in names}
        for loader in self.plugins.values():
            names.update(loader.list_templates())
        return sorted(names)


CORE_PREFIX = "core:"


def template_environment(
    settings: Settings,
    plugin_folders: Mapping[str, Path] | None = None,
    enabled: Callable[[], frozenset[str] | None] = lambda: None,
) -> Environment:
    """Pages and mails: each plugin's ``templates`` folder (plugin name -> folder; default
    the settings' folders) before the core's, so a plugin overrides a core template by its
    name and extends the original as ``core:<name>``; ``enabled`` names the plugins whose
    folders count (None: all)."""
    if plugin_folders is None:
        plugin_folders = {str(folder): folder for folder in settings.plugin_templates}
    env = Environment(
        loader=ShopTemplates(plugin_folders, settings.templates_dir, enabled),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Translations are per request: the callables read the request's translator.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    # One wording of order lines and payments on pages and in mails (the PDF calls the same).
    env.globals.update(
        line_text=_line_text, payment_label=_payment_label, adjustment_text=_adjustment_text
    )
    return env


NO_SESSION = ["^/api/", "^/webhooks/", "^/static/", "^/schema"]


def _derive(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the shop's secret key."""
    return hashlib.sha256(purpose + b":" + secret.encode()).digest()


API_PATHS = ("/api/", "/webhooks/")


def document_only_the_api(handlers: list[Any]) -> None:
    """The OpenAPI document is the integrations' contract: pages answer browsers in HTML."""
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler) and not any(
            path.startswith(API_PATHS) for path in handler.paths
        ):
            handler.include_in_schema = False


def plugin_routes(plugins: Plugins) -> list[Router]:
    """Each plugin's routes behind a guard: while the operator has the plugin disabled its
    pages and calls answer 404, like its products vanish, without a restart."""
    routers = []
    for name, handlers in plugins.routes_by_plugin().items():
        if not handlers:
            continue
        document_only_the_api(handlers)

        async def enabled_only(
            connection: ASGIConnection[Any, Any, Any, Any],
            _handler: BaseRouteHandler,
            name: str = name,
        ) -> None:
            shop: Shop = connection.app.state.shop
            if not (await sync_to_thread(shop.enabled_now)).has(name):
                raise NotFoundException()

        routers.append(Router("/", route_handlers=handlers, guards=[enabled_only]))
    return routers


def openapi_config(settings: Settings) -> OpenAPIConfig:
    """The document at /schema: operator calls name the bearer scheme they need."""
    return OpenAPIConfig(
        title=settings.shop_name,
        version="1.0.0",
        path="/schema",
        components=Components(
            security_schemes={
                "operatorToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An operator token from `shop admin token NAME`.",
                )
            }
        ),
    )


def create_app(settings: Settings | None = None, *, plugins: Plugins | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    plugins = plugins or Plugins(get_plugin_manager())
    if not settings.plugin_values:
        settings = plugins.configure(settings)
    enabled = EnabledCache(plugins, settings)
    templates = template_environment(
        settings, plugins.folders("templates"), lambda: enabled.current
    )
    secret = settings.secret_key or secret_from_file(settings.secret_key_file)
    shop = Shop(
        settings=settings,
        engine=make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            wait_seconds=settings.db_wait_seconds,
        ),
        plugins=plugins,
        clock=Clock.from_setting(settings.clock, settings.timezone),
        templates=templates,
        enabled=enabled,
    )
    # Payments are named by their method, a plugin's too, on pages and in mails.
    templates.globals["payment_methods"] = plugins.everything.payment_methods

    # Plugins hear of each lifecycle event once its transaction has committed.
    tell_plugins(shop.engine, shop.enabled_now, HookContext(settings=settings, clock=shop.clock))
    # A credit note, wherever it is issued, is mailed to the buyer in that transaction.
    mail_credit_notes(shop.engine, templates, settings)

    def on_startup() -> None:
        # Handlers run on the loop's default executor; one thread per pooled connection, so
        # a handler never waits for a connection that another handler's thread holds.
        threads = ThreadPoolExecutor(settings.db_pool_size, thread_name_prefix="shop-handler")
        asyncio.get_running_loop().set_default_executor(threads)

    def on_shutdown() -> None:
        shop.engine.dispose()

    engine = JinjaTemplateEngine.from_environment(templates)
    handlers: list[Any] = [
        home,
        catalog,
        product_page,
        add_to_cart,
        update_cart,
        cart_page,
        checkout_page,
        checkout_submit,
        order_page,
        payment_return,
        receive_webhook,
        order_cancel,
        order_method,
        trial_submit,
        trial_confirm_page,
        trial_key_page,
        request_release_page,
        release_confirm_page,
        release_page,
        request_release_api,
        subscription_page,
        switch_page,
        switch_preview,
        switch_apply,
        switch_withdraw,
        switch_order_withdraw_confirm,
        switch_order_withdraw,
        subscription_cancel_confirm,
        subscription_cancel,
        subscription_resume,
        list_products,
        create_order,
        get_order,
        cancel_by_buyer,
        change_method,
        order_document_pdf,
        order_credit_note_pdf,
        order_xrechnung,
        create_trial,
        licence_public_key,
        admin_router,
        admin_pages,
        admin_reviews_router,
        subscriptions_router,
        licences_router,
        activations_router,
        *ACCOUNT_ROUTES,
        *CANCEL_ROUTES,
        create_static_files_router(
            path="/static", directories=[settings.static_dir], cache_control=PUBLIC
        ),
    ]
    document_only_the_api(handlers)
    handlers += plugin_routes(plugins)
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "shop": Provide(provide_shop, sync_to_thread=False),
            "db": Provide(provide_db),
            "enabled": Provide(provide_enabled, sync_to_thread=False),
            "t": Provide(provide_translator, sync_to_thread=False),
        },
        # A back-office page without an operator session (a plugin's too) sends to its login.
        exception_handlers={Exception: handle_error, LoginRequired: to_login},
        before_request=refuse_hostile_input,
        request_max_body_size=settings.max_body_bytes,
        template_config=TemplateConfig(engine=engine),
        # Only the storefront's cart needs a session; API calls, webhooks and static files
        # neither read nor write one, so they skip decrypting and re-signing the cookie.
        middleware=[
            CookieBackendConfig(
                secret=_derive(secret, b"session"),
                exclude=NO_SESSION,
                secure=settings.secure_cookies,
                httponly=True,
                samesite="lax",
            ).middleware,
            *rate_limit_middleware(settings.rate_limits),
        ],
        csrf_config=CSRFConfig(
            secret=_derive(secret, b"csrf").hex(),
            cookie_name="shop_csrf",
            # Forms carry the token in a hidden field; no script reads the cookie.
            cookie_httponly=True,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            # Integrations authenticate with tokens or signatures, not cookies.
            exclude=NO_SESSION,
        ),
        openapi_config=openapi_config(settings),
        state=State({"shop": shop}),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        before_send=[add_content_language, security_headers(settings, shop.plugins)],
        after_response=deliver_mail_after_response,
        debug=settings.debug,
    )
