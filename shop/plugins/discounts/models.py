"""The discounts plugin's tables: promotions (R28) and academic customers (R29)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Column, Field, SQLModel

from shop.db import ExactDecimal


class Promotion(SQLModel, table=True):
    """A percentage off every plan from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive), set by the operator; for cloud plans the first term only (R28)."""

    __tablename__ = "discounts_promotion"

    id: int | None = Field(default=None, primary_key=True)
    percent: Decimal = Field(sa_column=Column(ExactDecimal(), nullable=False))
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)
    first_term_only: bool = True
    created_at: datetime


class AcademicCustomer(SQLModel, table=True):
    """A customer's academic flag, by e-mail (normalised), as the operator set it (R29)."""

    __tablename__ = "discounts_academic_customer"

    email: str = Field(primary_key=True, max_length=320)
    academic: bool
    set_at: datetime
