"""The cancel button (§312k BGB) and the withdrawal button (§356a BGB): linked from every
storefront page's footer, no login. Step 1 asks, step 2 summarises with the final button
("jetzt kündigen" / "Widerruf bestätigen"); the declaration is then recorded and confirmed
by e-mail (``shop.cancellations.service``). The last page says the same for every
declaration, so it tells nobody whether an address or contract is known."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from shop.cancellations.service import (
    CONTRACTS,
    MODES,
    Checked,
    check_cancellation,
    check_withdrawal,
    declare_cancellation,
    declare_withdrawal,
)
from shop.i18n import LOCALES, Translator
from shop.plugins.manager import EnabledPlugins
from shop.web.deps import Db, Enabled, Shop, ShopDep, T, mail_queued
from shop.web.pages import buyer_choice, render_page
from shop.web.transaction import transaction

PAGES = {"cancel": "pages/cancel.html", "withdraw": "pages/withdraw.html"}


def _check_lang(lang: str) -> None:
    if lang not in LOCALES:
        raise NotFoundException()


def _page(
    which: str,
    request: Request[Any, Any, Any],
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    step: str,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    page = render_page(
        PAGES[which],
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        step=step,
        form=form,
        errors=errors or {},
        contracts=CONTRACTS,
        modes=MODES,
        today=shop.clock.today().isoformat(),
        **context,
    )
    page.status_code = status_code
    return page


def _check(which: str, data: dict[str, str], shop: Shop, t: Translator) -> Checked:
    if which == "cancel":
        return check_cancellation(data, shop.clock.today(), t)
    return check_withdrawal(data, t)


def _summary(which: str, checked: Checked, t: Translator) -> dict[str, Any]:
    declaration = checked.declaration
    assert declaration is not None
    return {
        "declaration": declaration,
        "hidden": declaration.as_form(),
        "contract_label": t.gettext(CONTRACTS[declaration.contract])
        if declaration.contract
        else None,
        "mode_label": t.gettext(MODES[declaration.mode]) if declaration.mode else None,
        "wanted_end": t.date(declaration.wanted_end, "long") if declaration.wanted_end else None,
    }


def _form_page(
    which: str,
    request: Request[Any, Any, Any],
    shop: Shop,
    enabled: EnabledPlugins,
    t: T,
    lang: str,
) -> Template:
    _check_lang(lang)
    form = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    return _page(which, request, shop, enabled, t, "form", form)


def _review(
    which: str,
    request: Request[Any, Any, Any],
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    lang: str,
    data: dict[str, str],
) -> Template:
    """Step 2: the declaration summarised above the final button; or the form again with
    a message beside each field at fault."""
    _check_lang(lang)
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    checked = _check(which, form, shop, t)
    if checked.declaration is None:
        return _page(which, request, shop, enabled, t, "form", form, checked.errors, 422)
    return _page(which, request, shop, enabled, t, "confirm", form, **_summary(which, checked, t))


def _submit(
    which: str,
    request: Request[Any, Any, Any],
    db: Db,
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    lang: str,
    data: dict[str, str],
) -> Template:
    _check_lang(lang)
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    checked = _check(which, form, shop, t)
    if form.get("action") == "edit" or checked.declaration is None:
        status = 200 if checked.declaration is not None else 422
        return _page(which, request, shop, enabled, t, "form", form, checked.errors, status)
    now, today = shop.clock.now(), shop.clock.today()
    if which == "cancel":
        received = declare_cancellation(
            db,
            shop.templates,
            shop.plugins.everything,
            shop.settings,
            checked.declaration,
            t.locale,
            now,
            today,
        )
    else:
        received = declare_withdrawal(
            db, shop.templates, shop.settings, checked.declaration, t.locale, now, today
        )
    mail_queued(request)
    return _page(
        which,
        request,
        shop,
        enabled,
        t,
        "done",
        {},
        received=received.received,
        number=received.request.id,
        receipt_email=checked.declaration.receipt_email,
    )


@get("/{lang:str}/cancel", sync_to_thread=True)
@transaction
def cancel_page(
    request: Request[Any, Any, Any], shop: ShopDep, enabled: Enabled, t: T, lang: FromPath[str]
) -> Template:
    """Step 1 of the cancel button: who, which contract, how, until when, where the receipt
    goes."""
    return _form_page("cancel", request, shop, enabled, t, lang)


@post("/{lang:str}/cancel/review", sync_to_thread=True, status_code=200)
@transaction
def cancel_review(
    request: Request[Any, Any, Any],
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    return _review("cancel", request, shop, enabled, t, lang, data)


@post("/{lang:str}/cancel/submit", sync_to_thread=True, status_code=200)
@transaction
def cancel_submit(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    """ "jetzt kündigen": recorded, applied where it identifies a contract, receipt mailed."""
    return _submit("cancel", request, db, shop, enabled, t, lang, data)


@get("/{lang:str}/withdraw", sync_to_thread=True)
@transaction
def withdraw_page(
    request: Request[Any, Any, Any], shop: ShopDep, enabled: Enabled, t: T, lang: FromPath[str]
) -> Template:
    """Step 1 of the withdrawal button: who, which order, where the receipt goes."""
    return _form_page("withdraw", request, shop, enabled, t, lang)


@post("/{lang:str}/withdraw/review", sync_to_thread=True, status_code=200)
@transaction
def withdraw_review(
    request: Request[Any, Any, Any],
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    return _review("withdraw", request, shop, enabled, t, lang, data)


@post("/{lang:str}/withdraw/submit", sync_to_thread=True, status_code=200)
@transaction
def withdraw_submit(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    """ "Widerruf bestätigen": recorded, flagged for the operator, receipt mailed."""
    return _submit("withdraw", request, db, shop, enabled, t, lang, data)


ROUTES = [
    cancel_page,
    cancel_review,
    cancel_submit,
    withdraw_page,
    withdraw_review,
    withdraw_submit,
]
