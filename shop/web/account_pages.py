"""The customer's account (R35): log in by a one-time link mailed to the address, then
see the licences, subscriptions, orders, quotes and invoices visible to that address.

``POST /api/v1/account/login-link`` and ``POST /{lang}/login`` mail the link and answer
the same whether or not the address is known; ``GET /{lang}/account/login/{token}`` shows
one button (a mail scanner's fetch changes nothing) whose ``POST`` logs in. Any id the
customer may not see answers 404, like an unknown one.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from shop.accounts.contacts import (
    ROLE_LABELS,
    ContactRole,
    add_contact,
    claim_primary,
    contacts_of,
    remove_contact,
)
from shop.accounts.data_export import export_filename, export_json
from shop.accounts.email_change import confirm_email_change, request_email_change
from shop.accounts.login import CUSTOMER, request_login_link, use_login_link
from shop.accounts.visibility import (
    licence_for,
    not_visible,
    order_for,
    subscription_for,
    visible_licences,
    visible_orders,
    visible_subscriptions,
)
from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.documents.einvoice import render_document
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.activations import (
    CUSTOMER as BY_CUSTOMER,
)
from shop.licences.activations import (
    activations_of,
    deactivate,
    instance_limit,
    live_activation_of,
)
from shop.licences.models import LicenceStatus
from shop.money import Money
from shop.orders.credit_notes import credit_note_reference, credit_notes_of
from shop.orders.documents import (
    PDF,
    XML,
    credit_note_document,
    credit_note_filename,
    credit_note_of,
    document_filename,
    has_xrechnung,
    order_document,
    xrechnung_document,
    xrechnung_filename,
    xrechnung_xml,
)
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order, OrderStatus
from shop.orders.numbers import invoice_reference, quote_reference
from shop.orders.payments import order_lines
from shop.payments.closing import close_after_cancel
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.service import next_renewal_total
from shop.web.api.schemas import RATE_LIMITED, LoginLinkAnswer, LoginLinkRequest, answers
from shop.web.checkout_pages import STATUS_LABELS as ORDER_STATUS
from shop.web.deps import Db, Enabled, ShopDep, T, mail_queued
from shop.web.pages import buyer_choice, render_page
from shop.web.subscription_pages import STATUS_LABELS as SUBSCRIPTION_STATUS
from shop.web.transaction import transaction

LINK_GONE = N_("This login link has expired or was used already. Ask for a new one below.")
EMAIL_LINK_GONE = N_(
    "This link has expired or was used already. Ask for a new one in your account."
)
LICENCE_STATUS = {
    LicenceStatus.PENDING: N_("Awaiting payment"),
    LicenceStatus.TRIAL: N_("Trial"),
    LicenceStatus.ACTIVE: N_("Active"),
    LicenceStatus.EXPIRED: N_("Expired"),
}
OPEN = (OrderStatus.PENDING, OrderStatus.QUOTE)


def customer_of(request: Request[Any, Any, Any]) -> str | None:
    """The logged-in customer's normalised address, or None."""
    value = request.session.get(CUSTOMER) if request.session else None
    return value if isinstance(value, str) and value else None


def to_login(lang: str) -> Redirect:
    return Redirect(f"/{lang}/login")


@post(
    "/api/v1/account/login-link",
    sync_to_thread=True,
    status_code=202,
    tags=["account"],
    responses=answers(202, LoginLinkAnswer, **RATE_LIMITED),
)
@transaction
def request_login_link_api(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    t: T,
    data: Annotated[LoginLinkRequest, Body(examples=[Example(value={"email": "anna@example.nl"})])],
) -> dict[str, Any]:
    """Mail a one-time login link to the address if it has a licence or an order here.
    202 always: whether the address is known is told only to it."""
    request_login_link(db, shop.templates, shop.settings, data.email, t.locale, shop.clock.now())
    mail_queued(request)
    return {"status": "accepted"}


def _login_page(
    request: Request[Any, Any, Any],
    shop: Any,
    enabled: EnabledPlugins,
    t: Translator,
    **context: Any,
) -> Template:
    values: dict[str, Any] = {"sent": False, "email": "", "error": None, "confirm": None}
    values.update(context)
    return render_page(
        "pages/login.html", request, shop, t, buyer_choice(request, shop, enabled, t), **values
    )


@get("/{lang:str}/login")
async def login_page(request: Request[Any, Any, Any], shop: ShopDep, t: T) -> Template:
    """The form. (Async, reading the enabled plugins on a thread: a sync handler sharing its
    path with the POST would be registered, and so wrapped for a thread, twice.)"""
    enabled = await sync_to_thread(shop.enabled_now)
    return _login_page(request, shop, enabled, t)


@post("/{lang:str}/login", sync_to_thread=True, status_code=200)
@transaction
def login_submit(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    """Mail the link, or say what is wrong with the address; the same answer for an
    address the shop knows and one it does not."""
    email = (data.get("email") or "").strip()
    try:
        with db.begin_nested():
            request_login_link(db, shop.templates, shop.settings, email, t.locale, shop.clock.now())
    except ShopError as problem:
        page = _login_page(
            request,
            shop,
            enabled,
            t,
            email=email,
            error=t.gettext(problem.detail, **problem.params),
        )
        page.status_code = 422
        return page
    mail_queued(request)
    return _login_page(request, shop, enabled, t, sent=True, email=email)


@get("/{lang:str}/account/login/{token:str}", sync_to_thread=True)
@transaction
def login_link_page(
    request: Request[Any, Any, Any],
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """The link from the mail: one button that logs in."""
    return _login_page(request, shop, enabled, t, confirm=f"/{t.locale}/account/login/{token}/use")


@post("/{lang:str}/account/login/{token:str}/use", sync_to_thread=True, status_code=200)
@transaction
def login_link_use(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Redirect | Template:
    email = use_login_link(db, token, shop.clock.now())
    if email is None:
        page = _login_page(request, shop, enabled, t, error=t.gettext(LINK_GONE))
        page.status_code = 410
        return page
    request.set_session({**(request.session or {}), CUSTOMER: email})
    return Redirect(f"/{lang}/account")


@post("/{lang:str}/logout", sync_to_thread=False)
def logout(request: Request[Any, Any, Any], lang: FromPath[str]) -> Redirect:
    session = dict(request.session or {})
    session.pop(CUSTOMER, None)
    request.set_session(session)
    return Redirect(f"/{lang}/")


def _order_row(order: Order, t: Translator) -> dict[str, Any]:
    return {
        "order": order,
        "number": order.number,
        "quote_number": quote_reference(order),
        "invoice_number": invoice_reference(order),
        "status": t.gettext(ORDER_STATUS[OrderStatus(order.status)]),
        "total": t.money(Money.of(order.total, order.currency)),
        "is_open": order.status in OPEN,
        "has_document": order.quote_number is not None or order.invoice_number is not None,
        "has_xrechnung": has_xrechnung(order),
    }


def _overview(
    db: Session, shop: Any, enabled: EnabledPlugins, email: str, t: Translator
) -> dict[str, Any]:
    licences = []
    shown = visible_licences(db, email)
    instances = activations_of(db, [licence.id for licence in shown if licence.id is not None])
    for licence in shown:
        contacts = contacts_of(db, licence)
        product = enabled.products.get(licence.product) or shop.plugins.everything.products.get(
            licence.product
        )
        licences.append(
            {
                # The instances of the software using it (issue 14), with "deactivate".
                "instances": instances.get(licence.id or 0, []),
                "instance_limit": instance_limit(licence, product),
                "licence": licence,
                "status": t.gettext(LICENCE_STATUS.get(LicenceStatus(licence.status), "")),
                "product": product,
                "is_licensee": licence.email == email,
                "contacts": contacts,
                "primary": next((c.email for c in contacts if c.is_primary), None),
                "is_contact": any(c.email == email for c in contacts),
            }
        )
    rates = current_rates(db)
    subscriptions = []
    for subscription in visible_subscriptions(db, email):
        renewal = next_renewal_total(enabled, subscription, rates)
        subscriptions.append(
            {
                "subscription": subscription,
                "status": t.gettext(
                    SUBSCRIPTION_STATUS.get(subscription.status, subscription.status)
                ),
                "next_renewal": t.money(renewal) if renewal is not None else None,
            }
        )
    return {
        "customer": email,
        "licences": licences,
        "subscriptions": subscriptions,
        "orders": [_order_row(order, t) for order in visible_orders(db, email)],
        "roles": [(role.value, t.gettext(ROLE_LABELS[role])) for role in ContactRole],
    }


@get("/{lang:str}/account", sync_to_thread=True)
@transaction
def account_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
) -> Redirect | Template:
    """Licences with their keys, subscriptions, and orders, quotes and invoices."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    return render_page(
        "pages/account.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        error=None,
        **_overview(db, shop, enabled, email, t),
    )


@post("/{lang:str}/account/email", sync_to_thread=True, status_code=200)
@transaction
def email_change_request(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect | Template:
    """R2: the new address gets a link; the change happens only once it is followed."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    context: dict[str, Any] = {"error": None}
    try:
        with db.begin_nested():
            context["email_sent"] = request_email_change(
                db,
                shop.templates,
                shop.settings,
                email,
                data.get("email", ""),
                t.locale,
                shop.clock.now(),
            )
        mail_queued(request)
    except ShopError as error:
        context["email_error"] = t.gettext(error.detail, **error.params)
    page = render_page(
        "pages/account.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        **context,
        **_overview(db, shop, enabled, email, t),
    )
    page.status_code = 422 if "email_error" in context else 200
    return page


@get("/{lang:str}/account/email/{token:str}", sync_to_thread=True)
@transaction
def email_change_page(
    request: Request[Any, Any, Any],
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """The link from the new address's mail: one button (a mail scanner opening the link
    does not use it up)."""
    return render_page(
        "pages/account_email.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        confirm=f"/{t.locale}/account/email/{token}/use",
        error=None,
    )


@post("/{lang:str}/account/email/{token:str}/use", sync_to_thread=True, status_code=200)
@transaction
def email_change_use(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Redirect | Template:
    try:
        with db.begin_nested():
            email = confirm_email_change(db, shop.settings, token, shop.clock.now())
    except ShopError as error:  # the new address took a licence meanwhile (R1)
        problem: str | None = t.gettext(error.detail, **error.params)
        email = None
    else:
        problem = None if email else t.gettext(EMAIL_LINK_GONE)
    if email is None:
        page = render_page(
            "pages/account_email.html",
            request,
            shop,
            t,
            buyer_choice(request, shop, enabled, t),
            confirm=None,
            error=problem,
        )
        page.status_code = 410 if problem == t.gettext(EMAIL_LINK_GONE) else 409
        return page
    request.set_session({**(request.session or {}), CUSTOMER: email})
    return Redirect(f"/{lang}/account")


@get("/{lang:str}/account/licences/{licence_id:int}/key.txt", sync_to_thread=True)
@transaction
def licence_key_file(
    request: Request[Any, Any, Any], db: Db, lang: FromPath[str], licence_id: FromPath[int]
) -> Redirect | Response[str]:
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    licence = licence_for(db, email, licence_id)
    if not licence.key:
        raise not_visible()
    return Response(
        licence.key + "\n",
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="licence-{licence.id}.txt"'},
    )


@get("/{lang:str}/account/export.json", sync_to_thread=True)
@transaction
def account_export(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, lang: FromPath[str]
) -> Redirect | Response[bytes]:
    """The customer's own data as JSON (Art. 15, 20 GDPR), as a download."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    now = shop.clock.now()
    return Response(
        export_json(db, email, now, shop.plugins.everything),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(now)}"',
            "Cache-Control": "no-store",
        },
    )


@get("/{lang:str}/account/subscriptions/{subscription_id:int}", sync_to_thread=True)
@transaction
def account_subscription(
    request: Request[Any, Any, Any], db: Db, lang: FromPath[str], subscription_id: FromPath[int]
) -> Redirect:
    """The subscription's own page (Upgrade or Downgrade, cancel), if it is visible."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    subscription = subscription_for(db, email, subscription_id)
    return Redirect(f"/{lang}/subscriptions/{subscription.token}")


@get("/{lang:str}/account/orders/{number:int}", sync_to_thread=True)
@transaction
def account_order(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    number: FromPath[int],
) -> Redirect | Template:
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = order_for(db, email, number)
    return render_page(
        "pages/account_order.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        lines=order_lines(db, order),
        money=lambda amount: Money.of(amount, order.currency),
        credit_notes=[
            (note, credit_note_reference(note), t.money(Money.of(-note.amount, note.currency)))
            for note in credit_notes_of(db, order)
        ],
        error=None,
        **_order_row(order, t),
    )


@get("/{lang:str}/account/orders/{number:int}/document.pdf", sync_to_thread=True)
@transaction
def account_order_document(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    lang: FromPath[str],
    number: FromPath[int],
) -> Redirect | Response[bytes]:
    """The quote or invoice as PDF, in the order's language and currency (R9)."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = order_for(db, email, number)
    if order.quote_number is None and order.invoice_number is None:
        raise not_visible()
    order_t = Translator.for_settings(shop.settings, order.locale)
    document = order_document(db, order, enabled, shop.settings, order_t)
    filename = document_filename(order, order_t)
    db.commit()  # drawn once the read has ended: on SQLite a transaction holds the write lock
    return Response(
        render_document(document, order_t),  # an invoice is a Factur-X PDF
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@get(
    "/{lang:str}/account/orders/{number:int}/credit-notes/{note:int}/document.pdf",
    sync_to_thread=True,
)
@transaction
def account_credit_note(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    lang: FromPath[str],
    number: FromPath[int],
    note: FromPath[int],
) -> Redirect | Response[bytes]:
    """A credit note of a visible order, in the order's language; 404 otherwise (R35)."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = order_for(db, email, number)
    credit_note = credit_note_of(db, order, note)
    if credit_note is None:
        raise not_visible()
    order_t = Translator.for_settings(shop.settings, order.locale)
    document = credit_note_document(db, credit_note, order, enabled, shop.settings, order_t)
    filename = credit_note_filename(credit_note, order_t)
    db.commit()
    return Response(
        render_document(document, order_t),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@get("/{lang:str}/account/orders/{number:int}/xrechnung.xml", sync_to_thread=True)
@transaction
def account_order_xrechnung(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    lang: FromPath[str],
    number: FromPath[int],
) -> Redirect | Response[bytes]:
    """A business buyer's invoice as XRechnung (CII XML); 404 for anything else (R35)."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = order_for(db, email, number)
    if not has_xrechnung(order):
        raise not_visible()
    document = xrechnung_document(db, order, enabled, shop.settings)
    filename = xrechnung_filename(order)
    db.commit()
    return Response(
        xrechnung_xml(document),
        media_type=XML,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _open_quote(db: Session, email: str, number: int) -> Order:
    order = order_for(db, email, number)
    if order.status != OrderStatus.QUOTE:
        raise ShopError(409, "order_not_cancellable", N_("Only an open quote can be changed."))
    return order


@post("/{lang:str}/account/orders/{number:int}/po-number", sync_to_thread=True)
@transaction
def account_po_number(
    request: Request[Any, Any, Any],
    db: Db,
    lang: FromPath[str],
    number: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    """An open quote's purchase order number, as the buyer's accounts department wants it."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = _open_quote(db, email, number)
    value = " ".join((data.get("po_number") or "").split())[:100]
    order.po_number = value or None
    db.add(order)
    return Redirect(f"/{lang}/account/orders/{number}")


CANCELLED = "account_cancelled_token"


def _close_quote_payment(answer: Redirect, kwargs: dict[str, Any]) -> Redirect:
    """After the commit: a card or PayPal payment of the cancelled quote closed too."""
    token = kwargs["request"].scope.get(CANCELLED)
    if token:
        shop = kwargs["shop"]
        methods = shop.plugins.everything.payment_methods
        close_after_cancel(shop.engine, methods, shop.settings, shop.clock.now(), token)
    return answer


@post("/{lang:str}/account/orders/{number:int}/cancel", sync_to_thread=True)
@transaction(after_commit=_close_quote_payment)
def account_quote_cancel(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    lang: FromPath[str],
    number: FromPath[int],
) -> Redirect:
    """Delete an open quote: it is cancelled (its number stays, gapless, R8)."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    order = _open_quote(db, email, number)
    cancel_order(db, order, shop.clock.now())
    request.scope[CANCELLED] = order.token  # type: ignore[literal-required]
    return Redirect(f"/{lang}/account/orders/{number}")


def _contact_change(
    request: Request[Any, Any, Any],
    db: Session,
    shop: Any,
    enabled: EnabledPlugins,
    t: Translator,
    lang: str,
    licence_id: int,
    change: Any,
) -> Redirect | Template:
    """Run ``change(licence, email)`` for a licence the customer sees; a refusal shows on
    the account page."""
    email = customer_of(request)
    if email is None:
        return to_login(lang)
    licence = licence_for(db, email, licence_id)
    try:
        with db.begin_nested():
            change(licence, email)
    except ShopError as problem:
        if problem.status == 404:
            raise
        page = render_page(
            "pages/account.html",
            request,
            shop,
            t,
            buyer_choice(request, shop, enabled, t),
            error=t.gettext(problem.detail, **problem.params),
            **_overview(db, shop, enabled, email, t),
        )
        page.status_code = problem.status
        return page
    return Redirect(f"/{lang}/account")


@post("/{lang:str}/account/licences/{licence_id:int}/contacts", sync_to_thread=True)
@transaction
def contact_add(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    licence_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect | Template:
    """The licensee or a contact adds a billing or technical contact."""
    now = shop.clock.now()
    return _contact_change(
        request,
        db,
        shop,
        enabled,
        t,
        lang,
        licence_id,
        lambda licence, _email: add_contact(
            db, licence, data.get("email"), data.get("role", ""), now
        ),
    )


@post(
    "/{lang:str}/account/licences/{licence_id:int}/contacts/{contact_id:int}/remove",
    sync_to_thread=True,
)
@transaction
def contact_remove(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    licence_id: FromPath[int],
    contact_id: FromPath[int],
) -> Redirect | Template:
    """The licensee or a contact removes a contact (themselves too)."""
    return _contact_change(
        request,
        db,
        shop,
        enabled,
        t,
        lang,
        licence_id,
        lambda licence, _email: remove_contact(db, licence, contact_id),
    )


@post("/{lang:str}/account/licences/{licence_id:int}/primary", sync_to_thread=True)
@transaction
def contact_claim_primary(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    licence_id: FromPath[int],
) -> Redirect | Template:
    """A contact becomes the primary contact; the previous one stays, as secondary."""
    return _contact_change(
        request,
        db,
        shop,
        enabled,
        t,
        lang,
        licence_id,
        lambda licence, email: claim_primary(db, licence, email),
    )


@post(
    "/{lang:str}/account/licences/{licence_id:int}/activations/{activation_id:int}/deactivate",
    sync_to_thread=True,
)
@transaction
def activation_deactivate(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    licence_id: FromPath[int],
    activation_id: FromPath[int],
) -> Redirect | Template:
    """Free an instance's slot, e.g. before installing on a new server (issue 14)."""
    now = shop.clock.now()
    return _contact_change(
        request,
        db,
        shop,
        enabled,
        t,
        lang,
        licence_id,
        lambda licence, email: deactivate(
            db, live_activation_of(db, licence.id, activation_id), BY_CUSTOMER, now, email
        ),
    )


ROUTES = [
    request_login_link_api,
    login_page,
    login_submit,
    login_link_page,
    login_link_use,
    logout,
    account_page,
    email_change_request,
    email_change_page,
    email_change_use,
    licence_key_file,
    account_export,
    account_subscription,
    account_order,
    account_order_document,
    account_credit_note,
    account_order_xrechnung,
    account_po_number,
    account_quote_cancel,
    contact_add,
    contact_remove,
    contact_claim_primary,
    activation_deactivate,
]
