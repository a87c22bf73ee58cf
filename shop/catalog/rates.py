"""The operator's exchange rates for currencies priced from another one (DZD from EUR)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Column, Field, Session, SQLModel

from shop.catalog.pricing import ExchangeRate
from shop.db import ExactDecimal


class ExchangeRateRow(SQLModel, table=True):
    __tablename__ = "exchange_rate"

    currency: str = Field(primary_key=True, max_length=3)
    base: str = Field(max_length=3)
    rate: Decimal = Field(sa_column=Column(ExactDecimal(), nullable=False))
    margin: Decimal = Field(sa_column=Column(ExactDecimal(), nullable=False))
    updated_at: datetime


class InvalidRate(ValueError):
    """The rate or margin is not a sensible number; ``field`` names which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def parse_rate(rate: object, margin: object) -> tuple[Decimal, Decimal]:
    """Validate an operator's input: rate > 0, 0 <= margin < 1, at most 6 decimals."""
    values = []
    for field, raw, low, high in (
        ("rate", rate, Decimal(0), Decimal(10) ** 12),
        ("margin", margin, Decimal(0), Decimal(1)),
    ):
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise InvalidRate(field)
        try:
            value = Decimal(str(raw))  # str() keeps a JSON number's shortest exact spelling
        except InvalidOperation:
            raise InvalidRate(field) from None
        exponent = value.as_tuple().exponent
        if not value.is_finite() or not isinstance(exponent, int) or exponent < -6:
            raise InvalidRate(field)
        if field == "rate" and not low < value < high:
            raise InvalidRate(field)
        if field == "margin" and not low <= value < high:
            raise InvalidRate(field)
        values.append(value)
    return values[0], values[1]


def current_rates(session: Session) -> dict[str, ExchangeRate]:
    # Read on every priced page: plain SQL, no statement to build, compile or map. The
    # amounts come as text (SQLite) or Decimal (PostgreSQL): str() reads both exactly.
    rows = session.connection().exec_driver_sql(
        "SELECT base, currency, rate, margin FROM exchange_rate"
    )
    return {
        currency: ExchangeRate(base, currency, Decimal(str(rate)), Decimal(str(margin)))
        for base, currency, rate, margin in rows
    }


def rates_key(rates: dict[str, ExchangeRate]) -> tuple[ExchangeRate, ...]:
    """The rates as one hashable value, for what is kept per set of rates."""
    return tuple(sorted(rates.values(), key=lambda rate: rate.currency))


def set_rate(
    session: Session, currency: str, base: str, rate: Decimal, margin: Decimal, now: datetime
) -> ExchangeRate:
    """Store the rate used for new quotes and orders (existing ones keep theirs, R14)."""
    row = session.get(ExchangeRateRow, currency)
    if row is None:
        row = ExchangeRateRow(
            currency=currency, base=base, rate=rate, margin=margin, updated_at=now
        )
    else:
        row.base, row.rate, row.margin, row.updated_at = base, rate, margin, now
    session.add(row)
    session.flush()
    return ExchangeRate(base, currency, rate, margin)
