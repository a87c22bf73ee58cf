"""Exact money (R15): Decimal amounts quantized to the currency's minor unit, half-up.

Babel knows each currency's minor unit; Babel's *display* rounding is not used for
business rounding: amounts are quantized here before anyone formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from babel.numbers import get_currency_precision


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` as a Decimal exponent (``Decimal('0.01')``)."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-up to the currency's minor unit (R15)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Money rounded once, half-up, to the currency's minor unit."""
        return cls(quantize(Decimal(amount), currency), currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def to_json(self) -> dict[str, Any]:
        """``{"amount": "120.00", "currency": "EUR"}`` with the currency's minor digits."""
        return {"amount": str(quantize(self.amount, self.currency)), "currency": self.currency}

    @property
    def minor_units(self) -> int:
        """The amount in the currency's smallest unit (cents), as card providers count."""
        return int(
            quantize(self.amount, self.currency).scaleb(get_currency_precision(self.currency))
        )

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        return cls.of(Decimal(units).scaleb(-get_currency_precision(currency)), currency)
