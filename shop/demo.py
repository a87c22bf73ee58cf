"""The demo data a fresh shop starts with, so there is something real to browse."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop.catalog.rates import current_rates, set_rate
from shop.licences.models import Licence
from shop.subscriptions.models import Subscription

# A plausible EUR→DZD rate and a 5 % fluctuation margin; the operator sets the real one.
DEMO_DZD_RATE = Decimal("150.00")
DEMO_DZD_MARGIN = Decimal("0.05")


def seed_demo(session: Session, now: datetime) -> None:
    """Give a new database what the catalog needs beyond the plugins: the DZD rate."""
    if "DZD" not in current_rates(session):
        set_rate(session, "DZD", "EUR", DEMO_DZD_RATE, DEMO_DZD_MARGIN, now)


DUE_ITEMS = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}]


def insert_due_subscriptions(
    engine: Engine,
    count: int,
    term_start: date = date(2025, 1, 1),
    term_end: date = date(2026, 1, 1),
) -> None:
    """``count`` active yearly subscriptions (base package and 5 persons) with their
    licences, in bulk in one transaction: load for `shop jobs run` tests and benchmarks.

    The tables are analyzed afterwards, as after any bulk load: without statistics the
    planners would not know that most rows are due, and would sort them all for each
    batch instead of walking the job's index."""
    created = datetime.combine(term_start, datetime.min.time(), UTC)
    licences = Licence.__table__  # type: ignore[attr-defined]
    subscriptions = Subscription.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            insert(licences),
            [
                {
                    "email": f"sub{i}@example.com",
                    "status": "active",
                    "product": "base-yearly",
                    "quantities": {"base-yearly": 1, "persons-yearly": 5},
                    "paid_until": term_end,
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(count)
            ],
        )
        licence_ids: dict[str, int] = dict(
            connection.execute(select(licences.c.email, licences.c.id)).all()
        )
        connection.execute(
            insert(subscriptions),
            [
                {
                    "token": secrets.token_urlsafe(24),
                    "licence_id": licence_ids[f"sub{i}@example.com"],
                    "email": f"sub{i}@example.com",
                    "country": "DE",
                    "locale": "de",
                    "payment_method": "bank_transfer",
                    "status": "active",
                    "items": DUE_ITEMS,
                    "currency": "EUR",
                    "recurring_total": Decimal("520.00"),
                    "billing_period_months": 12,
                    "anchor": term_start,
                    "term_start": term_start,
                    "term_end": term_end,
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(count)
            ],
        )
        for table in ("licence", "subscription"):
            connection.execute(text(f"ANALYZE {table}"))
