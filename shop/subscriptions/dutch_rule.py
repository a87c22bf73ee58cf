"""The Dutch rule for consumers (Wet verlenging en opzegging, 2011).

A Dutch consumer's subscription (billing country NL, no organisation and no VAT or tax
number) may run for its first term as agreed. After the first term it renews for an
indefinite period and can be cancelled at any time with at most one month's notice: the
earliest end of a cancellation is the end of the first term while that runs, after that at
most one month ahead (and never after the running term's own end).

``earliest_end`` is pure; ``cancellation_end`` reads what it needs from the subscription.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from shop.catalog.products import N_
from shop.orders.models import Order
from shop.subscriptions.models import Subscription
from shop.subscriptions.terms import add_months

DUTCH_RULE_TEXT = N_(
    "For consumers in the Netherlands: after the first term the subscription continues for "
    "an indefinite period and can be cancelled at any time with one month's notice."
)


def running_term_end(start: date, months: int, today: date) -> date:
    """The end (exclusive) of the term anchored on ``start`` that runs on ``today`` (R22):
    the first term boundary after ``today``; before ``start``, the first term's end."""
    if months < 1:
        raise ValueError(f"a term has at least one month, not {months}")
    index = 1
    if today >= start:
        elapsed = (today.year - start.year) * 12 + today.month - start.month
        index = max(1, elapsed // months)
    while add_months(start, index * months) <= today:
        index += 1
    return add_months(start, index * months)


def earliest_end(start: date, months: int, today: date, *, dutch_consumer: bool) -> date:
    """The earliest day a cancellation declared on ``today`` ends the subscription.

    Everyone: the end of the running term (R10). A Dutch consumer after the first term:
    one month from ``today`` (calendar month, clamped like terms), if that comes sooner.
    """
    term_end = running_term_end(start, months, today)
    first_end = add_months(start, months)
    if not dutch_consumer or today < first_end:
        return term_end
    return min(term_end, add_months(today, 1))


def is_dutch_consumer(session: Session, subscription: Subscription) -> bool:
    """NL billing country, no organisation, and no VAT or tax number on its orders."""
    if subscription.country != "NL" or subscription.organisation:
        return False
    orders = session.exec(select(Order).where(Order.subscription_id == subscription.id)).all()
    return not any(order.organisation or order.tax_number for order in orders)


def cancellation_end(session: Session, subscription: Subscription, today: date) -> date | None:
    """When a cancellation declared on ``today`` ends ``subscription``: its term end, or
    sooner under the Dutch rule. None without a term."""
    end = subscription.term_end
    start = subscription.anchor or subscription.term_start
    if end is None or start is None:
        return end
    if not is_dutch_consumer(session, subscription):
        return end
    return min(
        end, earliest_end(start, subscription.billing_period_months, today, dutch_consumer=True)
    )
