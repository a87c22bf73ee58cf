"""R21 under load: several `shop jobs run` processes renewing at once (on SQLite and on
PostgreSQL), and a runner killed mid-run, never give two renewal orders (or two invoices)
for one term, and never lose one.

The runners are real subprocesses (the installed `shop` command), so each has its own
connections and the database does all the arbitration (FOR UPDATE SKIP LOCKED or SQLite's
single writer, the unique index on (subscription_id, renewal_term_start), the gapless
counter row). They renew in small batches (``SHOP_JOBS_BATCH``) so that even a short run
has many batches for the runners to share.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order, OrderLine
from shop.settings import Settings
from shop.subscriptions.models import Subscription

SHOP = Path(sys.executable).parent / "shop"
BATCH = 25  # subscriptions per renewal batch in these runs
RUN_AT = "2026-01-01T06:00:00+01:00"
TERM_START, TERM_END = date(2025, 1, 1), date(2026, 1, 1)
RENEWAL_TOTAL = Decimal("520.00")  # 490 + 5 x 6
RENEWED = re.compile(r"Renewed (\d+) subscription\(s\)")

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def runner_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `shop jobs run`: no SHOP_* setting leaks in (no SMTP)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
    env.update(
        SHOP_DATABASE_URL=settings.database_url,
        SHOP_CLOCK=RUN_AT,
        SHOP_LICENCE_SIGNING_KEY=settings.licence_signing_key or "",
        SHOP_JOBS_BATCH=str(BATCH),
        # The suite's choice of plugins (tests/conftest.py), not whatever is installed.
        SHOP_PLUGINS=os.environ.get("SHOP_PLUGINS", "builtin"),
        **extra,
    )
    return env


def start_runner(settings: Settings, output: Path) -> tuple[subprocess.Popen[bytes], Path]:
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(SHOP), "jobs", "run"],
            env=runner_env(settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return process, output


def renewed_by(output: str) -> int:
    match = RENEWED.search(output)
    assert match is not None, output
    return int(match.group(1))


def renewal_orders(engine: Engine) -> list[tuple[int, int, date, Decimal]]:
    """(number, subscription_id, renewal_term_start, total) of every renewal order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                col(Order.number),
                col(Order.subscription_id),
                col(Order.renewal_term_start),
                col(Order.total),
            ).where(col(Order.kind) == "renewal")
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def count(engine: Engine, statement: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())  # type: ignore[call-overload]


def subscription_statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(col(Subscription.status), func.count()).group_by(col(Subscription.status))
        ).all()
    return {status: n for status, n in rows}


def assert_renewed_once(engine: Engine, subscriptions: int) -> None:
    """Exactly one renewal order per subscription for the term starting 2026-01-01, numbered
    1..n without gaps (R8), each with its lines and one invoice mail; all on hold."""
    orders = renewal_orders(engine)
    assert len(orders) == subscriptions
    assert len({subscription_id for _, subscription_id, _, _ in orders}) == subscriptions
    assert {term_start for _, _, term_start, _ in orders} == {TERM_END}
    assert {total for _, _, _, total in orders} == {RENEWAL_TOTAL}
    assert sorted(number for number, _, _, _ in orders) == list(range(1, subscriptions + 1))
    assert count(engine, select(func.count()).select_from(Order)) == subscriptions
    assert count(engine, select(func.count()).select_from(OrderLine)) == 2 * subscriptions
    invoices = select(func.count(func.distinct(OutboxMessage.order_number)))
    assert count(engine, invoices) == subscriptions
    assert count(engine, select(func.count()).select_from(OutboxMessage)) == subscriptions
    assert subscription_statuses(engine) == {"on-hold": subscriptions}


def test_r21_four_parallel_job_runners_renew_1000_subscriptions_once(
    seeded: Settings, tmp_path: Path
) -> None:
    subscriptions, runners = 1000, 4
    engine = make_engine(seeded.database_url)
    try:
        insert_due_subscriptions(engine, subscriptions)
        started = time.monotonic()
        processes = [start_runner(seeded, tmp_path / f"runner{n}.txt") for n in range(runners)]
        for process, _ in processes:
            process.wait(timeout=600)
        elapsed = time.monotonic() - started
        outputs = [output.read_text() for _, output in processes]
        for (process, _), output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output
        counts = [renewed_by(output) for output in outputs]
        print(
            f"\n{runners} runners renewed {subscriptions} subscriptions in {elapsed:.1f} s, "
            f"split {counts}"
        )

        assert sum(counts) == subscriptions
        assert sum(1 for n in counts if n > 0) >= 2, counts  # the runners really overlapped
        assert_renewed_once(engine, subscriptions)
    finally:
        engine.dispose()


def counter_in_use(engine: Engine) -> bool:
    """Whether an open transaction holds the order counter row, i.e. has numbered an
    order it has not committed yet."""
    with engine.connect() as connection:
        try:
            connection.execute(
                text("SELECT last FROM number_sequence WHERE name = 'order' FOR UPDATE NOWAIT")
            )
        except OperationalError:
            return True
        finally:
            connection.rollback()
    return False


def wait_for_dead_transactions(engine: Engine, deadline: float) -> None:
    """Wait until PostgreSQL has rolled back the killed runner's transaction, i.e. no row of
    ``subscription`` is still locked, so the next run does not skip its rows."""
    while True:
        with engine.connect() as connection:
            lockable = connection.execute(
                text("SELECT count(*) FROM (SELECT id FROM subscription FOR UPDATE SKIP LOCKED) s")
            ).scalar_one()
            total = connection.execute(text("SELECT count(*) FROM subscription")).scalar_one()
            connection.rollback()
        if lockable == total:
            return
        assert time.monotonic() < deadline, "the killed runner's locks were never released"
        time.sleep(0.05)


def hold_the_renewal_of(engine: Engine, subscription_id: int) -> Connection:
    """An open transaction that has written, not committed, a renewal order for
    ``subscription_id``'s next term: a runner writing that order waits on the unique index
    (R21) until this transaction ends, and meanwhile holds the numbers of its batch."""
    holder = engine.connect()
    licence_id = holder.execute(
        select(col(Subscription.licence_id)).where(col(Subscription.id) == subscription_id)
    ).scalar_one()
    holder.execute(
        insert(Order.__table__),  # type: ignore[attr-defined]
        {
            "number": 10**9,
            "token": "held-by-the-test",
            "status": "pending",
            "kind": "renewal",
            "email": "held@example.com",
            "name": "held",
            "country": "DE",
            "locale": "de",
            "currency": "EUR",
            "total": RENEWAL_TOTAL,
            "paid_amount": Decimal(0),
            "payment_method": "bank_transfer",
            "licence_id": licence_id,
            "subscription_id": subscription_id,
            "renewal_term_start": TERM_END,
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
    )
    return holder


@postgresql_only
def test_r21_a_runner_killed_mid_run_loses_nothing(seeded: Settings, tmp_path: Path) -> None:
    subscriptions = 300
    engine = make_engine(seeded.database_url)
    renewal_count = select(func.count()).select_from(Order).where(col(Order.kind) == "renewal")
    try:
        insert_due_subscriptions(engine, subscriptions)
        with engine.connect() as connection:
            ids = connection.execute(select(col(Subscription.id)).order_by("id")).scalars().all()
        # The runner commits its first batch, then waits in its second one, numbers taken
        # and orders half written, until the test's transaction ends: kill it there.
        holder = hold_the_renewal_of(engine, ids[BATCH])
        process, output = start_runner(seeded, tmp_path / "killed.txt")
        deadline = time.monotonic() + 120
        while count(engine, renewal_count) == 0 or not counter_in_use(engine):
            assert process.poll() is None, f"the runner ended too soon:\n{output.read_text()}"
            assert time.monotonic() < deadline, "the runner never reached its second batch"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        holder.rollback()
        holder.close()
        assert process.returncode == -signal.SIGKILL, "the runner finished before the kill"

        wait_for_dead_transactions(engine, time.monotonic() + 60)
        before = count(engine, renewal_count)
        print(f"\nkilled the runner after {before} of {subscriptions} renewals were committed")
        # Only whole committed batches survive a kill. (The held row is usually skipped by
        # the claim, whose FOR UPDATE meets the test's foreign-key lock, so the kill lands
        # in whichever batch was writing when the counter was seen taken.)
        assert before > 0 and before % BATCH == 0
        with engine.connect() as connection:  # the killed batch gave its numbers back (R8)
            last = "SELECT last FROM number_sequence WHERE name = 'order'"
            assert connection.execute(text(last)).scalar_one() == before
        assert subscription_statuses(engine) == {
            "on-hold": before,
            "active": subscriptions - before,
        }

        again, again_output = start_runner(seeded, tmp_path / "again.txt")
        again.wait(timeout=600)
        text_out = again_output.read_text()
        assert again.returncode == 0, text_out
        assert renewed_by(text_out) == subscriptions - before
        assert_renewed_once(engine, subscriptions)
    finally:
        engine.dispose()
