"""Currencies, as currency plugins declare them (R14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217
    minimum_charge: Decimal
    countries: frozenset[str] = field(default_factory=frozenset)  # empty: every country
    priced_from: str | None = None  # e.g. "EUR": prices follow the operator's exchange rate

    def allowed_for(self, country: str | None) -> bool:
        """Whether a customer billed in ``country`` may pay in this currency."""
        return not self.countries or country in self.countries
