"""Renewals in bulk (R8, R10, R20, R21): one run over several small batches renews every
kind of due subscription as a one-by-one renewal would: current prices per currency,
scheduled downgrades applied, pending cancellations ended, gapless order numbers, the
history kept; unpaid ones expire after the grace period; each gets one invoice mail.

Runs on SQLite and PostgreSQL; the batches are tiny so that every run spans several."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.app import template_environment
from shop.db import alembic_config, make_engine, session_scope
from shop.licences.models import Licence
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order, OrderLine
from shop.orders.notifications import RENEWAL_INVOICE, notify
from shop.orders.numbers import next_numbers
from shop.plugins.manager import EnabledPlugins, Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionEvent
from shop.subscriptions.renewals import count_uninvoiced, invoice_renewals, run_renewals

TERM_START, TERM_END = date(2025, 1, 1), date(2026, 1, 1)
RUN_AT = datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
GRACE = timedelta(days=14)
BASE_5 = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}]


def items(persons: int) -> list[dict[str, Any]]:
    return [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": persons}]


@pytest.fixture
def engine(seeded: Settings) -> Iterator[Engine]:
    engine = make_engine(seeded.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def enabled_for(seeded: Settings) -> Any:
    plugins = Plugins(get_plugin_manager())
    return lambda session: enabled_view(session, plugins, seeded)


def add_subscription(
    session: Session,
    email: str,
    *,
    currency: str = "EUR",
    country: str = "DE",
    subscribed: list[dict[str, Any]] = BASE_5,
    status: str = "active",
    term_end: date = TERM_END,
    scheduled_items: list[dict[str, Any]] | None = None,
    on_hold_since: datetime | None = None,
) -> int:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    licence = Licence(
        email=email,
        status="active",
        product="base-yearly",
        quantities={i["sku"]: i["quantity"] for i in subscribed},
        paid_until=term_end,
        created_at=created,
        updated_at=created,
    )
    session.add(licence)
    session.flush()
    subscription = Subscription(
        token=f"token-{email}",
        licence_id=licence.id or 0,
        email=email,
        country=country,
        locale="nl",
        payment_method="bank_transfer",
        status=status,
        items=subscribed,
        currency=currency,
        recurring_total=Decimal("1.00"),
        billing_period_months=12,
        anchor=TERM_START,
        term_start=TERM_START,
        term_end=term_end,
        scheduled_items=scheduled_items,
        on_hold_since=on_hold_since,
        created_at=created,
        updated_at=created,
    )
    session.add(subscription)
    session.flush()
    assert subscription.id is not None
    return subscription.id


@pytest.fixture
def shop_subscriptions(engine: Engine) -> dict[str, int]:
    """One of each: due in EUR, USD (both billed in Germany) and DZD (Algeria) with the
    same items, one with a downgrade waiting, a pending cancellation, one not due yet, one
    on hold for a month already."""
    with session_scope(engine) as session:
        return {
            "eur": add_subscription(session, "eur@example.com"),
            "usd": add_subscription(session, "usd@example.com", currency="USD"),
            "dzd": add_subscription(session, "dzd@example.com", currency="DZD", country="DZ"),
            "downgrade": add_subscription(
                session, "down@example.com", subscribed=items(20), scheduled_items=items(10)
            ),
            "cancelling": add_subscription(session, "bye@example.com", status="pending-cancel"),
            "later": add_subscription(session, "later@example.com", term_end=date(2026, 6, 1)),
            "eur-again": add_subscription(session, "eur2@example.com"),
            "late": add_subscription(
                session,
                "late@example.com",
                status="on-hold",
                on_hold_since=datetime(2025, 12, 1, tzinfo=UTC),
            ),
        }


def renewal_orders(engine: Engine) -> dict[int, Order]:
    """The renewal orders by subscription id."""
    with Session(engine) as session:
        orders = session.exec(select(Order).where(Order.kind == "renewal")).all()
    return {order.subscription_id or 0: order for order in orders}


def lines_of(engine: Engine, order: Order) -> list[tuple[int, str, int, Decimal, Decimal]]:
    with Session(engine) as session:
        lines = session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by("position")
        ).all()
    return [(ln.position, ln.sku, ln.quantity, ln.unit_price, ln.total) for ln in lines]


def history(engine: Engine, subscription_id: int) -> list[tuple[str, str | None, str, str]]:
    with Session(engine) as session:
        events = session.exec(
            select(SubscriptionEvent)
            .where(SubscriptionEvent.subscription_id == subscription_id)
            .order_by(col(SubscriptionEvent.id))
        ).all()
    return [(e.actor, e.from_status, e.to_status, e.reason) for e in events]


def subscription(engine: Engine, subscription_id: int) -> Subscription:
    with Session(engine) as session:
        found = session.get(Subscription, subscription_id)
    assert found is not None
    return found


def test_r21_one_bulk_run_renews_each_kind_of_subscription_as_it_should(
    engine: Engine, enabled_for: Any, shop_subscriptions: dict[str, int]
) -> None:
    ids = shop_subscriptions
    report = run_renewals(engine, enabled_for, RUN_AT.date(), RUN_AT, GRACE, batch=2)
    assert (report.renewed, report.cancelled, report.expired) == (5, 1, 1)

    orders = renewal_orders(engine)
    renewed = {ids[k] for k in ("eur", "usd", "dzd", "downgrade", "eur-again")}
    assert set(orders) == renewed
    assert sorted(o.number for o in orders.values()) == [1, 2, 3, 4, 5]  # gapless (R8)
    assert sorted(report.orders) == [1, 2, 3, 4, 5]
    # current prices per currency (R21), DZD at 150 x 1.05 (R14): base, persons, unit, total
    expected = {
        "eur": ("EUR", "490.00", 5, "6.00", "520.00"),
        "usd": ("USD", "540.00", 5, "6.60", "573.00"),
        "dzd": ("DZD", "77175.00", 5, "945.00", "81900.00"),
        "downgrade": ("EUR", "490.00", 10, "6.00", "550.00"),
        "eur-again": ("EUR", "490.00", 5, "6.00", "520.00"),
    }
    for key, (currency, base, persons, unit, total) in expected.items():
        order = orders[ids[key]]
        assert (order.currency, order.total, order.status) == (currency, Decimal(total), "pending")
        assert order.renewal_term_start == TERM_END
        assert (order.locale, order.payment_method) == ("nl", "bank_transfer")
        assert order.licence_id == subscription(engine, ids[key]).licence_id
        assert order.paid_amount == 0
        assert lines_of(engine, order) == [
            (0, "base-yearly", 1, Decimal(base), Decimal(base)),
            (1, "persons-yearly", persons, Decimal(unit), persons * Decimal(unit)),
        ]
        state = subscription(engine, ids[key])
        assert (state.status, state.recurring_total) == ("on-hold", Decimal(total))
        assert state.on_hold_since is not None
        assert state.on_hold_since.replace(tzinfo=UTC) == RUN_AT
        assert history(engine, ids[key])[-1] == (
            "renewal",
            "active",
            "on-hold",
            f"renewal order {order.number} awaiting payment",
        )

    downgraded = subscription(engine, ids["downgrade"])  # R20: the downgrade applied now
    assert (downgraded.items, downgraded.scheduled_items) == (items(10), None)
    assert history(engine, ids["downgrade"])[0] == (
        "renewal",
        None,
        "active",
        "scheduled downgrade applied: {'base-yearly': 1, 'persons-yearly': 10}",
    )
    assert subscription(engine, ids["cancelling"]).status == "cancelled"  # R10: no renewal
    assert history(engine, ids["cancelling"]) == [
        ("job", "pending-cancel", "cancelled", "cancelled by the customer; the paid term has ended")
    ]
    assert subscription(engine, ids["later"]).status == "active"
    assert history(engine, ids["later"]) == []
    assert subscription(engine, ids["late"]).status == "expired"

    again = run_renewals(engine, enabled_for, RUN_AT.date(), RUN_AT, GRACE, batch=2)
    assert (again.renewed, again.cancelled) == (0, 0)  # never two renewals for one term
    assert len(renewal_orders(engine)) == 5


def test_r21_unpaid_renewals_expire_in_batches_after_the_grace_period(
    engine: Engine, enabled_for: Any, shop_subscriptions: dict[str, int]
) -> None:
    ids = shop_subscriptions
    run_renewals(engine, enabled_for, RUN_AT.date(), RUN_AT, GRACE, batch=2)
    day_14 = RUN_AT + GRACE - timedelta(hours=1)
    assert run_renewals(engine, enabled_for, day_14.date(), day_14, GRACE, batch=2).expired == 0

    day_15 = RUN_AT + GRACE + timedelta(hours=1)
    report = run_renewals(engine, enabled_for, day_15.date(), day_15, GRACE, batch=2)
    assert report.expired == 5
    orders = renewal_orders(engine)
    for key in ("eur", "usd", "dzd", "downgrade", "eur-again"):
        state = subscription(engine, ids[key])
        assert state.status == "expired"
        assert history(engine, ids[key])[-1] == (
            "job",
            "on-hold",
            "expired",
            "renewal unpaid after 14 days",
        )
        assert licence_status(engine, state.licence_id) == "expired"
        assert (orders[ids[key]].status, orders[ids[key]].closed_at is not None) == (
            "expired",
            True,
        )
    assert licence_status(engine, subscription(engine, ids["later"]).licence_id) == "active"


def licence_status(engine: Engine, licence_id: int) -> str:
    with Session(engine) as session:
        licence = session.get(Licence, licence_id)
    assert licence is not None
    return licence.status


def test_renewal_invoices_are_written_once_per_order_in_batches(
    engine: Engine, enabled_for: Any, seeded: Settings, shop_subscriptions: dict[str, int]
) -> None:
    run_renewals(engine, enabled_for, RUN_AT.date(), RUN_AT, GRACE, batch=2)
    templates = template_environment(seeded)
    first = min(order.number for order in renewal_orders(engine).values())
    with session_scope(engine) as session:  # this one was invoiced by an earlier run
        order = session.exec(select(Order).where(Order.number == first)).one()
        notify(session, templates, enabled_for(session), seeded, order, RUN_AT)

    def send(session: Session, enabled: EnabledPlugins, order: Order) -> None:
        notify(session, templates, enabled, seeded, order, RUN_AT)

    written: list[int] = []
    assert invoice_renewals(engine, enabled_for, send, RUN_AT, written.append, batch=2) == 4
    assert sum(written) == 4
    assert invoice_renewals(engine, enabled_for, send, RUN_AT, batch=2) == 0
    with Session(engine) as session:
        mails = session.exec(select(OutboxMessage)).all()
    assert sorted(int(m.order_number or 0) for m in mails) == [1, 2, 3, 4, 5]
    assert {m.kind for m in mails} == {RENEWAL_INVOICE}
    assert {m.locale for m in mails} == {"nl"}
    invoiced_at = {order.invoiced_at for order in renewal_orders(engine).values()}
    assert {moment.replace(tzinfo=UTC) for moment in invoiced_at if moment} == {RUN_AT}
    assert None not in invoiced_at
    with Session(engine) as session:
        assert count_uninvoiced(session) == 0  # what the next run's progress counts


def test_r8_numbers_taken_together_are_given_back_by_a_rollback(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        assert list(next_numbers(session, 3)) == [1, 2, 3]
        raise RuntimeError("the batch failed")
    with session_scope(engine) as session:
        assert list(next_numbers(session, 2)) == [1, 2]
        assert list(next_numbers(session, 1)) == [3]


def test_orders_invoiced_before_the_invoiced_at_column_keep_their_mail_time(
    database_url: str, engine: Engine
) -> None:
    """Revision 0003 marks renewal orders whose invoice mail is in the outbox already."""
    config = alembic_config(database_url)
    command.downgrade(config, "0002")
    mailed = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    with engine.begin() as connection:
        for number in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO shop_order (number, token, status, kind, email, name, country, "
                    "locale, currency, total, paid_amount, payment_method, created_at) VALUES "
                    "(:n, :token, 'pending', 'renewal', 'm@example.com', 'm', 'DE', 'de', "
                    "'EUR', 520, 0, 'bank_transfer', :t)"
                ),
                {"n": number, "token": f"token-{number}", "t": mailed},
            )
        connection.execute(
            text(
                "INSERT INTO outbox_message (to_address, subject, text_body, locale, kind, "
                "order_number, created_at, attempts) VALUES ('m@example.com', 's', 't', 'de', "
                "'renewal_due', '1', :t, 0)"
            ),
            {"t": mailed},
        )
    command.upgrade(config, "head")
    with Session(engine) as session:
        first, second = session.exec(select(Order).order_by(col(Order.number))).all()
        assert first.invoiced_at is not None
        assert first.invoiced_at.replace(tzinfo=UTC) == mailed
        assert second.invoiced_at is None  # no mail yet: the next run invoices it
        assert count_uninvoiced(session) == 1
