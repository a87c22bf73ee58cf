"""A declaration as received: everything the visitor typed, when it arrived, what it was
matched to and what came of it. Kept as the shop's proof of receipt."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


class DeclarationKind(StrEnum):
    CANCEL = "cancel"  # §312k BGB
    WITHDRAW = "withdraw"  # §356a BGB


class Outcome(StrEnum):
    CANCELLED = "cancelled"  # a subscription or agreement cancelled, ends on ends_on
    ALREADY_CANCELLED = "already_cancelled"  # it was cancelled before, ends on ends_on
    NOT_ACTIVE = "not_active"  # identified, but nothing runs that could be cancelled
    LATER_END = "later_end"  # identified, an end later than the earliest wanted: operator
    UNMATCHED = "unmatched"  # no contract identified: the operator looks into it
    WITHDRAWN = "withdrawn"  # in the period: recorded, refund is the operator's decision
    WITHDRAWN_UNPAID = "withdrawn_unpaid"  # in the period, an unpaid order cancelled
    PERIOD_OVER = "period_over"  # the 14 days are over
    WAIVED = "waived"  # the consumer waived the right for digital content
    NOT_CONSUMER = "not_consumer"  # a business order: no statutory withdrawal right


class CancellationRequest(SQLModel, table=True):
    __tablename__ = "cancellation_request"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    locale: str = Field(max_length=5)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)  # the contract's e-mail as given (normalised)
    reference: str | None = Field(default=None, max_length=200)  # key / order / contract no.
    contract: str | None = Field(default=None, max_length=32)  # subscription or agreement
    mode: str | None = Field(default=None, max_length=16)  # ordinary or extraordinary
    reason: str | None = Field(default=None, max_length=2000)
    wanted_end: date | None = None  # None: at the earliest possible date
    receipt_email: str = Field(max_length=320)
    received_at: datetime
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    order_id: int | None = Field(default=None, foreign_key="shop_order.id")
    ends_on: date | None = None  # when the contract ends (or the withdrawal period ended)
    outcome: str = Field(max_length=32)
    needs_operator: bool = Field(default=False, index=True)
    handled_at: datetime | None = None
    handled_by: str | None = Field(default=None, max_length=100)
