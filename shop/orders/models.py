"""Orders, their lines and the payments received, as stored."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from shop.db import ExactDecimal


class OrderStatus(StrEnum):
    QUOTE = "quote"
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class OrderKind(StrEnum):
    NEW = "new"
    RENEWAL = "renewal"
    SWITCH = "switch"


def money_column() -> Column:  # type: ignore[type-arg]
    return Column(ExactDecimal(), nullable=False)


class NumberSequence(SQLModel, table=True):
    """Gapless counters (R8): incremented inside the transaction that uses the number."""

    __tablename__ = "number_sequence"

    name: str = Field(primary_key=True, max_length=32)
    last: int


# Unpaid renewal orders whose invoice mail is not queued yet: what `shop jobs run` claims,
# walking this partial index in id order. Literal SQL, the same in the index and in the
# query, so that SQLite's and PostgreSQL's planners see the query fits the index even
# when its other values are bound parameters.
TO_INVOICE = (
    f"kind = '{OrderKind.RENEWAL}' AND status = '{OrderStatus.PENDING}' AND invoiced_at IS NULL"
)

# Renewals with no card charge to come: none was due (no saved card), or its outcome is
# recorded (declined, not charged). Only these are invoiced: an order whose charge is in
# flight, or whose runner died before recording the outcome, may be paid (R21).
AWAITS_NO_CHARGE = (
    "(charge_outcome IS NOT NULL OR (charge_attempted_at IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM subscription WHERE subscription.id = shop_order.subscription_id "
    "AND subscription.saved_method IS NOT NULL)))"
)

# Orders flagged for the operator (see ``needs_action``), walked by the back office.
NEEDS_ACTION = "needs_action IS NOT NULL"

# Renewal charges claimed whose outcome was never recorded (a runner died between asking
# the provider and writing the answer): what the reconciliation of `shop jobs run` walks.
CHARGE_UNSETTLED = "charge_attempted_at IS NOT NULL AND charge_outcome IS NULL"

# Closed orders whose card or PayPal payment is still open at the provider.
PROVIDER_PAYMENT_OPEN = (
    f"status IN ('{OrderStatus.CANCELLED}', '{OrderStatus.EXPIRED}') "
    "AND provider_payment IS NOT NULL AND provider_payment_closed_at IS NULL"
)


class Order(SQLModel, table=True):
    __tablename__ = "shop_order"
    __table_args__ = (
        # Never two renewal orders for one term (R21), whatever the number of workers.
        UniqueConstraint("subscription_id", "renewal_term_start"),
        Index(
            "ix_shop_order_needs_action",
            "needs_action_since",
            postgresql_where=text(NEEDS_ACTION),
            sqlite_where=text(NEEDS_ACTION),
        ),
        Index(
            "ix_shop_order_charge_unsettled",
            "id",
            postgresql_where=text(CHARGE_UNSETTLED),
            sqlite_where=text(CHARGE_UNSETTLED),
        ),
        Index(
            "ix_shop_order_provider_payment_open",
            "id",
            postgresql_where=text(PROVIDER_PAYMENT_OPEN),
            sqlite_where=text(PROVIDER_PAYMENT_OPEN),
        ),
        Index(
            "ix_shop_order_to_invoice",
            "id",
            postgresql_where=text(TO_INVOICE),
            sqlite_where=text(TO_INVOICE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)  # the order's own number: API, admin routes, providers
    # The documents' gapless series (R8): a quote's number when saved, an invoice's when
    # the order is placed to be paid (a quote: once accepted or paid). None: not issued.
    quote_number: int | None = Field(default=None, unique=True)
    invoice_number: int | None = Field(default=None, unique=True)
    invoice_issued_at: datetime | None = None  # the invoice's date: when it got its number
    token: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=16, index=True)
    kind: str = Field(max_length=16)
    email: str = Field(max_length=320, index=True)  # normalised
    name: str = Field(max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    country: str = Field(max_length=2)
    # The billing address (§14 UStG), checked per country (``shop.orders.billing``); None
    # on orders from before it was asked, and where the API's caller did not send one.
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    tax_number: str | None = Field(default=None, max_length=50)
    po_number: str | None = Field(default=None, max_length=100)
    reseller_customer_name: str | None = Field(default=None, max_length=200)
    reseller_customer_email: str | None = Field(default=None, max_length=320)
    locale: str = Field(max_length=5)
    currency: str = Field(max_length=3)
    total: Decimal = Field(sa_column=money_column())
    paid_amount: Decimal = Field(sa_column=money_column())
    payment_method: str = Field(max_length=32)
    exchange_rate: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal()))
    exchange_margin: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal()))
    licence_id: int | None = Field(default=None, foreign_key="licence.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    created_at: datetime
    valid_until: datetime | None = None  # quotes: 30 days (R7)
    expires_at: datetime | None = None  # unpaid orders: released after 30 days (R1)
    paid_at: datetime | None = None
    closed_at: datetime | None = None  # cancelled or expired
    renewal_term_start: date | None = None  # renewals: the term this order pays for
    maintenance_until: date | None = None  # maintenance renewals: the new end (R24)
    review_reason: str | None = Field(default=None, max_length=300)  # e.g. co-terming (R27)
    coterm_with: int | None = None  # co-terming: the licence id the buyer asked to align with
    # An operator's decision on a flagged quote (R27); until then it takes no payment.
    reviewed_at: datetime | None = None
    reviewed_by: str | None = Field(default=None, max_length=100)
    # Renewals paid by a saved card: when the one automatic charge was claimed (R21), the
    # idempotency key it was sent with, and what came of it (``charged``, ``declined``,
    # ``not_charged``; ``legacy`` before migration 0009); none yet: in flight, or its runner died
    # (reconciled).
    charge_attempted_at: datetime | None = None
    charge_key: str | None = Field(default=None, max_length=200)
    charge_outcome: str | None = Field(default=None, max_length=32)
    # Renewals: when `shop jobs run` queued the invoice mail (R21).
    invoiced_at: datetime | None = None
    # Switch orders: the items and recurring total that apply once the setup fee is paid,
    # prorated from the day quoted (R19).
    switch_items: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    switch_recurring_total: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal()))
    # Orders that follow another: the state they were priced from (``shop.orders.follow_up``),
    # checked again when they are paid. None: a first order, priced from the catalog alone.
    basis: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Money the shop kept but could not apply, or an order an operator must decide on: a
    # stable code (``shop.orders.attention``), and since when. None: nothing to do.
    needs_action: str | None = Field(default=None, max_length=32)
    needs_action_since: datetime | None = None
    # The card or PayPal payment opened for this order at the provider ("card:pi_…",
    # "paypal:<order id>"), reused on every visit (never a second one per order), and when
    # it was cancelled there once the order closed.
    provider_payment: str | None = Field(default=None, max_length=200)
    provider_payment_closed_at: datetime | None = None


class OrderConsent(SQLModel, table=True):
    """A statement the buyer made at checkout, in the words they were shown and when
    (§356(5) BGB: consent to immediate performance, acknowledgement of losing the right
    of withdrawal), printed on the invoice and in the order mail."""

    __tablename__ = "order_consent"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    kind: str = Field(max_length=32)  # ``shop.orders.consents``
    text: str = Field(max_length=1000)  # as shown, in the order's language
    locale: str = Field(max_length=5)
    given_at: datetime


class OrderNote(SQLModel, table=True):
    """What an operator wrote when clearing an order's flag (``needs_action``)."""

    __tablename__ = "order_note"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    reason: str | None = Field(default=None, max_length=32)  # the flag it resolved
    text: str = Field(max_length=2000)
    author: str = Field(max_length=100)
    created_at: datetime


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    position: int
    sku: str = Field(max_length=100)
    name: str = Field(max_length=200)  # message id, translated when shown
    kind: str = Field(max_length=16)
    quantity: int
    unit_price: Decimal = Field(sa_column=money_column())
    total: Decimal = Field(sa_column=money_column())
    billing_period_months: int | None = None
    # What the line stands for, when its name alone does not say it: a setup fee's added
    # items, period and fraction (``shop.orders.line_text``). None for ordinary lines.
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Payment(SQLModel, table=True):
    """Money received for an order; partial payments are kept and shown (R5)."""

    __tablename__ = "payment"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    amount: Decimal = Field(sa_column=money_column())
    currency: str = Field(max_length=3)
    method: str = Field(max_length=32)
    reference: str | None = Field(default=None, max_length=200)
    # The provider's id of the money ("card:pi_…", "paypal:<capture>"): one payment each,
    # however many webhooks or returns report it (R13).
    provider_reference: str | None = Field(default=None, max_length=200, unique=True)
    recorded_by: str | None = Field(default=None, max_length=100)
    created_at: datetime
    # What the provider reports about the money's source, for the buyer ("Visa •••• 4242"):
    # ``{"brand": "visa", "last4": "4242"}``; None for offline payments.
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ProviderEvent(SQLModel, table=True):
    """Every webhook a provider sent, stored once by its id: a replay changes nothing (R13).

    ``outcome`` says what it did: applied, duplicate, unknown_order, invalid_amount,
    paid_twice, paid_after_close, …"""

    __tablename__ = "provider_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    event_id: str = Field(max_length=200)
    type: str = Field(max_length=100)
    order_number: int | None = Field(default=None, index=True)
    outcome: str = Field(max_length=32)
    received_at: datetime


class IdempotencyKey(SQLModel, table=True):
    """A client's POST by the ``Idempotency-Key`` it sent, and the answer it got: a retry
    with the same key and body is answered the same instead of ordering twice. Written in
    the transaction that places the order, so no order is committed without its answer.
    Kept 24 hours (see ``shop.web.idempotency``)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)  # as sent
    scope: str = Field(max_length=500)  # "POST /api/v1/orders", "… operator:alice"
    fingerprint: str = Field(max_length=64)  # SHA-256 of the request body, hex
    status: int | None = None  # the answer's status code; None: the route's default
    body: Any = Field(default=None, sa_column=Column(JSON))  # the answer's JSON body
    created_at: datetime = Field(index=True)


class CreditNote(SQLModel, table=True):
    """A correction of an issued invoice (GoBD): the invoice itself never changes once
    issued (``shop.orders.invoice_lock``); a cancellation or correction is a credit note of
    its own gapless series (R8), linked to the invoice, kept until ``retained_until``."""

    __tablename__ = "credit_note"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)  # the "credit_note" series, printed CN-<n>
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    issued_at: datetime
    amount: Decimal = Field(sa_column=money_column())  # the gross amount credited, positive
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    retained_until: date


# The guard that keeps issued invoices as issued, registered wherever orders are used.
import shop.orders.invoice_lock  # noqa: E402, F401
