"""Lifecycle events (issue 11): stored beside the change in one transaction, told to the
enabled plugins' ``shop_event`` after commit, once each; a rollback emits nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlmodel import Session, col, select

import shop.cli
from shop.app import create_app
from shop.cli import main
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.orders.models import Order
from shop.plugins import events as shop_events
from shop.plugins.context import HookContext
from shop.plugins.events import Event, StoredEvent, emit
from shop.plugins.hookspecs import hookimpl
from shop.plugins.jobs import JobContext
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import set_enabled
from shop.settings import Settings

NOW = "2025-04-01T09:00:00+00:00"
BASE = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]


def checkout(**changes: Any) -> dict[str, Any]:
    return {
        "email": "anna@example.com",
        "name": "Anna Berg",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": BASE,
        **changes,
    }


def pay(client: TestClient, admin: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    body = {**order["total"], "method": "bank_transfer", "reference": "ref"}
    paid = client.post(f"/api/v1/admin/orders/{order['number']}/payments", json=body, headers=admin)
    assert paid.status_code in (200, 201), paid.text
    return paid.json()["order"]  # type: ignore[no-any-return]


def place(client: TestClient, **changes: Any) -> dict[str, Any]:
    placed = client.post("/api/v1/orders", json=checkout(**changes))
    assert placed.status_code == 201, placed.text
    return placed.json()["order"]  # type: ignore[no-any-return]


def stored(settings: Settings) -> list[StoredEvent]:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        rows = list(session.exec(select(StoredEvent).order_by(col(StoredEvent.seq))))
    engine.dispose()
    return rows


@dataclass(eq=False)  # plugins are told apart by identity
class Recorder:
    """A plugin that notes each event it hears and whether its order was committed then."""

    database_url: str
    heard: list[tuple[Event, HookContext, str | None]] = field(default_factory=list)

    @hookimpl
    def shop_event(self, context: HookContext, event: Event) -> None:
        number = (event.data.get("order") or {}).get("number")
        status = None
        if number is not None:  # read from another connection: only what has committed
            engine = make_engine(self.database_url)
            with Session(engine) as session:
                order = session.exec(select(Order).where(Order.number == number)).first()
                status = order.status if order else None
            engine.dispose()
        self.heard.append((event, context, status))

    def types(self) -> list[str]:
        return [event.type for event, _, _ in self.heard]


class Broken:
    """A plugin whose hooks always fail: nobody else may notice."""

    @hookimpl
    def shop_event(self, event: Event) -> None:
        raise RuntimeError(f"broken on {event.type}")

    @hookimpl
    def shop_jobs(self, context: JobContext) -> str | None:
        raise RuntimeError("broken job")


class Worker:
    """A plugin with due work of its own."""

    def __init__(self) -> None:
        self.contexts: list[JobContext] = []

    @hookimpl
    def shop_jobs(self, context: JobContext) -> str | None:
        self.contexts.append(context)
        done = context.retry(lambda session: session.exec(select(StoredEvent)).all())
        return f"worker saw {len(done)} stored event(s)"


def with_plugins(settings: Settings, **extra: object) -> Plugins:
    """The installed plugins plus ``extra`` ones, switched on (third parties start off)."""
    plugins = Plugins(get_plugin_manager(extra=list(extra.items())))
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        for name in extra:
            set_enabled(session, plugins, name, True, Clock.from_setting(NOW, "UTC").now())
    engine.dispose()
    return plugins


@pytest.fixture
def recorder(seeded: Settings) -> Recorder:
    return Recorder(seeded.database_url)


@pytest.fixture
def heard(seeded: Settings, recorder: Recorder) -> Iterator[TestClient]:
    plugins = with_plugins(seeded, recorder=recorder, broken=Broken())
    with TestClient(app=create_app(seeded, plugins=plugins)) as client:
        yield client


def test_shop_event_is_called_after_commit_once_per_stored_event(
    heard: TestClient, recorder: Recorder, admin: dict[str, str], seeded: Settings
) -> None:
    """Given a plugin listening (and one that always fails), when a buyer checks out and
    the operator records the payment, then the listener hears order.placed, then order.paid,
    licence.issued and subscription.created, each once, after its transaction committed,
    with the ids stored in the outbox; the failing plugin changes no answer."""
    order = place(heard)
    assert recorder.types() == ["order.placed"]
    placed, context, status_then = recorder.heard[0]
    assert status_then == "pending"  # committed before the plugin was told
    assert context.session is None and context.settings.database_url == seeded.database_url
    assert placed.data["order"]["number"] == order["number"]
    assert placed.data["order"]["total"] == {"amount": order["total"]["amount"], "currency": "EUR"}
    assert placed.data["order"]["items"] == BASE

    paid = pay(heard, admin, order)
    assert paid["status"] == "paid"
    assert recorder.types() == [
        "order.placed",
        "order.paid",
        "licence.issued",
        "subscription.created",
    ]
    statuses = {event.type: status for event, _, status in recorder.heard}
    assert statuses["order.paid"] == "paid"
    licence = next(e for e, _, _ in recorder.heard if e.type == "licence.issued").data["licence"]
    assert licence["id"] == order["licence_id"] and licence["status"] == "active"
    assert licence["paid_until"] == "2026-04-01"
    assert "key" not in licence  # a licence key never leaves in an event
    subscription = recorder.heard[3][0].data["subscription"]
    assert subscription["term_start"] == "2025-04-01" and subscription["term_end"] == "2026-04-01"
    assert [e.id for e, _, _ in recorder.heard] == [row.id for row in stored(seeded)]
    assert all(row.id.startswith("evt_") for row in stored(seeded))


def test_a_refused_checkout_emits_nothing(
    heard: TestClient, recorder: Recorder, seeded: Settings
) -> None:
    """Given a placed order, when a second checkout for the same e-mail is refused (R1),
    then no event is stored or heard for it: its transaction rolled back."""
    place(heard)
    refused = heard.post("/api/v1/orders", json=checkout())
    assert refused.status_code == 409
    assert recorder.types() == ["order.placed"]
    assert [row.type for row in stored(seeded)] == ["order.placed"]


def test_a_rolled_back_transaction_or_savepoint_emits_nothing(settings: Settings) -> None:
    """Given a listener on the engine, when a transaction that emitted rolls back, nothing
    is stored or heard; when a savepoint rolls back inside a committed transaction, only
    the events outside it are."""
    engine = make_engine(settings.database_url)
    told: list[list[str]] = []
    shop_events.listen(engine, lambda events: told.append([e.type for e in events]))
    now = Clock.from_setting(NOW, "UTC").now()
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        emit(session, "order.placed", {"order": {"number": 1}}, now)
        raise RuntimeError("the change failed")
    assert told == [] and stored(settings) == []

    with session_scope(engine) as session:
        emit(session, "order.placed", {"order": {"number": 2}}, now)
        with pytest.raises(RuntimeError), session.begin_nested():
            emit(session, "order.paid", {"order": {"number": 2}}, now)
            raise RuntimeError("refused: the savepoint goes")
        with session.begin_nested():
            emit(session, "licence.issued", {"licence": {"id": 1}}, now)
    assert told == [["order.placed", "licence.issued"]]
    assert [row.type for row in stored(settings)] == ["order.placed", "licence.issued"]

    session = Session(engine)
    emit(session, "order.placed", {"order": {"number": 3}}, now)
    session.close()  # never committed
    emit(session, "order.paid", {"order": {"number": 4}}, now)
    session.commit()  # the same session, a transaction of its own
    assert told[-1] == ["order.paid"]
    assert [row.type for row in stored(settings)][-1] == "order.paid"
    engine.dispose()


def test_a_trial_bought_is_a_licence_converted(
    heard: TestClient, recorder: Recorder, admin: dict[str, str]
) -> None:
    """Given a running trial, when its e-mail buys and pays, then the licence is told as
    converted (R4), not issued anew."""
    trial = heard.post("/api/v1/trials", json={"email": "tom@example.com", "sku": "cloud-starter"})
    assert trial.status_code == 201
    order = place(heard, email="tom@example.com", items=[{"sku": "cloud-professional"}])
    pay(heard, admin, order)
    assert "licence.converted" in recorder.types()
    assert "licence.issued" not in recorder.types()
    converted = next(e for e, _, _ in recorder.heard if e.type == "licence.converted")
    assert converted.data["licence"]["id"] == trial.json()["licence"]["id"]


def jobs_at(settings: Settings, at: str) -> str:
    env = {
        "SHOP_DATABASE_URL": settings.database_url,
        "SHOP_CLOCK": at,
        "SHOP_LICENCE_SIGNING_KEY": settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_shop_jobs_of_each_enabled_plugin_run_in_jobs_run_and_a_failing_one_stops_none(
    seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a plugin with due work and one whose work fails, when ``shop jobs run`` runs,
    then the first reports its line, with a context that reaches the database at the
    clock's now, and the failure is reported without ending the run."""
    worker = Worker()
    plugins = with_plugins(seeded, worker=worker, broken=Broken())
    monkeypatch.setattr(shop.cli, "_plugins", lambda: plugins)
    output = jobs_at(seeded, "2025-05-01T08:00:00+00:00")
    assert "worker saw 0 stored event(s)" in output
    assert "broken: failed (RuntimeError: broken job)" in output
    [context] = worker.contexts
    assert context.now.isoformat() == "2025-05-01T08:00:00+00:00"


def test_renewals_cancellation_and_a_paid_renewal_are_told(
    client: TestClient, admin: dict[str, str], seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given two paid subscriptions, one cancelled by its subscriber: at term end the jobs
    tell subscription.on_hold (with its renewal order) for one and subscription.cancelled
    for the other; the renewal paid tells subscription.renewed and licence.renewed; the
    plugins hear the jobs' events after each batch commits."""
    recorder = Recorder(seeded.database_url)
    plugins = with_plugins(seeded, recorder=recorder)
    monkeypatch.setattr(shop.cli, "_plugins", lambda: plugins)
    kept = pay(client, admin, place(client))
    ended = pay(client, admin, place(client, email="ben@example.com"))
    cancelled = client.post(
        f"/api/v1/subscriptions/{ended['subscription_id']}/cancel", headers=admin
    )
    assert cancelled.status_code == 200, cancelled.text
    told = [(row.type, row.data) for row in stored(seeded)]
    assert told[-1][0] == "subscription.cancelled"
    assert told[-1][1]["subscription"]["status"] == "pending-cancel"

    jobs_at(seeded, "2026-04-01T08:00:00+00:00")
    later = [(row.type, row.data) for row in stored(seeded)][len(told) :]
    by_type = {kind: data for kind, data in later}
    assert sorted(by_type) == ["subscription.cancelled", "subscription.on_hold"]
    assert by_type["subscription.cancelled"]["subscription"]["id"] == ended["subscription_id"]
    assert by_type["subscription.cancelled"]["subscription"]["status"] == "cancelled"
    on_hold = by_type["subscription.on_hold"]
    assert on_hold["subscription"]["id"] == kept["subscription_id"]
    assert on_hold["subscription"]["status"] == "on-hold"
    assert sorted(recorder.types()) == ["subscription.cancelled", "subscription.on_hold"]

    renewal = client.get(
        "/api/v1/admin/orders", params={"subscription_id": kept["subscription_id"]}, headers=admin
    ).json()["orders"][0]
    assert renewal["number"] == on_hold["order"]["number"]
    pay(client, admin, renewal)
    last = [row.type for row in stored(seeded)][-3:]
    assert last == ["order.paid", "subscription.renewed", "licence.renewed"]
    renewed = stored(seeded)[-2].data["subscription"]
    assert renewed["term_start"] == "2026-04-01" and renewed["term_end"] == "2027-04-01"
