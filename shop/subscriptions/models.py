"""Subscriptions as stored (R16); terms are computed by ``shop.subscriptions.terms``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Column, Field, SQLModel

from shop.db import ExactDecimal


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    PENDING_CANCEL = "pending-cancel"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# What `shop jobs run` walks, each a partial index in its own order (so that a batch costs
# the same however many came before it): subscriptions that renew at their term end, and
# those on hold since a renewal. Literal SQL, the same in the index and in the query, so
# that both databases' planners see the query fits the index even with bound parameters.
RENEWING = f"status IN ('{SubscriptionStatus.ACTIVE}', '{SubscriptionStatus.PENDING_CANCEL}')"
ON_HOLD = f"status = '{SubscriptionStatus.ON_HOLD}'"


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (
        Index(
            "ix_subscription_renewing",
            "term_end",
            "id",
            postgresql_where=text(RENEWING),
            sqlite_where=text(RENEWING),
        ),
        Index(
            "ix_subscription_on_hold",
            "on_hold_since",
            "id",
            postgresql_where=text(ON_HOLD),
            sqlite_where=text(ON_HOLD),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)  # the subscriber's link to their page
    licence_id: int = Field(foreign_key="licence.id", index=True)
    email: str = Field(max_length=320, index=True)
    # The billing party of an imported subscription, which has no order to take it from.
    name: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    country: str = Field(max_length=2)
    locale: str = Field(max_length=5)
    payment_method: str = Field(max_length=32)
    # A card the buyer agreed to keep for renewals (R21): the provider's customer and method.
    saved_customer: str | None = Field(default=None, max_length=200)
    saved_method: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16, index=True)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    currency: str = Field(max_length=3)
    recurring_total: Decimal = Field(sa_column=Column(ExactDecimal(), nullable=False))
    billing_period_months: int
    anchor: date | None = None  # the day the first term started (R22)
    term_start: date | None = None
    term_end: date | None = Field(default=None, index=True)
    # A downgrade waits for the next renewal (R20); None when nothing is scheduled.
    scheduled_items: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    on_hold_since: datetime | None = None  # a renewal is unpaid since then (R21)
    created_at: datetime
    updated_at: datetime


class SubscriptionEvent(SQLModel, table=True):
    """Why a subscription changed: who, when, why (R16)."""

    __tablename__ = "subscription_event"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    at: datetime
    actor: str = Field(max_length=16)  # payment, renewal, customer, operator, job
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason: str = Field(max_length=500)
