"""Licences: one per e-mail address (R1), enforced by a unique index in the database."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text
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
