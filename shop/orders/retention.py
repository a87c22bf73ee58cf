"""How long tax law makes the shop keep an invoice or a credit note.

The period starts at the end of the calendar year the document was issued in (§147(4) AO)
and lasts eight years in Germany (§147(3) AO, §14b UStG, since 2025) and seven in the
Netherlands (art. 52 AWR). Until then a document is neither changed nor erased; a GDPR
erasure leaves it in place (Art. 17(3)(b) GDPR).
"""

from __future__ import annotations

from datetime import date, datetime

# Years by the seller's country; a country not listed keeps the longer German period.
RETENTION_YEARS = {"DE": 8, "NL": 7}
DEFAULT_YEARS = 8


def retained_until(issued_at: date | datetime, seller_country: str = "DE") -> date:
    """The last day a document issued at ``issued_at`` must be kept."""
    years = RETENTION_YEARS.get(seller_country.upper(), DEFAULT_YEARS)
    return date(issued_at.year + years, 12, 31)


def may_erase(issued_at: date | datetime, today: date, seller_country: str = "DE") -> bool:
    """Whether the retention period of a document issued at ``issued_at`` is over."""
    return today > retained_until(issued_at, seller_country)
