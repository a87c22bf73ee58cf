"""An address belongs to its owner (R1): trial keys and release links go only there.

``POST /{lang}/address/release`` (the checkout's offer after a ``licence_exists``
refusal) and ``POST /api/v1/address-release`` mail a release link when an unpaid order
holds the address and answer the same either way; ``GET /{lang}/address/release/{token}``
cancels the unpaid order(s) holding it; ``GET /{lang}/trial/{token}`` shows a trial's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, URLEncodedBody
from litestar.response import Template

from shop.catalog.products import N_
from shop.licences.address import confirm_trial, release_address, request_release
from shop.payments.closing import close_after_cancel
from shop.web.api.schemas import (
    RATE_LIMITED,
    AddressReleaseAnswer,
    AddressReleaseRequest,
    answers,
)
from shop.web.deps import Db, Enabled, Shop, ShopDep, T, mail_queued
from shop.web.pages import buyer_choice, render_page
from shop.web.transaction import transaction

CANCELLED_TOKENS = "released_order_tokens"
LINK_GONE = N_("This link has expired or was used already. You can ask for a new one at checkout.")


@post(
    "/api/v1/address-release",
    sync_to_thread=True,
    status_code=202,
    tags=["orders"],
    responses=answers(202, AddressReleaseAnswer, **RATE_LIMITED),
)
@transaction
def request_release_api(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    t: T,
    data: Annotated[
        AddressReleaseRequest, Body(examples=[Example(value={"email": "anna@example.nl"})])
    ],
) -> dict[str, Any]:
    """Mail the address a link that cancels an unpaid order holding it (one the owner did
    not place). 202 always: whether the address holds anything is told only to it."""
    request_release(db, shop.templates, shop.settings, data.email, t.locale, shop.clock.now())
    mail_queued(request)
    return {"status": "accepted"}


@post("/{lang:str}/address/release", sync_to_thread=True, status_code=200)
@transaction
def request_release_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    email = (data.get("email") or "").strip()
    request_release(db, shop.templates, shop.settings, email, t.locale, shop.clock.now())
    mail_queued(request)
    return render_page(
        "pages/address_release.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        requested=True,
        email=email,
    )


def close_released_payments(answer: Template, kwargs: dict[str, Any]) -> Template:
    """After the commit: the cancelled orders' card or PayPal payments closed too."""
    shop: Shop = kwargs["shop"]
    methods = shop.plugins.everything.payment_methods
    for token in kwargs["request"].scope.get(CANCELLED_TOKENS, ()):
        close_after_cancel(shop.engine, methods, shop.settings, shop.clock.now(), token)
    return answer


@get("/{lang:str}/address/release/{token:str}", sync_to_thread=True)
@transaction
def release_confirm_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """The link from the mail: one button (a mail scanner's fetch changes nothing)."""
    return render_page(
        "pages/address_release.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        confirm=f"/{t.locale}/address/release/{token}/confirm",
    )


@post("/{lang:str}/address/release/{token:str}/confirm", sync_to_thread=True, status_code=200)
@transaction(after_commit=close_released_payments)
def release_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """Following a release link: the unpaid orders holding the address are cancelled."""
    cancelled = release_address(db, token, shop.clock.now())
    request.scope[CANCELLED_TOKENS] = [o.token for o in cancelled or []]  # type: ignore[literal-required]
    page = render_page(
        "pages/address_release.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        requested=False,
        cancelled=[o.number for o in cancelled] if cancelled is not None else None,
    )
    page.status_code = 200 if cancelled is not None else 410
    return page


@get("/{lang:str}/trial/{token:str}", sync_to_thread=True)
@transaction
def trial_confirm_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """The link from the trial's mail: one button that shows the key."""
    return render_page(
        "pages/trial.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        licence=None,
        confirm=f"/{t.locale}/trial/{token}/key",
        product=None,
    )


@post("/{lang:str}/trial/{token:str}/key", sync_to_thread=True, status_code=200)
@transaction
def trial_key_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """Following a trial's link: its key, once."""
    licence = confirm_trial(db, token, shop.clock.now())
    page = render_page(
        "pages/trial.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        licence=licence,
        sent=False,
        error=None if licence else t.gettext(LINK_GONE),
        product=None,
    )
    page.status_code = 200 if licence else 410
    return page
