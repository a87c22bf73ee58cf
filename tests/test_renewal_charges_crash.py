"""R21 through crashes: `shop jobs run`, a real process, killed with SIGKILL 20 times at
random points over 200 card renewals (at random early moments, right before the fake
Stripe charges a card, and right after it charged one but before the runner heard the
answer), then run to the end: every
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
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import stripe
from fake_smtp import free_port
from payments import stripe_keys, with_keys
from shop_fakes.base import Request, Response
from shop_fakes.stripe import FakeStripe
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from test_renewals_parallel import RUN_AT, SHOP, runner_env, wait_for_dead_transactions

from shop.app import template_environment
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.demo import insert_due_subscriptions
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order
from shop.orders.notifications import RENEWAL_INVOICE, notify
from shop.payments.received import Context
from shop.payments.renewal_charges import claim_one, reconcile_charges
from shop.plugins.manager import EnabledPlugins, Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.models import Subscription
from shop.subscriptions.renewals import invoice_renewals, run_renewals

RENEWALS, KILLS = 200, 20
DECLINED_EVERY = 10  # every 10th subscription's card is declined
DECLINING_CARD = "4000000000000002"


class CrashingStripe(FakeStripe):
    """A fake Stripe that can kill the runner at its n-th charge request: before charging
    (the runner dies waiting, nothing moved) or after charging, before it answers (the
    money moved, the runner never learns it)."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: subprocess.Popen[bytes] | None = None
        self.kill_after: int | None = None  # kill at this many more charge requests
        self.kill_before = False  # kill before the charge instead of after it
        self.killed = threading.Event()

    def _countdown(self, request: Request, before: bool) -> None:
        charging = request.method == "POST" and request.path == "/v1/payment_intents"
        with self._state:
            if not charging or self.kill_before != before or self.victim is None:
                return
            if self.kill_after is not None:
                self.kill_after -= 1
                if self.kill_after <= 0:
                    self.kill_after = None
                    self.victim.kill()
                    self.killed.set()

    def handle(self, request: Request) -> Response:
        self._countdown(request, before=True)
        response = super().handle(request)
        self._countdown(request, before=False)
        return response


def card_subscriptions(engine: Engine, fake: FakeStripe, count: int = RENEWALS) -> set[int]:
    """Due yearly subscriptions paid by a kept card; the ids of the declining ones."""
    insert_due_subscriptions(engine, count)
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
    """Start runners and SIGKILL each at a random point until ``KILLS`` kills landed.

    Each kill lets a runner make at most a few charges (a timed kill comes early, while it
    starts, reconciles or renews), so 20 kills never use up the 200 renewals however fast
    the machine is."""
    kills, how = 0, []
    while kills < KILLS:
        process = start_runner(settings, fake, log)
        way = ("after a charge", "before a charge", "at a random moment")[kills % 3]
        with fake._state:
            fake.victim = process
            fake.killed.clear()
            fake.kill_before = way == "before a charge"
            fake.kill_after = rng.randint(1, 5) if way != "at a random moment" else None
        if way != "at a random moment":
            fake.killed.wait(timeout=120)
        else:
            try:
                process.wait(timeout=rng.uniform(0.2, 1.2))
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=60)
        with fake._state:
            fake.kill_after = None
        if process.returncode == 0:
            break  # it finished before the kill: nothing left to crash
        kills += 1
        how.append(way)
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


# One interrupted charge, step by step ---------------------------------------------------


def test_r21_a_charge_whose_answer_was_lost_is_found_at_stripe_and_never_invoiced(
    seeded: Settings,
) -> None:
    fake = FakeStripe().start()
    engine = make_engine(seeded.database_url)
    reachable = with_keys(seeded, **stripe_keys(fake))
    unreachable = reachable.with_plugin_values(
        {"card": {"api_base": f"http://127.0.0.1:{free_port()}"}}
    )
    clock = Clock.from_setting(RUN_AT, seeded.timezone)
    plugins = Plugins(get_plugin_manager())
    templates = template_environment(seeded)

    def enabled_for(session: Session) -> EnabledPlugins:
        return enabled_view(session, plugins, reachable)

    def context(settings: Settings) -> Callable[[Session], Context]:
        return lambda session: Context(
            enabled_for(session), settings, templates, clock.now(), clock.today()
        )

    def invoiced() -> int:
        def send(session: Session, enabled: EnabledPlugins, order: Order) -> None:
            notify(session, templates, enabled, reachable, order, clock.now())

        return invoice_renewals(engine, enabled_for, send, clock.now())

    try:
        card_subscriptions(engine, fake, count=1)
        run_renewals(engine, enabled_for, clock.today(), clock.now(), timedelta(days=14))
        # A runner claimed the order, Stripe charged the card, and the runner died before
        # it heard the answer: the claim is committed, the outcome is not.
        with session_scope(engine) as session:
            claimed = claim_one(session, context(reachable), 0)
        assert claimed is not None and claimed.charge is not None
        charge = claimed.charge
        lost = charge.method.charge_renewal(
            charge.request, charge.customer, charge.saved_method, reachable
        )
        assert lost.payment is not None
        assert invoiced() == 0  # its charge may have succeeded: not invoiced

        report = reconcile_charges(engine, context(unreachable))  # Stripe cannot be asked
        assert (report.reconciled, report.unsettled) == (0, 1)
        assert invoiced() == 0

        report = reconcile_charges(engine, context(reachable))
        assert (report.reconciled, report.charged, report.unsettled) == (1, 1, 0)
        with session_scope(engine) as session:
            order = session.scalars(select(Order).where(col(Order.kind) == "renewal")).one()
            assert (order.status, order.charge_outcome) == ("paid", "charged")
            assert order.charge_key == f"renewal-{order.token}"
            assert order.paid_amount == order.total
        assert invoiced() == 0
        assert len(fake.payment_intents) == 1  # found, not charged again
    finally:
        engine.dispose()
        fake.stop()
