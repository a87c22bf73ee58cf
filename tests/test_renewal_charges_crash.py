"""R21 through crashes: `shop jobs run`, a real process, killed with SIGKILL 20 times at
random points over 200 card renewals (at random moments, and right after the fake Stripe
charged a card but before the runner heard the answer), then run to the end: every
renewal is charged exactly once at Stripe or, when the card is declined, invoiced, and
none is both charged and invoiced.

The runner talks to a fake Stripe in this process through the real SDK; no webhooks are
sent, so a charge whose answer was lost can only be found by the runner's reconciliation.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import stripe
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import col
from test_renewals_parallel import SHOP, runner_env, wait_for_dead_transactions

from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order
from shop.orders.notifications import RENEWAL_INVOICE
from shop.payments.fakes.base import Request, Response
from shop.payments.fakes.stripe import FakeStripe
from shop.settings import Settings
from shop.subscriptions.models import Subscription

RENEWALS, KILLS = 200, 20
DECLINED_EVERY = 10  # every 10th subscription's card is declined
DECLINING_CARD = "4000000000000002"


class CrashingStripe(FakeStripe):
    """A fake Stripe that can kill the runner after charging a card, before it answers:
    the money moved, the runner never learns it."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: subprocess.Popen[bytes] | None = None
        self.kill_after: int | None = None  # kill after this many more charges
        self.killed = threading.Event()

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        charging = request.method == "POST" and request.path == "/v1/payment_intents"
        with self._state:
            if charging and self.kill_after is not None and self.victim is not None:
                self.kill_after -= 1
                if self.kill_after <= 0:
                    self.kill_after = None
                    self.victim.kill()
                    self.killed.set()
        return response


def card_subscriptions(engine: Engine, fake: FakeStripe) -> set[int]:
    """200 due yearly subscriptions paid by a kept card; the ids of the declining ones."""
    insert_due_subscriptions(engine, RENEWALS)
    client = stripe.StripeClient(fake.secret_key, base_addresses={"api": fake.base_url})
    declining = set()
    with engine.begin() as connection:
        ids = connection.execute(select(col(Subscription.id)).order_by("id")).scalars().all()
        for n, subscription_id in enumerate(ids):
            customer = client.v1.customers.create(params={"email": f"sub{n}@example.com"}).id
            bad = n % DECLINED_EVERY == DECLINED_EVERY - 1
            card = fake.attach_card(customer, DECLINING_CARD if bad else "4242424242424242")
            if bad:
                declining.add(subscription_id)
            connection.execute(
                update(Subscription)
                .where(col(Subscription.id) == subscription_id)
                .values(payment_method="card", saved_customer=customer, saved_method=card)
            )
    return declining


def stripe_env(fake: FakeStripe) -> dict[str, str]:
    return {
        "SHOP_STRIPE_SECRET_KEY": fake.secret_key,
        "SHOP_STRIPE_PUBLISHABLE_KEY": fake.publishable_key,
        "SHOP_STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
        "SHOP_STRIPE_API_BASE": fake.base_url,
    }


def start_runner(settings: Settings, fake: FakeStripe, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(SHOP), "jobs", "run"],
            env={**runner_env(settings), **stripe_env(fake)},
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def kill_at_random(
    settings: Settings, fake: CrashingStripe, log: Path, rng: random.Random
) -> tuple[int, list[str]]:
    """Start runners and SIGKILL each at a random point until ``KILLS`` kills landed."""
    kills, how = 0, []
    while kills < KILLS:
        process = start_runner(settings, fake, log)
        after_charge = kills % 2 == 0
        with fake._state:
            fake.victim = process
            fake.killed.clear()
            fake.kill_after = rng.randint(1, 8) if after_charge else None
        if after_charge:
            fake.killed.wait(timeout=120)
        else:
            try:
                process.wait(timeout=rng.uniform(0.3, 4.0))
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=60)
        with fake._state:
            fake.kill_after = None
        if process.returncode == 0:
            break  # it finished before the kill: nothing left to crash
        kills += 1
        how.append("after a charge" if after_charge else "at a random moment")
    return kills, how


def test_r21_kill_renewal_charges_20_times_each_charged_once_or_invoiced(
    seeded: Settings, tmp_path: Path
) -> None:
    rng = random.Random(9)
    fake = CrashingStripe().start()
    engine = make_engine(seeded.database_url)
    log = tmp_path / "runs.txt"
    try:
        declining = card_subscriptions(engine, fake)
        started = time.monotonic()
        kills, how = kill_at_random(seeded, fake, log, rng)
        if engine.dialect.name == "postgresql":
            wait_for_dead_transactions(engine, time.monotonic() + 60)
        final_log = tmp_path / "final.txt"
        final = start_runner(seeded, fake, final_log)
        assert final.wait(timeout=600) == 0, final_log.read_text()
        assert "0 still unsettled" in final_log.read_text()
        print(
            f"\n{kills} kills ({Counter(how)}) over {RENEWALS} card renewals, then a full "
            f"run: {time.monotonic() - started:.1f} s"
        )
        assert kills == KILLS, log.read_text()[-3000:]

        with engine.connect() as connection:
            orders = connection.execute(
                select(
                    col(Order.number),
                    col(Order.subscription_id),
                    col(Order.status),
                    col(Order.charge_outcome),
                ).where(col(Order.kind) == "renewal")
            ).all()
            invoiced = Counter(
                connection.execute(
                    select(col(OutboxMessage.order_number)).where(
                        col(OutboxMessage.kind) == RENEWAL_INVOICE
                    )
                ).scalars()
            )
            payments = Counter(
                connection.execute(
                    text("SELECT o.number FROM payment p JOIN shop_order o ON o.id = p.order_id")
                ).scalars()
            )
        with fake._state:
            intents = list(fake.payment_intents.values())
        opened = Counter(int(pi["metadata"]["order_number"]) for pi in intents)
        charged = Counter(
            int(pi["metadata"]["order_number"]) for pi in intents if pi["status"] == "succeeded"
        )

        assert len(orders) == RENEWALS
        for number, subscription_id, status, outcome in orders:
            assert opened[number] == 1, f"order {number}: {opened[number]} PaymentIntents"
            if subscription_id in declining:
                assert charged[number] == 0
                assert (status, outcome) == ("pending", "declined")
                assert invoiced[str(number)] == 1, f"declined order {number} not invoiced once"
            else:
                assert charged[number] == 1, f"order {number} charged {charged[number]} times"
                assert (status, outcome) == ("paid", "charged")
                assert payments[number] == 1
                assert invoiced[str(number)] == 0, f"order {number} charged and invoiced"
    finally:
        engine.dispose()
        fake.stop()
