"""The operator's review of a co-terming quote (R27): accept, with the maintenance end
aligned to another date and the price adjusted by days, or reject.

A maintenance renewal that asks to align with another licence is saved as a quote
flagged for review (``shop.orders.review``); it takes no payment until accepted here.
Accepting gives the buyer 30 days to pay it, like any quote (R7); rejecting cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlmodel import Session, col, select

from shop.catalog.adjustments import PurchaseKind
from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.maintenance_orders import yearly_maintenance_price
from shop.licences.models import Licence
from shop.money import Money
from shop.orders.adjustment_lines import is_adjustment, product_lines
from shop.orders.checkout import QUOTE_VALIDITY
from shop.orders.follow_up import licence_basis
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order, OrderLine
from shop.orders.pipeline import adjust_rows, context_for
from shop.orders.review import awaiting_review
from shop.plugins.context import Customer
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.maintenance import MAINTENANCE_MONTHS, latest_maintenance_end
from shop.subscriptions.terms import add_months

ACCEPT, REJECT = "accept", "reject"
Decision = Literal["accept", "reject"]
ALIGNED_LINE = N_("Maintenance renewal aligned with another licence (support and updates)")


@dataclass(frozen=True)
class ReviewRequest:
    """What the buyer asked for, as the operator sees it beside the quote."""

    reason: str | None
    coterm_with: int | None
    current_end: date | None  # this licence's maintenance end today
    requested_end: date | None  # the end the quote was priced for
    coterm_end: date | None  # the other licence's end, where it is known
    latest_end: date  # the furthest end allowed today (R25)


def prorated_maintenance(yearly: Money, current_end: date, aligned_to: date) -> Money:
    """Maintenance from ``current_end`` to ``aligned_to`` at the yearly price, by days: the
    days bought over the days of the year that starts at ``current_end``, rounded once
    (R15)."""
    days = (aligned_to - current_end).days
    year = (add_months(current_end, MAINTENANCE_MONTHS) - current_end).days
    return Money.of(yearly.amount * Decimal(days) / Decimal(year), yearly.currency)


def check_aligned_to(aligned_to: date, current_end: date, today: date) -> None:
    """An aligned end lies after the current maintenance end and at most 3 years ahead
    (R25); anything else is refused on the field ``aligned_to``."""
    if aligned_to <= current_end:
        raise ShopError(
            422,
            "validation_error",
            N_("The aligned date must be after the current maintenance end, %(date)s."),
            date=current_end.isoformat(),
        ).on_field("aligned_to")
    latest = latest_maintenance_end(today)
    if aligned_to > latest:
        raise ShopError(
            422,
            "maintenance_too_far_ahead",
            N_("Maintenance can be paid at most 3 years ahead, until %(date)s."),
            date=latest.isoformat(),
        ).on_field("aligned_to")


def review_request(session: Session, order: Order, today: date) -> ReviewRequest:
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    other = session.get(Licence, order.coterm_with) if order.coterm_with else None
    return ReviewRequest(
        reason=order.review_reason,
        coterm_with=order.coterm_with,
        current_end=licence.paid_until if licence else None,
        requested_end=order.maintenance_until,
        coterm_end=other.paid_until if other else None,
        latest_end=latest_maintenance_end(today),
    )


def decide_review(
    session: Session,
    enabled: EnabledPlugins,
    order: Order,
    decision: Decision,
    aligned_to: date | None,
    operator: str,
    now: datetime,
    today: date,
) -> Order:
    """Accept (optionally aligned to ``aligned_to``, repriced by days) or reject the
    flagged quote ``order``; a quote decided on already, or not flagged, is a 409."""
    if not awaiting_review(order):
        raise ShopError(409, "not_under_review", N_("This order is not waiting for a review."))
    if decision == REJECT:
        if aligned_to is not None:
            raise ShopError(
                422, "validation_error", N_("A rejected quote takes no aligned date.")
            ).on_field("aligned_to")
        cancel_order(session, order, now)
    else:
        if aligned_to is not None:
            _align(session, enabled, order, aligned_to, today, now)
        order.valid_until = now + QUOTE_VALIDITY  # R7: 30 days to pay it from now
    order.reviewed_at, order.reviewed_by = now, operator[:100]
    session.add(order)
    session.flush()
    return order


def _align(
    session: Session,
    enabled: EnabledPlugins,
    order: Order,
    aligned_to: date,
    today: date,
    now: datetime,
) -> None:
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    if licence is None or licence.paid_until is None:
        raise ShopError(409, "licence_not_paid", N_("This licence has not been paid yet."))
    check_aligned_to(aligned_to, licence.paid_until, today)
    yearly = yearly_maintenance_price(session, enabled, licence)
    total = prorated_maintenance(yearly, licence.paid_until, aligned_to)
    if total.currency != order.currency:
        raise ShopError(
            409,
            "currency_mismatch",
            N_("This order is payable in %(expected)s, not %(currency)s."),
            expected=order.currency,
            currency=total.currency,
        )
    lines = session.exec(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.position))
    ).all()
    product = product_lines(lines)
    for line in product:  # a maintenance quote has its one line
        line.name, line.quantity = ALIGNED_LINE, 1
        line.unit_price = line.total = total.amount
        session.add(line)
    # Priced anew, so through the pricing pipeline again (R28, R29): its discounts anew.
    for line in lines:
        if is_adjustment(line):
            session.delete(line)
    adjusted = adjust_rows(
        context_for(enabled, session, now, None),
        enabled,
        PurchaseKind.MAINTENANCE,
        Customer(order.email, order.country, order.name),
        order.currency,
        [
            {"sku": line.sku, "quantity": 1, "total": total.amount, "of": licence.product}
            for line in product
        ],
    )
    for position, row in enumerate(adjusted.lines, start=len(product)):
        session.add(OrderLine(order_id=order.id, position=position, **row))  # type: ignore[arg-type]
    order.total = adjusted.total.amount
    order.maintenance_until = aligned_to
    # Now priced from this end to the aligned date, not by years (R27): paid later, it
    # applies only while the licence's maintenance still ends where it did.
    basis = {k: v for k, v in (order.basis or {}).items() if k != "years"}
    order.basis = {
        **licence_basis(licence),
        **basis,
        "paid_until": licence.paid_until.isoformat(),
        "aligned_to": aligned_to.isoformat(),
    }
