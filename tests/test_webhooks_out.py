"""Outgoing webhooks (issue 11, plugin ``webhooks_out``): an endpoint registered through the
operator API receives the events it asked for, signed like Stripe's, exactly once per
event id even when a delivery fails first, from ``shop jobs run`` with backoff on the shop's
clock; the delivery log shows it, a replay sends it again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from shop.cli import main
from shop.clock import Clock
from shop.db import make_engine
from shop.plugins.webhooks_out.delivery import (
    MAX_ATTEMPTS,
    deliver_due,
    engine_transaction,
    retry_delay,
)
from shop.plugins.webhooks_out.signature import InvalidSignature, header, sign, verify
from shop.settings import Settings

NOW = datetime.fromisoformat("2025-04-01T09:00:00+00:00")
PORTS = range(19200, 19300)  # this suite's share of ports
BASE = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass(eq=False)
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that notes every POST and fails on demand."""

    failures: int = 0  # the next this many requests are answered 500
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = 500 if self.failures > 0 else 200
            self.failures = max(self.failures - 1, 0)
            self.received.append(Received(headers, body, status))
            return status

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.answered == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = target.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = None
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 19200-19299"
    target.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()


def register(
    client: TestClient, admin: dict[str, str], url: str, events: list[str]
) -> dict[str, Any]:
    made = client.post(
        "/api/v1/admin/webhook-endpoints", json={"url": url, "events": events}, headers=admin
    )
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def buy_and_pay(client: TestClient, admin: dict[str, str], email: str) -> dict[str, Any]:
    body = {
        "email": email,
        "name": "Anna Berg",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": BASE,
    }
    placed = client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    payment = {**order["total"], "method": "bank_transfer", "reference": "ref"}
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments", json=payment, headers=admin
    )
    assert paid.status_code in (200, 201), paid.text
    return paid.json()["order"]  # type: ignore[no-any-return]


def jobs_at(settings: Settings, at: datetime) -> str:
    env = {
        "SHOP_DATABASE_URL": settings.database_url,
        "SHOP_CLOCK": at.isoformat(),
        "SHOP_LICENCE_SIGNING_KEY": settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def deliveries(client: TestClient, admin: dict[str, str], endpoint: str) -> list[dict[str, Any]]:
    log = client.get(f"/api/v1/admin/webhook-endpoints/{endpoint}/deliveries", headers=admin)
    assert log.status_code == 200, log.text
    return log.json()["deliveries"]  # type: ignore[no-any-return]


def test_an_endpoint_receives_order_paid_and_licence_issued_signed_once_despite_a_failure(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    """Given an endpoint for order.paid and licence.issued and a receiver that fails the
    first request, when an order is paid and ``shop jobs run`` runs now, again now, after
    the backoff and once more, then each event was accepted exactly once, signed with the
    endpoint's secret by the documented scheme, and the log says delivered."""
    endpoint = register(client, admin, receiver.url, ["order.paid", "licence.issued"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["id"].startswith("we_")
    order = buy_and_pay(client, admin, "anna@example.com")
    receiver.failures = 1

    first = jobs_at(seeded, NOW)
    assert "Webhooks: 1 delivered, 1 to be retried, 0 given up (2 new)." in first
    assert len(receiver.received) == 2
    jobs_at(seeded, NOW + timedelta(seconds=30))  # within the backoff: nothing is sent
    assert len(receiver.received) == 2
    jobs_at(seeded, NOW + retry_delay(1))
    jobs_at(seeded, NOW + timedelta(hours=1))  # delivered: never sent again
    assert len(receiver.received) == 3

    accepted = receiver.accepted()
    assert sorted(r.event["type"] for r in accepted) == ["licence.issued", "order.paid"]
    assert len({r.event["id"] for r in accepted}) == 2  # exactly once per event id
    failed = next(r for r in receiver.received if r.answered == 500)
    retried = next(r for r in accepted if r.event["id"] == failed.event["id"])
    assert retried.body == failed.body  # the same event, the same id
    for got in receiver.received:
        t = verify(
            endpoint["secret"], got.headers["Shop-Signature"], got.body, now=float(got_t(got))
        )
        assert got.headers["Shop-Event-Id"] == got.event["id"]
        assert got.headers["Shop-Signature"] == header(endpoint["secret"], t, got.body)
    paid = next(r.event for r in accepted if r.event["type"] == "order.paid")
    assert set(paid) == {"id", "type", "created", "data"}
    assert paid["data"]["order"]["number"] == order["number"]
    assert paid["data"]["order"]["total"] == order["total"]
    # The retry was signed at the shop's clock of that run, which moved on.
    assert got_t(retried) == int((NOW + retry_delay(1)).timestamp())

    log = deliveries(client, admin, endpoint["id"])
    assert {d["status"] for d in log} == {"delivered"}
    by_event = {d["event_id"]: d for d in log}
    assert by_event[failed.event["id"]]["attempts"] == 2
    assert by_event[failed.event["id"]]["last_status"] == 200


def got_t(got: Received) -> int:
    """The ``t=`` a delivery was signed at (the shop's clock when it was sent)."""
    parts = dict(p.split("=", 1) for p in got.headers["Shop-Signature"].split(","))
    return int(parts["t"])


def test_an_event_is_delivered_once_when_jobs_run_twice_at_once(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    """Given several paid orders for one endpoint, when two runners deliver at the same
    moment, then each event reaches the receiver exactly once."""
    register(client, admin, receiver.url, ["order.placed", "order.paid", "licence.issued"])
    for n in range(4):
        buy_and_pay(client, admin, f"buyer{n}@example.com")
    engine = make_engine(seeded.database_url)
    clock = Clock.from_setting(NOW.isoformat(), "UTC")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            start.wait()
            deliver_due(engine_transaction(engine), clock.now)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    ids = [r.event["id"] for r in receiver.received]
    assert len(ids) == 12 and len(set(ids)) == 12
    jobs_at(seeded, NOW + timedelta(days=1))
    assert len(receiver.received) == 12


def test_events_before_registering_and_of_other_types_are_not_sent(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    """Given an order paid before the endpoint existed, and an endpoint for licence.issued
    only, then only the later order's licence.issued is sent."""
    buy_and_pay(client, admin, "early@example.com")
    register(client, admin, receiver.url, ["licence.issued"])
    later = buy_and_pay(client, admin, "later@example.com")
    jobs_at(seeded, NOW)
    [got] = receiver.received
    assert got.event["type"] == "licence.issued"
    assert got.event["data"]["licence"]["id"] == later["licence_id"]


def test_a_receiver_that_keeps_failing_is_given_up_and_a_replay_sends_it_again(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    """Given a receiver that fails every time, when the jobs run past each backoff, then
    the delivery is attempted MAX_ATTEMPTS times and marked failed; replayed by the
    operator, the next run delivers it, with the same event id."""
    endpoint = register(client, admin, receiver.url, ["licence.issued"])
    buy_and_pay(client, admin, "anna@example.com")
    receiver.failures = 10_000
    at = NOW
    for attempt in range(1, MAX_ATTEMPTS + 2):
        jobs_at(seeded, at)
        at += retry_delay(attempt)
    assert len(receiver.received) == MAX_ATTEMPTS
    [failed] = deliveries(client, admin, endpoint["id"])
    assert failed["status"] == "failed" and failed["attempts"] == MAX_ATTEMPTS
    assert failed["last_status"] == 500 and failed["last_error"] == "HTTP 500"

    receiver.failures = 0
    replayed = client.post(
        f"/api/v1/admin/webhook-endpoints/{endpoint['id']}/deliveries/{failed['id']}/replay",
        headers=admin,
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["delivery"]["status"] == "pending"
    jobs_at(seeded, at)
    assert receiver.received[-1].answered == 200
    assert receiver.received[-1].event["id"] == failed["event_id"]
    [delivered] = deliveries(client, admin, endpoint["id"])
    assert delivered["status"] == "delivered"

    env = {"SHOP_DATABASE_URL": seeded.database_url, "SHOP_CLOCK": at.isoformat()}
    again = CliRunner().invoke(main, ["webhooks", "replay", failed["event_id"]], env=env)
    assert again.exit_code == 0, again.output
    jobs_at(seeded, at)
    assert [r.event["id"] for r in receiver.accepted()] == [failed["event_id"]] * 2
    unknown = CliRunner().invoke(main, ["webhooks", "replay", "evt_nope"], env=env)
    assert unknown.exit_code != 0 and "no delivery" in unknown.output


def test_an_unreachable_endpoint_counts_an_attempt_with_the_error(
    client: TestClient, admin: dict[str, str], seeded: Settings
) -> None:
    """Given an endpoint where nothing listens, the attempt is recorded with its error and
    retried later; the run itself succeeds."""
    endpoint = register(client, admin, "http://127.0.0.1:19299/nobody", ["order.paid"])
    buy_and_pay(client, admin, "anna@example.com")
    output = jobs_at(seeded, NOW)
    assert "1 to be retried" in output
    [pending] = deliveries(client, admin, endpoint["id"])
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert pending["last_status"] is None and "ConnectError" in pending["last_error"]
    assert pending["next_attempt_at"].startswith("2025-04-01T09:01:00")


def test_registering_checks_url_and_event_names_in_the_callers_language(
    client: TestClient, admin: dict[str, str]
) -> None:
    """A URL that is not http(s) or an unknown event is a translated 422 on its field; no
    token is 401; an unknown endpoint 404; the list shows no secret."""
    url = "/api/v1/admin/webhook-endpoints"
    bad_url = client.post(
        url,
        json={"url": "ftp://example.com/x", "events": ["order.paid"]},
        headers={**admin, "Accept-Language": "de"},
    )
    assert bad_url.status_code == 422
    assert bad_url.headers["content-type"].startswith("application/problem+json")
    assert bad_url.json()["code"] == "validation_error" and bad_url.json()["field"] == "url"
    assert "Adresse" in bad_url.json()["detail"]
    bad_event = client.post(
        url,
        json={"url": "https://example.com/x", "events": ["order.eaten"]},
        headers={**admin, "Accept-Language": "nl"},
    )
    assert bad_event.status_code == 422 and bad_event.json()["field"] == "events"
    assert "order.paid" in bad_event.json()["detail"]
    none = client.post(url, json={"url": "https://example.com/x", "events": []}, headers=admin)
    assert none.status_code == 422
    assert client.get(url).status_code == 401
    made = register(client, admin, "https://example.com/x", ["order.paid", "order.paid"])
    assert made["events"] == ["order.paid"]
    [listed] = client.get(url, headers=admin).json()["webhook_endpoints"]
    assert listed["id"] == made["id"] and "secret" not in listed
    missing = client.get(f"{url}/we_nope/deliveries", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_disabled_webhooks_out_answers_not_found_and_sends_nothing(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    register(client, admin, receiver.url, ["order.paid"])
    off = client.patch("/api/v1/admin/plugins/webhooks_out", json={"enabled": False}, headers=admin)
    assert off.status_code == 200
    buy_and_pay(client, admin, "anna@example.com")
    output = jobs_at(seeded, NOW)
    assert "Webhooks:" not in output and receiver.received == []
    assert client.get("/api/v1/admin/webhook-endpoints", headers=admin).status_code == 404


# --- the signature scheme, as a receiver checks it -----------------------------------------


def test_the_signature_is_hmac_sha256_of_t_dot_body_like_stripes() -> None:
    """The documented scheme, computed independently with hmac."""
    import hashlib
    import hmac

    body = b'{"id":"evt_1","type":"order.paid"}'
    expected = hmac.new(b"whsec_x", b"1743498000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", 1743498000, body) == expected
    assert header("whsec_x", 1743498000, body) == f"t=1743498000,v1={expected}"
    assert verify("whsec_x", f"t=1743498000,v1={expected}", body, now=1743498100) == 1743498000


@given(
    secret=st.text(min_size=1, max_size=40),
    body=st.binary(max_size=200),
    t=st.integers(min_value=0, max_value=2**34),
    other=st.binary(min_size=1, max_size=20),
)
def test_a_signature_verifies_only_for_its_secret_body_and_time(
    secret: str, body: bytes, t: int, other: bytes
) -> None:
    signed = header(secret, t, body)
    assert verify(secret, signed, body, now=t) == t
    with pytest.raises(InvalidSignature):
        verify(secret, signed, body + other, now=t)
    with pytest.raises(InvalidSignature):
        verify(secret + "x", signed, body, now=t)
    with pytest.raises(InvalidSignature):
        verify(secret, signed, body, now=t + 301)  # too old: a replayed request
    with pytest.raises(InvalidSignature):
        verify(secret, signed.replace("v1=", "v0="), body, now=t)


def test_the_readmes_receiver_code_verifies_a_delivery() -> None:
    """The verify function the README gives receivers, run as it stands, accepts what the
    shop signs now and refuses a changed body."""
    import time
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("import hashlib, hmac, time")
    code = readme[start : readme.index("```", start)]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the documented code, unchanged
    body = b'{"data":{},"id":"evt_1","type":"order.paid"}'
    signed = header("whsec_readme", int(time.time()), body)
    assert namespace["verify"]("whsec_readme", signed, body) is True
    assert namespace["verify"]("whsec_readme", signed, body + b" ") is False


def test_a_paused_endpoint_is_sent_nothing_until_resumed(
    client: TestClient, admin: dict[str, str], seeded: Settings, receiver: Receiver
) -> None:
    """Given a paused endpoint, an order paid meanwhile is not sent; resumed, the next run
    sends it."""
    endpoint = register(client, admin, receiver.url, ["order.paid"])
    path = f"/api/v1/admin/webhook-endpoints/{endpoint['id']}"
    paused = client.patch(path, json={"active": False}, headers=admin)
    assert paused.status_code == 200 and paused.json()["webhook_endpoint"]["active"] is False
    buy_and_pay(client, admin, "anna@example.com")
    jobs_at(seeded, NOW)
    assert receiver.received == []
    assert client.patch(path, json={"active": True}, headers=admin).status_code == 200
    jobs_at(seeded, NOW)
    [got] = receiver.received
    assert got.event["type"] == "order.paid"
