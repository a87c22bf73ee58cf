"""Money received: allocate at checkout, debit when it arrives, activate when covered (R5).

Partial payments are recorded and shown but activate nothing; the payment that covers the
total marks the order paid, activates the licence (new key) and starts the first term.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.service import reserve_for_order
from shop.money import Money, minor_unit, quantize
from shop.orders.amounts import INVALID, LIMIT, amount_error, amount_problem
from shop.orders.attention import flag
from shop.orders.fulfilment import ensure_subscription, fulfil, main_line
from shop.orders.models import Order, OrderKind, OrderLine, OrderStatus, Payment
from shop.orders.numbers import issue_invoice_number
from shop.orders.review import awaiting_review
from shop.payments.methods import PaymentRequest, PaymentStart
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings


def parse_amount(raw: object, currency: str) -> Decimal:
    """A positive amount with at most the currency's minor digits, from a string or number,
    within what the database holds (``shop.orders.amounts``)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise amount_error(INVALID)
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise amount_error(INVALID) from None
    if (problem := amount_problem(amount, currency, LIMIT)) is not None:
        raise amount_error(problem)
    return quantize(amount, currency)


def expired_refusal(order: Order, now: datetime) -> ShopError | None:
    """A switch order is payable only within the term it prices (R19): past its expiry it
    takes no payment, even before ``shop jobs run`` has closed it."""
    if order.kind != OrderKind.SWITCH or order.expires_at is None or now < order.expires_at:
        return None
    return ShopError(409, "order_expired", N_("This order has expired and takes no payment."))


def order_lines(session: Session, order: Order) -> list[OrderLine]:
    statement = select(OrderLine).where(OrderLine.order_id == order.id).order_by("position")
    return list(session.exec(statement))


def payments_of(session: Session, order: Order) -> list[Payment]:
    statement = select(Payment).where(Payment.order_id == order.id).order_by("id")
    return list(session.exec(statement))


def record_payment(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    *,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str | None,
    recorded_by: str | None,
    now: datetime,
    today: date,
    provider_reference: str | None = None,
    detail: dict[str, Any] | None = None,
    accept_overpayment: bool = False,
) -> Payment:
    """Record money received for ``order``; only the order's currency counts (R13).

    Money beyond what is due (more than the total, a second payment of a paid order, money
    for a closed one) is refused unless ``accept_overpayment`` (an operator who confirms
    it; a provider, where the money is already taken): then it is kept on record and the
    order flagged for the operator, never silently absorbed. A closed order activates
    nothing; an overpaid open one is paid."""
    if currency != order.currency:
        raise ShopError(
            422,
            "currency_mismatch",
            N_("This order is payable in %(expected)s, not %(currency)s."),
            expected=order.currency,
            currency=currency,
        ).on_field("currency")
    if awaiting_review(order):
        raise ShopError(
            409,
            "review_pending",
            N_("This quote is being reviewed by our team; it can be paid once accepted."),
        )
    if (problem := amount_problem(amount, currency, order.total)) is not None:
        raise amount_error(problem)
    late = expired_refusal(order, now)
    if late is not None and provider_reference is None:
        raise late  # the money was not taken: the operator is told, nothing is recorded
    reason = excess_reason(order, amount)
    if reason is not None and not accept_overpayment:
        raise excess_refusal(order, reason, amount, currency)
    if reason in (PAID_TWICE, PAID_AFTER_CLOSE):
        # Kept on record for the operator; the order's state and licence stay as they are.
        payment = _add_payment(
            session,
            order,
            amount,
            currency,
            method,
            reference,
            provider_reference,
            recorded_by,
            detail,
            now,
        )
        flag(order, reason, now)
        session.add(order)
        session.flush()
        return payment
    lines = order_lines(session, order)
    if order.status == OrderStatus.QUOTE:
        issue_invoice_number(session, order, now)  # a quote paid becomes an invoice (R8)
    if order.status == OrderStatus.QUOTE and order.kind != OrderKind.NEW:
        order.status = OrderStatus.PENDING  # a reviewed maintenance quote (R27)
    if order.status == OrderStatus.QUOTE:
        # Paying a quote passes the same one-licence check as a checkout (R1).
        main = main_line(lines)
        reserve_for_order(session, order, main.sku, {ln.sku: ln.quantity for ln in lines}, now)
        order.status = OrderStatus.PENDING
        order.payment_method = order.payment_method or method
        if main.billing_period_months:  # a perpetual licence has no subscription (R23)
            ensure_subscription(session, order, lines, now)
    payment = _add_payment(
        session,
        order,
        amount,
        currency,
        method,
        reference,
        provider_reference,
        recorded_by,
        detail,
        now,
    )
    if reason == OVERPAID:
        flag(order, OVERPAID, now)
    session.add(order)
    session.flush()
    if order.paid_amount >= order.total:
        fulfil(session, enabled, settings, order, lines, now, today)
    return payment


OVERPAID, PAID_TWICE, PAID_AFTER_CLOSE = "overpaid", "paid_twice", "paid_after_close"


def excess_reason(order: Order, amount: Decimal) -> str | None:
    """Why ``amount`` is more than ``order`` takes (a flag of ``shop.orders.attention``),
    or None when all of it is due."""
    if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
        return PAID_AFTER_CLOSE
    if order.status == OrderStatus.PAID:
        return PAID_TWICE
    if amount > outstanding(order):
        return OVERPAID
    return None


def excess_refusal(order: Order, reason: str, amount: Decimal, currency: str) -> ShopError:
    """What an operator recording more than is due is told: the order's state as before
    (closed, paid), or the overpayment; each says how to record the money anyway."""
    if reason == PAID_AFTER_CLOSE:
        return ShopError(
            409,
            "order_closed",
            N_(
                "This order is closed and takes no payment. To record money that arrived "
                "anyway, confirm it (accept_overpayment)."
            ),
        )
    if reason == PAID_TWICE:
        return ShopError(
            409,
            "order_paid",
            N_(
                "This order is already paid in full. To record a further payment that "
                "arrived anyway, confirm it (accept_overpayment)."
            ),
        )
    return ShopError(
        422,
        "overpayment",
        N_(
            "%(amount)s is more than the %(due)s still due on this order. To record it "
            "anyway, confirm the overpayment (accept_overpayment)."
        ),
        amount=f"{amount} {currency}",
        due=f"{outstanding(order)} {currency}",
    ).on_field("amount")


def _add_payment(
    session: Session,
    order: Order,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str | None,
    provider_reference: str | None,
    recorded_by: str | None,
    detail: dict[str, Any] | None,
    now: datetime,
) -> Payment:
    payment = Payment(
        order_id=order.id,  # type: ignore[arg-type]
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        provider_reference=provider_reference,
        recorded_by=recorded_by,
        detail=detail,
        created_at=now,
    )
    session.add(payment)
    order.paid_amount = order.paid_amount + amount
    return payment


def outstanding(order: Order) -> Decimal:
    return max(order.total - order.paid_amount, Decimal(0)).quantize(minor_unit(order.currency))


def payment_request(order: Order, base_url: str) -> PaymentRequest:
    """What a payment method is told about ``order``; the buyer comes back to its page."""
    return PaymentRequest(
        order_number=order.number,
        order_token=order.token,
        amount=Money(outstanding(order), order.currency),
        email=order.email,
        locale=order.locale,
        return_url=f"{base_url}/{order.locale}/orders/{order.token}/return",
        save_for_renewals=order.subscription_id is not None,
        provider_payment=opened_payment(order),
    )


def opened_payment(order: Order) -> str | None:
    """The provider's id of the payment opened for ``order`` by its current method."""
    method, _, opened = (order.provider_payment or "").partition(":")
    return opened if opened and method == order.payment_method else None


def start_payment(
    order: Order,
    enabled: EnabledPlugins,
    settings: Settings,
    t: Translator,
    *,
    online: bool = True,
    base_url: str | None = None,
) -> PaymentStart | None:
    """What the order's payment method tells the buyer now (instructions, redirect...).

    A quote saved without a method shows how to pay it offline with each enabled method, so
    the quote and its PDF carry the bank details and postal address (R7, R12). With
    ``online=False`` (mails, documents) an online method is not asked to open a payment.
    """
    if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTE) or awaiting_review(order):
        return None  # nothing to pay, or not yet: an operator reviews the quote (R27)
    request = payment_request(order, base_url or settings.public_url)
    method = enabled.payment_methods.get(order.payment_method)
    if method is not None:
        if not method.offline and not online:
            return None
        return method.start(request, settings, t)
    if order.status != OrderStatus.QUOTE:
        return None
    offline = [
        m for m in enabled.payment_methods.values() if m.offline and m.accepts(order.currency)
    ]
    instructions = tuple(
        line
        for m in offline
        for line in (t.gettext(m.name) + ":", *m.start(request, settings, t).instructions)
    )
    return PaymentStart(instructions=instructions)
