"""Licences: one per e-mail address (R1), enforced by a unique index in the database."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, text
from sqlmodel import Column, Field, SQLModel

from shop.catalog.products import N_
from shop.errors import ShopError


class LicenceStatus(StrEnum):
    PENDING = "pending"  # reserved by a pay-now checkout, not paid yet
    TRIAL = "trial"
    ACTIVE = "active"
    EXPIRED = "expired"


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def normalise_email(email: str) -> str:
    """E-mails are compared trimmed and case-folded (R1)."""
    return email.strip().casefold()


def check_email(value: object, field: str = "email") -> str:
    """``value`` as a trimmed e-mail address, or a translated refusal naming ``field``."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > 320 or not EMAIL.match(text):
        raise ShopError(
            422, "validation_error", N_("“%(email)s” is not an e-mail address."), email=text
        ).on_field(field)
    return text


class Licence(SQLModel, table=True):
    __tablename__ = "licence"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # normalised: the R1 guard
    status: str = Field(max_length=16, index=True)
    product: str = Field(max_length=100)
    quantities: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trial_ends_at: datetime | None = None
    paid_until: date | None = None  # end of the paid term or maintenance (exclusive)
    key: str | None = Field(default=None, sa_column=Column(Text))
    support: str | None = Field(default=None, max_length=200)
    # The unpaid order that reserved this licence (a purchase or a trial conversion).
    reserved_by_order_id: int | None = Field(default=None, index=True)
    created_at: datetime
    updated_at: datetime

    @property
    def was_trial(self) -> bool:
        return self.trial_ends_at is not None and self.paid_until is None


class Activation(SQLModel, table=True):
    """One instance of the vendor's software using a licence (issue 14): its slot is held
    until it is deactivated. At most one live activation per licence and fingerprint,
    enforced by a partial unique index, so a repeated activation never takes a second slot."""

    __tablename__ = "activation"
    __table_args__ = (
        Index(
            "ux_activation_live_fingerprint",
            "licence_id",
            "fingerprint",
            unique=True,
            postgresql_where=text("deactivated_at IS NULL"),
            sqlite_where=text("deactivated_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    licence_id: int = Field(foreign_key="licence.id", index=True)
    fingerprint: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=200)
    activated_at: datetime
    last_check_in_at: datetime
    deactivated_at: datetime | None = None
    deactivated_by: str | None = Field(default=None, max_length=16)  # customer, operator, software


class ActivationEvent(SQLModel, table=True):
    """The audit trail of activations: who did what, when."""

    __tablename__ = "activation_event"

    id: int | None = Field(default=None, primary_key=True)
    activation_id: int = Field(foreign_key="activation.id", index=True)
    licence_id: int = Field(foreign_key="licence.id", index=True)
    at: datetime
    action: str = Field(max_length=16)  # activated, checked_in, deactivated
    actor: str = Field(max_length=16)  # software, customer, operator
    actor_name: str | None = Field(default=None, max_length=320)  # whose account or login
    detail: str = Field(default="", max_length=500)
