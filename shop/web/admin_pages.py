"""The operator's back office at /admin: its own login (argon2, optional TOTP), then the
dashboard, orders with payments received, plugins and the import. Thin handlers: each
parses, calls the domain the API calls too, and renders in the operator's language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session, col, or_, select

from shop.accounts.erasure import ErasureReport, erase_customer, has_data, preview_erasure
from shop.backoffice import dashboard
from shop.backoffice.operators import OperatorAccount, authenticate, operator_by_id
from shop.cancellations.service import OUTCOME_LABELS, mark_handled, open_requests, shop_time
from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.documents.einvoice import render_document
from shop.errors import ShopError
from shop.i18n import LOCALES, Translator
from shop.licences.activations import (
    ACTION_LABELS,
    ACTOR_LABELS,
    activations_of,
    deactivate,
    events_of,
    live_activation_of,
)
from shop.licences.activations import OPERATOR as BY_OPERATOR
from shop.licences.coterm_review import decide_review, review_request
from shop.licences.email_change import change_licence_email
from shop.licences.models import Licence, normalise_email
from shop.mail import list_outbox
from shop.mail.outbox import OutboxMessage
from shop.money import Money
from shop.orders.attention import REASONS, resolve_flag
from shop.orders.consents import statements_of
from shop.orders.credit_notes import (
    correct_invoice,
    credit_note_reference,
    credit_notes_of,
    reason_text,
)
from shop.orders.documents import (
    PDF,
    XML,
    billing_lines,
    credit_note_document,
    credit_note_filename,
    credit_note_of,
    has_xrechnung,
    xrechnung_document,
    xrechnung_filename,
    xrechnung_xml,
)
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order, OrderNote, OrderStatus, ProviderEvent
from shop.orders.notifications import notify_review
from shop.orders.numbers import invoice_reference, quote_reference
from shop.orders.payments import order_lines, outstanding, parse_amount, payments_of
from shop.orders.review import waiting_for_review
from shop.payments.closing import close_after_cancel
from shop.plugins.settings import shown
from shop.plugins.state import EssentialPlugin, enabled_names, set_enabled
from shop.subscriptions.imports import describe, import_csv
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.service import events as subscription_events
from shop.web.api.admin import save_rate
from shop.web.api.admin_orders import order_by_number, receive_payment
from shop.web.api.admin_reviews import parse_decision
from shop.web.checkout_pages import STATUS_LABELS
from shop.web.deps import Db, Enabled, Shop, ShopDep, mail_queued, request_locale
from shop.web.transaction import transaction

SESSION_KEY = "operator"
PALETTE = ("#2b5f8a", "#b0602a", "#5a7d2a", "#7a3f8c")
LOGIN_FAILED = N_("E-mail, password or code is wrong.")


class LoginRequired(Exception):
    """No operator session: every back-office page but the login sends the browser there."""


def operator_session(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.session.get(SESSION_KEY), int):
        raise LoginRequired


def to_login(_request: Request[Any, Any, Any], _exc: LoginRequired) -> Response[Any]:
    return Redirect("/admin/login", status_code=303)


def current_operator(db: Session, request: Request[Any, Any, Any]) -> OperatorAccount:
    operator = operator_by_id(db, request.session.get(SESSION_KEY))
    if operator is None:  # removed since the login
        request.clear_session()
        raise LoginRequired
    return operator


def admin_page(
    name: str,
    shop: Shop,
    t: Translator,
    operator: OperatorAccount | None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return Template(
        name,
        status_code=status_code,
        context={
            "t": t,
            "lang": t.locale,
            "shop_name": shop.settings.shop_name,
            "test_mode": shop.settings.payments_test_mode,
            "operator": operator,
            # Pages plugins bring are linked while the plugin is on.
            "plugin_on": shop.enabled_now().has,
            # Numbers as the operator writes them ("150,25" in German), no stored zeros.
            "number": lambda value: format_decimal(value, format="#,##0.######", locale=t.locale),
            **context,
        },
        headers={"Content-Language": t.locale, "Cache-Control": "no-store"},
    )


def local_number(text: str, t: Translator) -> str:
    """An amount as the operator types it ("1.234,50" in German) as a plain decimal."""
    try:
        return str(parse_decimal(text.strip(), locale=t.locale, strict=True))
    except NumberFormatError:
        return text.strip()  # parse_amount names what is wrong with it


def translator_of(shop: Shop, operator: OperatorAccount) -> Translator:
    """The back office speaks the operator's own language."""
    return Translator.for_settings(shop.settings, operator.locale)


@get("/login", sync_to_thread=True)
def login_page(request: Request[Any, Any, Any], shop: ShopDep) -> Template:
    t = Translator.for_settings(shop.settings, request_locale(request))
    return admin_page("admin/login.html", shop, t, None, error=None, email="")


@post("/login", sync_to_thread=True, status_code=200)
@transaction
def login_submit(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    """The same answer for a wrong address, password or code; the rate limit (operator_login)
    stops guessing."""
    now = shop.clock.now()
    operator = authenticate(
        db, data.get("email", ""), data.get("password", ""), data.get("code", ""), now
    )
    if operator is None:
        t = Translator.for_settings(shop.settings, request_locale(request))
        return admin_page(
            "admin/login.html",
            shop,
            t,
            None,
            error=t.gettext(LOGIN_FAILED),
            email=data.get("email", "")[:320],
        )
    operator.last_login_at = now
    db.add(operator)
    request.set_session({SESSION_KEY: operator.id})
    return Redirect("/admin", status_code=303)


@post("/logout", sync_to_thread=True, guards=[operator_session])
def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/admin/login", status_code=303)


@post("/language", sync_to_thread=True, guards=[operator_session])
@transaction
def choose_language(
    request: Request[Any, Any, Any], db: Db, data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    """Each operator chooses the back office's language for themselves (R34)."""
    operator = current_operator(db, request)
    if data.get("locale") in LOCALES:
        operator.locale = data["locale"]
        db.add(operator)
    return Redirect(request.headers.get("referer") or "/admin", status_code=303)


@get("/", sync_to_thread=True, guards=[operator_session])
@transaction
def dashboard_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    today = shop.clock.today()
    months = dashboard.months_back(today, 12)
    rows = dashboard.monthly_revenue(db, months, ZoneInfo(shop.settings.timezone))
    return admin_page(
        "admin/dashboard.html",
        shop,
        t,
        operator,
        months=months,
        rows=rows,
        bars=dashboard.bars(rows, months, width=720, height=200),
        colours=dict(zip(sorted({r.currency for r in rows}), PALETTE * 4, strict=False)),
        money=lambda amount, currency: t.money(Money.of(amount, currency)),
        open_quotes=dashboard.open_quotes(db),
        by_status=dashboard.subscriptions_by_status(db),
        renewals_due=dashboard.renewals_due(db, today),
    )


@get("/orders", sync_to_thread=True, guards=[operator_session])
@transaction
def orders_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Orders, newest first: search by number, e-mail or name; filter by status or flag."""
    operator = current_operator(db, request)
    query = request.query_params.get("q", "").strip()[:200]
    status = request.query_params.get("status", "")
    flagged = request.query_params.get("needs_action") == "1"
    statement = select(Order).order_by(col(Order.number).desc()).limit(200)
    if query:
        match = [col(Order.email).contains(normalise_email(query)), col(Order.name).contains(query)]
        if query.isdigit():
            match.append(col(Order.number) == int(query))
        statement = statement.where(or_(*match))
    if status in {s.value for s in OrderStatus}:
        statement = statement.where(Order.status == status)
    if flagged:
        statement = statement.where(col(Order.needs_action).is_not(None))
    t = translator_of(shop, operator)
    return admin_page(
        "admin/orders.html",
        shop,
        t,
        operator,
        orders=db.exec(statement).all(),
        q=query,
        status=status,
        flagged=flagged,
        statuses=STATUS_LABELS,
        money=lambda o: t.money(Money.of(o.total, o.currency)),
    )


def _order_context(db: Session, shop: Shop, t: Translator, order: Order) -> dict[str, Any]:
    notes = db.exec(select(OrderNote).where(OrderNote.order_id == order.id)).all()
    events = db.exec(
        select(ProviderEvent)
        .where(ProviderEvent.order_number == order.number)
        .order_by(col(ProviderEvent.id))
    ).all()
    return {
        "order": order,
        "lines": order_lines(db, order),
        "payments": payments_of(db, order),
        "events": events,
        "notes": notes,
        "mails": list_outbox(db, to=order.email, limit=20),
        "licence": db.get(Licence, order.licence_id) if order.licence_id else None,
        "due": outstanding(order),
        "status_label": STATUS_LABELS[OrderStatus(order.status)],
        "quote_number": quote_reference(order),
        "invoice_number": invoice_reference(order),
        "has_xrechnung": has_xrechnung(order),
        "attention": REASONS.get(order.needs_action or ""),
        "address": billing_lines(order),
        "statements": statements_of(db, order),
        "money": lambda amount: t.money(Money.of(amount, order.currency)),
        "credit_notes": [
            (note, credit_note_reference(note), reason_text(note))
            for note in credit_notes_of(db, order)
        ],
        "creditable": order.status == OrderStatus.PAID
        and order.invoice_number is not None
        and not credit_notes_of(db, order),
        "payment_error": None,
        "resolve_error": None,
        "credit_error": None,
        "form": {},
    }


@get("/orders/{number:int}", sync_to_thread=True, guards=[operator_session])
@transaction
def order_detail(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, number: FromPath[int]
) -> Template:
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    order = order_by_number(db, number)
    return admin_page("admin/order.html", shop, t, operator, **_order_context(db, shop, t, order))


@get("/orders/{number:int}/xrechnung.xml", sync_to_thread=True, guards=[operator_session])
@transaction
def order_xrechnung(
    db: Db, shop: ShopDep, enabled: Enabled, number: FromPath[int]
) -> Response[bytes]:
    """A business buyer's invoice as XRechnung (CII XML), as the buyer downloads it."""
    order = order_by_number(db, number)
    if not has_xrechnung(order):
        raise ShopError(404, "not_found", N_("This order has no e-invoice."))
    document = xrechnung_document(db, order, enabled, shop.settings)
    filename = xrechnung_filename(order)
    db.commit()
    return Response(
        xrechnung_xml(document),
        media_type=XML,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post("/orders/{number:int}/payments", sync_to_thread=True, guards=[operator_session])
@transaction
def order_payment(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    number: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """A bank transfer or cheque received (partial allowed); paid in full, the order's
    licence is issued and the buyer mailed, as through the API."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    order = order_by_number(db, number)
    try:
        with db.begin_nested():
            changed = receive_payment(
                db,
                shop,
                enabled,
                order,
                amount=parse_amount(local_number(data.get("amount", ""), t), order.currency),
                currency=order.currency,
                method=data.get("method") or order.payment_method,
                reference=data.get("reference", "").strip()[:200] or None,
                operator=operator.email,
                accept_overpayment=data.get("accept_overpayment") == "1",
            )
    except ShopError as error:
        db.refresh(order)
        context = _order_context(db, shop, t, order)
        context.update(payment_error=t.gettext(error.detail, **error.params), form=data)
        return admin_page("admin/order.html", shop, t, operator, status_code=422, **context)
    if changed:
        mail_queued(request)
    return Redirect(f"/admin/orders/{number}", status_code=303)


def _close_cancelled(answer: Redirect, kwargs: dict[str, Any]) -> Redirect:
    """After the cancel's commit: its card or PayPal payment cancelled at the provider."""
    shop: Shop = kwargs["shop"]
    with Session(shop.engine) as session:
        token = session.exec(select(Order.token).where(Order.number == kwargs["number"])).first()
    if token:
        methods = shop.plugins.everything.payment_methods
        close_after_cancel(shop.engine, methods, shop.settings, shop.clock.now(), token)
    return answer


@post("/orders/{number:int}/cancel", sync_to_thread=True, guards=[operator_session])
@transaction(after_commit=_close_cancelled)
def order_cancel(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, number: FromPath[int]
) -> Redirect:
    current_operator(db, request)
    cancel_order(db, order_by_number(db, number), shop.clock.now())
    return Redirect(f"/admin/orders/{number}", status_code=303)


@get("/licences", sync_to_thread=True, guards=[operator_session])
@transaction
def licences_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Licences by e-mail, each with the operator's change of its address (R2)."""
    operator = current_operator(db, request)
    query = request.query_params.get("q", "").strip()[:320]
    statement = select(Licence).order_by(col(Licence.id).desc()).limit(200)
    if query:
        statement = statement.where(col(Licence.email).contains(normalise_email(query)))
    licences = list(db.exec(statement).all())
    t = translator_of(shop, operator)
    return admin_page(
        "admin/licences.html",
        shop,
        t,
        operator,
        licences=licences,
        q=query,
        error=None,
        failed_id=None,
        **_instances(db, licences, t),
    )


def _instances(db: Session, licences: list[Licence], t: Translator) -> dict[str, Any]:
    """Each licence's live instances and its latest activation events (issue 14)."""
    ids = [licence.id for licence in licences if licence.id is not None]
    return {
        "instances": activations_of(db, ids),
        "activation_events": {i: events_of(db, i, limit=10) for i in ids},
        "event_labels": {k: t.gettext(v) for k, v in ACTION_LABELS.items()},
        "actor_labels": {k: t.gettext(v) for k, v in ACTOR_LABELS.items()},
    }


@post(
    "/licences/{licence_id:int}/activations/{activation_id:int}/deactivate",
    sync_to_thread=True,
    guards=[operator_session],
)
@transaction
def licence_activation_free(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    licence_id: FromPath[int],
    activation_id: FromPath[int],
) -> Redirect:
    """The operator frees an instance's slot (a server the customer cannot reach any more)."""
    operator = current_operator(db, request)
    licence = db.get(Licence, licence_id)
    if licence is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    activation = live_activation_of(db, licence_id, activation_id)
    deactivate(db, activation, BY_OPERATOR, shop.clock.now(), operator.email)
    return Redirect(f"/admin/licences?q={licence.email}", status_code=303)


@post("/licences/{licence_id:int}/email", sync_to_thread=True, guards=[operator_session])
@transaction
def licence_email(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    licence_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """R2: the licence moves to another address, its subscriptions with it, with a new key;
    an address that holds a licence already is refused on the form (R1)."""
    operator = current_operator(db, request)
    licence = db.get(Licence, licence_id)
    if licence is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    try:
        change_licence_email(
            db, licence, data.get("email", ""), settings=shop.settings, now=shop.clock.now()
        )
    except ShopError as error:
        db.refresh(licence)
        t = translator_of(shop, operator)
        return admin_page(
            "admin/licences.html",
            shop,
            t,
            operator,
            status_code=error.status,
            licences=[licence],
            q=licence.email,
            error=t.gettext(error.detail, **error.params),
            failed_id=licence.id,
            **_instances(db, [licence], t),
        )
    return Redirect(f"/admin/licences?q={licence.email}", status_code=303)


@post("/orders/{number:int}/credit-notes", sync_to_thread=True, guards=[operator_session])
@transaction
def order_credit_note(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    number: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """A full correction of a paid invoice by a credit note (GoBD), with its reason; the
    operator confirms it on the form, as it cannot be undone."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    order = order_by_number(db, number)
    try:
        if data.get("confirm") != "1":
            raise ShopError(
                422,
                "validation_error",
                N_("Please confirm: a credit note cannot be withdrawn."),
            ).on_field("confirm")
        with db.begin_nested():
            correct_invoice(
                db, order, data.get("reason", ""), shop.clock.now(), shop.settings.seller_country
            )
    except ShopError as error:
        context = _order_context(db, shop, t, order)
        context.update(credit_error=t.gettext(error.detail, **error.params), form=data)
        return admin_page(
            "admin/order.html", shop, t, operator, status_code=error.status, **context
        )
    return Redirect(f"/admin/orders/{number}", status_code=303)


@get(
    "/orders/{number:int}/credit-notes/{note:int}/document.pdf",
    sync_to_thread=True,
    guards=[operator_session],
)
@transaction
def order_credit_note_pdf(
    db: Db, shop: ShopDep, enabled: Enabled, number: FromPath[int], note: FromPath[int]
) -> Response[bytes]:
    """A credit note as the buyer receives it, in the order's language."""
    order = order_by_number(db, number)
    credit_note = credit_note_of(db, order, note)
    if credit_note is None:
        raise ShopError(404, "not_found", N_("This order has no such credit note."))
    order_t = Translator.for_settings(shop.settings, order.locale)
    document = credit_note_document(db, credit_note, order, enabled, shop.settings, order_t)
    filename = credit_note_filename(credit_note, order_t)
    db.commit()
    return Response(
        render_document(document, order_t),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@post("/orders/{number:int}/resolve", sync_to_thread=True, guards=[operator_session])
@transaction
def order_resolve(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    number: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """Clear an order's flag (overpaid, late money, stale follow-up) with what was done."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    order = order_by_number(db, number)
    note = data.get("note", "").strip()[:2000]
    try:
        if not note:
            raise ShopError(422, "validation_error", N_("Please fill in this field."))
        resolve_flag(db, order, note, operator.email, shop.clock.now())
    except ShopError as error:
        context = _order_context(db, shop, t, order)
        context["resolve_error"] = t.gettext(error.detail, **error.params)
        return admin_page(
            "admin/order.html", shop, t, operator, status_code=error.status, **context
        )
    return Redirect(f"/admin/orders/{number}", status_code=303)


@get("/reviews", sync_to_thread=True, guards=[operator_session])
@transaction
def reviews_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Co-terming quotes waiting for a decision (R27), each with what the buyer asked."""
    return _reviews_page(db, shop, current_operator(db, request))


def _reviews_page(
    db: Session,
    shop: Shop,
    operator: OperatorAccount,
    status_code: int = 200,
    error: tuple[int, str] | None = None,
) -> Template:
    today = shop.clock.today()
    t = translator_of(shop, operator)
    return admin_page(
        "admin/reviews.html",
        shop,
        t,
        operator,
        status_code=status_code,
        reviews=[(order, review_request(db, order, today)) for order in waiting_for_review(db)],
        money=lambda o: t.money(Money.of(o.total, o.currency)),
        error=error,
    )


@post("/reviews/{number:int}", sync_to_thread=True, guards=[operator_session])
@transaction
def review_decide(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    number: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """Accept with the aligned maintenance end, or reject; the buyer is mailed (R27)."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    order = order_by_number(db, number)
    now, today = shop.clock.now(), shop.clock.today()
    body = {"decision": data.get("decision"), "aligned_to": data.get("aligned_to") or None}
    try:
        with db.begin_nested():
            decision, aligned_to = parse_decision(body)
            decide_review(db, enabled, order, decision, aligned_to, operator.email, now, today)
            notify_review(db, shop.templates, enabled, shop.settings, order, now)
    except ShopError as error:
        db.refresh(order)
        error_text = t.gettext(error.detail, **error.params)
        return _reviews_page(db, shop, operator, error.status, (number, error_text))
    mail_queued(request)
    return Redirect("/admin/reviews", status_code=303)


def _rates_page(
    db: Session,
    shop: Shop,
    operator: OperatorAccount,
    status_code: int = 200,
    error: str | None = None,
) -> Template:
    rated = {
        code: currency.priced_from
        for code, currency in shop.plugins.everything.currencies.items()
        if currency.priced_from is not None
    }
    t = translator_of(shop, operator)
    return admin_page(
        "admin/rates.html",
        shop,
        t,
        operator,
        status_code=status_code,
        rated=rated,
        rates=current_rates(db),
        error=error,
    )


@get("/rates", sync_to_thread=True, guards=[operator_session])
@transaction
def rates_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """The EUR→DZD rate and margin for new quotes and orders (R14)."""
    return _rates_page(db, shop, current_operator(db, request))


@post("/rates/{currency:str}", sync_to_thread=True, guards=[operator_session])
@transaction
def rate_save(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    currency: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    rate, margin = data.get("rate", ""), data.get("margin", "")
    try:
        # A margin typed as percent ("5" or "5 %") is the fraction the API takes (0.05).
        percent = local_number(margin.replace("%", ""), t)
        fraction = str(Decimal(percent) / 100) if _is_number(percent) else percent
        save_rate(db, shop, currency, local_number(rate, t), fraction)
    except ShopError as error:
        return _rates_page(
            db, shop, operator, error.status, t.gettext(error.detail, **error.params)
        )
    return Redirect("/admin/rates", status_code=303)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


@get("/subscriptions", sync_to_thread=True, guards=[operator_session])
@transaction
def subscriptions_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    operator = current_operator(db, request)
    status = request.query_params.get("status", "")
    query = request.query_params.get("q", "").strip()[:320]
    statement = select(Subscription).order_by(col(Subscription.id).desc()).limit(200)
    if status in {s.value for s in SubscriptionStatus}:
        statement = statement.where(Subscription.status == status)
    if query:
        statement = statement.where(col(Subscription.email).contains(normalise_email(query)))
    return admin_page(
        "admin/subscriptions.html",
        shop,
        translator_of(shop, operator),
        operator,
        subscriptions=db.exec(statement).all(),
        statuses=[s.value for s in SubscriptionStatus],
        status=status,
        q=query,
    )


@get("/subscriptions/{subscription_id:int}", sync_to_thread=True, guards=[operator_session])
@transaction
def subscription_detail(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, subscription_id: FromPath[int]
) -> Template:
    """A subscription with its history: who changed what, when and why (R16)."""
    operator = current_operator(db, request)
    subscription = db.get(Subscription, subscription_id)
    if subscription is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    t = translator_of(shop, operator)
    return admin_page(
        "admin/subscription.html",
        shop,
        t,
        operator,
        subscription=subscription,
        events=subscription_events(db, subscription),
        recurring=t.money(Money.of(subscription.recurring_total, subscription.currency)),
    )


@get("/cancellations", sync_to_thread=True, guards=[operator_session])
@transaction
def cancellations_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Cancellations and withdrawals (§312k, §356a BGB) an operator still has to look at:
    no contract identified, an extraordinary reason, a withdrawal in time (the refund)."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    return admin_page(
        "admin/cancellations.html",
        shop,
        t,
        operator,
        requests=open_requests(db),
        outcome_label=lambda outcome: t.gettext(OUTCOME_LABELS.get(str(outcome), str(outcome))),
        received=lambda moment: shop_time(moment, shop.settings, t.locale),
    )


@post("/cancellations/{request_id:int}/handled", sync_to_thread=True, guards=[operator_session])
@transaction
def cancellation_handled(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, request_id: FromPath[int]
) -> Redirect:
    operator = current_operator(db, request)
    mark_handled(db, request_id, operator.email, shop.clock.now())
    return Redirect("/admin/cancellations", status_code=303)


REPORT_LABELS = {
    "orders": N_("Orders"),
    "licences": N_("Licences"),
    "contacts": N_("Contact roles"),
    "subscriptions": N_("Subscriptions"),
    "activations": N_("Instances and their history"),
    "declarations": N_("Cancellations and withdrawals"),
    "mails": N_("E-mails"),
    "links": N_("Login and confirmation links"),
    "other": N_("Other records"),
    "plugins": N_("Plugins"),
}


def _customer_page(
    db: Session,
    shop: Shop,
    operator: OperatorAccount,
    email: str,
    *,
    step: str = "search",
    report: ErasureReport | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    """Find a customer by e-mail and erase them: search, confirm (what will happen), done."""
    t = translator_of(shop, operator)
    now = shop.clock.now()
    found = bool(email) and has_data(db, email)
    if report is None and found and step != "done" and error is None:
        try:
            report = preview_erasure(db, email, now, shop.settings)
        except ShopError as refused:
            error = t.gettext(refused.detail, **refused.params)
    return admin_page(
        "admin/customers.html",
        shop,
        t,
        operator,
        status_code=status_code,
        q=email,
        found=found or step == "done",
        step=step,
        report=report,
        error=error,
        rows=[
            (t.gettext(label), report.counts()[name])
            for name, label in REPORT_LABELS.items()
            if report is not None and report.counts()[name]
        ],
    )


@get("/customers", sync_to_thread=True, guards=[operator_session])
@transaction
def customers_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Find a customer by e-mail: what an erasure would change and keep (GDPR)."""
    operator = current_operator(db, request)
    email = normalise_email(request.query_params.get("q", "")[:320])
    return _customer_page(db, shop, operator, email)


@post("/customers/erase", sync_to_thread=True, status_code=200, guards=[operator_session])
@transaction
def customer_erase(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    """Two steps: the first shows what will be erased and kept and asks for the address
    again; the second, with the address typed again, erases and shows the report."""
    operator = current_operator(db, request)
    email = normalise_email(data.get("email", "")[:320])
    confirmed = normalise_email(data.get("confirm_email", "")[:320])
    if "confirm_email" not in data:
        return _customer_page(db, shop, operator, email, step="confirm")
    t = translator_of(shop, operator)
    if not email or confirmed != email:
        return _customer_page(
            db,
            shop,
            operator,
            email,
            step="confirm",
            error=t.gettext(N_("Type the customer's e-mail address again to confirm.")),
            status_code=422,
        )
    try:
        with db.begin_nested():
            report = erase_customer(
                db,
                email,
                shop.clock.now(),
                shop.settings,
                actor=operator.email,
                plugins=shop.plugins.everything,
            )
    except ShopError as refused:
        return _customer_page(
            db,
            shop,
            operator,
            email,
            error=t.gettext(refused.detail, **refused.params),
            status_code=refused.status,
        )
    return _customer_page(db, shop, operator, email, step="done", report=report)


@get("/outbox", sync_to_thread=True, guards=[operator_session])
@transaction
def outbox_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    operator = current_operator(db, request)
    to = request.query_params.get("to", "").strip()[:320] or None
    return admin_page(
        "admin/outbox.html",
        shop,
        translator_of(shop, operator),
        operator,
        messages=list_outbox(db, to=to, limit=100),
        to=to or "",
    )


@get("/outbox/{message_id:int}", sync_to_thread=True, guards=[operator_session])
@transaction
def outbox_message(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, message_id: FromPath[int]
) -> Template:
    """One e-mail as its reader sees it: the HTML in a sandboxed frame (no scripts, no
    forms, its own origin), beside the plain text."""
    operator = current_operator(db, request)
    message = db.get(OutboxMessage, message_id)
    if message is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    return admin_page(
        "admin/outbox_message.html", shop, translator_of(shop, operator), operator, message=message
    )


@get("/plugins", sync_to_thread=True, guards=[operator_session])
@transaction
def plugins_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    """Every installed plugin, as the running server sees it: on or off, its version, its
    settings (secrets redacted, test mode's fakes included) and what keeps it out."""
    operator = current_operator(db, request)
    on = enabled_names(db, shop.plugins)
    plugins = [
        {
            "info": info,
            "enabled": info.name in on,
            "settings": [
                (s.variable(info.name), shown(s, shop.settings.plugin(info.name).get(s.name)))
                for s in shop.plugins.declared_settings.get(info.name, [])
            ],
            "missing": shop.plugins.missing_settings(info.name, shop.settings),
        }
        for info in shop.plugins.infos.values()
    ]
    return admin_page(
        "admin/plugins.html", shop, translator_of(shop, operator), operator, plugins=plugins
    )


@post("/plugins/{name:str}", sync_to_thread=True, guards=[operator_session])
@transaction
def plugin_toggle(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    name: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    current_operator(db, request)
    if name not in shop.plugins.infos:
        raise ShopError(404, "not_found", N_("No plugin is called “%(name)s”."), name=name)
    try:
        set_enabled(db, shop.plugins, name, data.get("enabled") == "1", shop.clock.now())
    except EssentialPlugin:
        raise ShopError(
            409, "plugin_essential", N_("The plugin “%(name)s” cannot be disabled."), name=name
        ) from None
    return Redirect("/admin/plugins", status_code=303)


@get("/import", sync_to_thread=True, guards=[operator_session])
@transaction
def import_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    operator = current_operator(db, request)
    return admin_page(
        "admin/import.html", shop, translator_of(shop, operator), operator, report=None
    )


@post("/import", sync_to_thread=True, status_code=200, guards=[operator_session])
@transaction
def import_upload(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:
    """A CSV of existing customers' subscriptions, imported all or nothing (R33), with the
    report of every wrong line."""
    operator = current_operator(db, request)
    t = translator_of(shop, operator)
    upload = data.get("file")
    error = None
    report = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = t.gettext(N_("Choose a CSV file to import."))
    else:
        try:
            text = upload.file.read(shop.settings.max_body_bytes).decode("utf-8-sig")
        except UnicodeDecodeError:
            error = t.gettext(N_("The file is not UTF-8 text; save the CSV as UTF-8."))
        else:
            report = import_csv(
                db,
                text,
                enabled=enabled,
                settings=shop.settings,
                now=shop.clock.now(),
                actor=operator.email,
            )
    subscriptions = {}
    if report is not None and report.ok:
        ids = [row.subscription_id for row in report.imported]
        found = db.exec(select(Subscription).where(col(Subscription.id).in_(ids))).all()
        subscriptions = {s.id: s for s in found}
    return admin_page(
        "admin/import.html",
        shop,
        t,
        operator,
        report=report,
        error=error,
        problems=[(p, describe(p, t)) for p in report.problems] if report else [],
        subscriptions=subscriptions,
        status_code=200 if error is None and (report is None or report.ok) else 422,
    )


admin_pages = Router(
    "/admin",
    route_handlers=[
        login_page,
        login_submit,
        logout,
        choose_language,
        dashboard_page,
        orders_page,
        order_detail,
        order_xrechnung,
        order_payment,
        order_cancel,
        order_credit_note,
        order_credit_note_pdf,
        order_resolve,
        reviews_page,
        review_decide,
        rates_page,
        rate_save,
        licences_page,
        licence_email,
        licence_activation_free,
        subscriptions_page,
        subscription_detail,
        outbox_page,
        outbox_message,
        customers_page,
        customer_erase,
        cancellations_page,
        cancellation_handled,
        plugins_page,
        plugin_toggle,
        import_page,
        import_upload,
    ],
    include_in_schema=False,
)
