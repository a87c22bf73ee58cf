"""The storefront: catalog and product pages in de, nl and en (R34)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.template.base import csrf_token

from shop.catalog.currencies import Currency
from shop.catalog.products import N_, Kind
from shop.catalog.rates import current_rates, rates_key
from shop.catalog.service import PricedLine, parse_country, priced_catalog, resolve_currency
from shop.errors import ShopError
from shop.i18n import LOCALES, Translator, country_names
from shop.plugins.manager import EnabledPlugins
from shop.web.deps import LOCALE_COOKIE, Db, Enabled, Shop, ShopDep, T, request_locale
from shop.web.page_cache import CSRF_FIELD
from shop.web.security_headers import REVALIDATE
from shop.web.transaction import transaction

CURRENCY_COOKIE, COUNTRY_COOKIE = "shop_currency", "shop_country"
YEAR = 60 * 60 * 24 * 365

KIND_LABELS = {
    Kind.SUBSCRIPTION: N_("Subscription"),
    Kind.PERPETUAL: N_("Perpetual licence"),
    Kind.ADDON: N_("Add-on"),
    Kind.AGREEMENT: N_("Agreement"),
}


@dataclass(frozen=True)
class Choice:
    """The buyer's currency and billing country, and why a wish could not be honoured."""

    currency: Currency
    country: str | None
    notice: str | None
    offered: list[str]


def buyer_choice(
    request: Request[Any, Any, Any], shop: Shop, enabled: EnabledPlugins, t: Translator
) -> Choice:
    """Currency and country from the query (a new choice) or the cookies (an earlier one)."""
    wanted_currency = request.query_params.get("currency") or request.cookies.get(CURRENCY_COOKIE)
    wanted_country = request.query_params.get("country", request.cookies.get(COUNTRY_COOKIE))
    notice = None
    try:
        country = parse_country(wanted_country)
    except ShopError as error:
        notice, country = t.gettext(error.detail, **error.params), None
    try:
        currency = resolve_currency(enabled, shop.plugins.currency_codes, wanted_currency, country)
    except ShopError as error:
        notice = t.gettext(error.detail, **error.params)
        currency = resolve_currency(enabled, shop.plugins.currency_codes, "EUR", country)
    offered = [code for code, c in enabled.currencies.items() if c.allowed_for(country)]
    return Choice(currency, country, notice, offered)


def _remember(choice: Choice, lang: str) -> list[Cookie]:
    return [
        Cookie(key=LOCALE_COOKIE, value=lang, max_age=YEAR, samesite="lax"),
        Cookie(key=CURRENCY_COOKIE, value=choice.currency.code, max_age=YEAR, samesite="lax"),
        Cookie(key=COUNTRY_COOKIE, value=choice.country or "", max_age=YEAR, samesite="lax"),
    ]


def _page_context(
    request: Request[Any, Any, Any], shop: Shop, t: Translator, choice: Choice
) -> dict[str, Any]:
    """What every page's frame (``base.html``) shows."""
    path = request.url.path
    return {
        "t": t,
        "lang": t.locale,
        "shop_name": shop.settings.shop_name,
        "test_mode": shop.settings.payments_test_mode,
        # The same page in each language; the catalog's address keeps its trailing slash.
        "languages": [
            (code, t.language_name(code), f"/{code}{path[3:] or '/'}") for code in LOCALES
        ],
        "choice": choice,
        "countries": country_names(t.locale),
        "kind_label": lambda kind: t.gettext(KIND_LABELS[kind]),
        "period": t.period,
        "request_path": path,
    }


def render_page(
    name: str,
    request: Request[Any, Any, Any],
    shop: Shop,
    t: Translator,
    choice: Choice,
    **context: Any,
) -> Template:
    return Template(
        name,
        context={**_page_context(request, shop, t, choice), **context},
        cookies=_remember(choice, t.locale),
        headers={"Content-Language": t.locale},
    )


def shared_page(
    name: str,
    request: Request[Any, Any, Any],
    shop: Shop,
    t: Translator,
    choice: Choice,
    depends_on: tuple[Any, ...],
    context: Callable[[], dict[str, Any]],
) -> Response[str]:
    """A page that is the same for every buyer with the same ``choice``, language and
    ``depends_on`` (the enabled plugins and exchange rates it was priced with): rendered
    once, then served from ``shop.pages``. ``context`` is only called to render it."""
    key = (
        name,
        request.url.path,
        t.locale,
        choice.currency.code,
        choice.country,
        choice.notice,
        tuple(choice.offered),
        *depends_on,
    )

    def render() -> str:
        page_context = {**_page_context(request, shop, t, choice), **context()}
        return shop.templates.get_template(name).render(**page_context, csrf_input=CSRF_FIELD)

    return Response(
        shop.pages.page(key, render, csrf_token({"request": request})),
        media_type=MediaType.HTML,
        cookies=_remember(choice, t.locale),
        headers={"Content-Language": t.locale},
    )


def _check_lang(lang: str) -> None:
    if lang not in LOCALES:
        raise NotFoundException()


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Redirect:
    """Send the buyer to the catalog in their language."""
    return Redirect(f"/{request_locale(request)}/")


@get("/{lang:str}", sync_to_thread=True, cache_control=REVALIDATE)
@transaction
def catalog(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
) -> Response[str]:
    _check_lang(lang)
    choice = buyer_choice(request, shop, enabled, t)
    rates = current_rates(db)
    return shared_page(
        "pages/catalog.html",
        request,
        shop,
        t,
        choice,
        (enabled, rates_key(rates)),
        lambda: {"lines": priced_catalog(enabled, choice.currency, choice.country, rates)},
    )


@get("/{lang:str}/products/{sku:str}", sync_to_thread=True, cache_control=REVALIDATE)
@transaction
def product_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    sku: FromPath[str],
) -> Response[str]:
    _check_lang(lang)
    choice = buyer_choice(request, shop, enabled, t)
    rates = current_rates(db)

    def context() -> dict[str, Any]:
        found = _find(priced_catalog(enabled, choice.currency, choice.country, rates), sku)
        if found is None:
            raise NotFoundException()
        line, item = found
        addons = [p for p in line.products if p.product.sku in item.product.addons]
        return {"line": line, "item": item, "addons": addons}

    return shared_page(
        "pages/product.html", request, shop, t, choice, (enabled, rates_key(rates)), context
    )


def _find(lines: list[PricedLine], sku: str) -> tuple[PricedLine, Any] | None:
    for line in lines:
        for item in line.products:
            if item.product.sku == sku:
                return line, item
    return None
