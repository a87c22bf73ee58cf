"""``Idempotency-Key`` on the API: a client that lost its answer retries without a second
order, even when the server was killed in between (the answer is stored with the order)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from litestar.testing import TestClient
from live import running_shop
from sqlmodel import select

from shop.db import make_engine, session_scope
from shop.orders.models import Order
from shop.settings import Settings

ANSWER_WITHIN = 15.0


def checkout(email: str, persons: int = 5) -> dict[str, Any]:
    return {
        "email": email,
        "name": "Retry Buyer",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [
            {"sku": "base-yearly", "quantity": 1},
            {"sku": "persons-yearly", "quantity": persons},
        ],
    }


def orders_stored(settings: Settings) -> list[tuple[int, str]]:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        rows = session.exec(select(Order.number, Order.email).order_by(Order.number)).all()
    engine.dispose()
    return [(number, email) for number, email in rows]


def test_the_same_key_and_body_replay_the_first_answer(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-anna-1"}
    first = client.post("/api/v1/orders", json=checkout("anna@example.com"), headers=headers)
    again = client.post("/api/v1/orders", json=checkout("anna@example.com"), headers=headers)
    without_key = client.post("/api/v1/orders", json=checkout("anna@example.com"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same order, not a second one
    assert first.json()["order"]["payment"]["instructions"]  # bank details, both times
    assert without_key.status_code == 409  # a plain retry is a second checkout: refused


def test_the_same_key_with_another_body_is_refused_in_the_buyers_language(
    client: TestClient, seeded: Settings
) -> None:
    headers = {"Idempotency-Key": "order-bert-1"}
    client.post("/api/v1/orders", json=checkout("bert@example.com"), headers=headers)
    other = client.post(
        "/api/v1/orders",
        json=checkout("bert@example.com", persons=9),
        headers={**headers, "Accept-Language": "nl"},
    )

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in other.json()["detail"] and "nieuwe" in other.json()["detail"]
    assert len(orders_stored(seeded)) == 1


def test_a_refused_checkout_leaves_its_key_free_for_a_corrected_retry(
    client: TestClient,
) -> None:
    headers = {"Idempotency-Key": "order-carla-1"}
    refused = client.post(
        "/api/v1/orders", json={**checkout("carla@example.com"), "country": "XX"}, headers=headers
    )
    corrected = client.post("/api/v1/orders", json=checkout("carla@example.com"), headers=headers)

    assert refused.status_code == 422
    assert corrected.status_code == 201


def test_a_bad_key_is_a_field_error(client: TestClient) -> None:
    refused = client.post(
        "/api/v1/orders", json=checkout("dora@example.com"), headers={"Idempotency-Key": "k" * 256}
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "Idempotency-Key"


def test_a_retry_after_the_server_was_killed_gets_the_committed_order(seeded: Settings) -> None:
    headers = {"Idempotency-Key": "kill-test-1"}
    with running_shop(seeded) as shop:
        first = httpx.post(
            f"{shop.url}/api/v1/orders", json=checkout("eva@example.com"), headers=headers
        )
        shop.kill()  # say the answer never reached the client
    with running_shop(seeded) as shop:
        retried = httpx.post(
            f"{shop.url}/api/v1/orders", json=checkout("eva@example.com"), headers=headers
        )

    assert first.status_code == retried.status_code == 201
    assert retried.json()["order"]["number"] == first.json()["order"]["number"]
    assert orders_stored(seeded) == [(first.json()["order"]["number"], "eva@example.com")]


def test_clients_retrying_through_a_kill_under_load_each_get_exactly_one_order(
    seeded: Settings,
) -> None:
    """32 clients place 3 orders each; the server is killed mid-load and started again;
    every client retries what was not answered with the same key. In the end each order
    was answered once with 201, and the database holds exactly those orders."""
    clients, each = 32, 3
    url: list[str] = []
    restarted = threading.Event()
    answered = threading.Semaphore(0)

    def client(n: int) -> list[tuple[int, str]]:
        mine = []
        for i in range(each):
            email, key = f"c{n}-{i}@example.com", f"client-{n}-order-{i}"
            while True:
                try:
                    answer = httpx.post(
                        f"{url[-1]}/api/v1/orders",
                        json=checkout(email),
                        headers={"Idempotency-Key": key},
                        timeout=ANSWER_WITHIN,
                    )
                    break
                except httpx.TransportError:  # the server died under us: retry when it is back
                    assert restarted.wait(60)
            assert answer.status_code == 201, answer.text
            mine.append((answer.json()["order"]["number"], email))
            answered.release()
        return mine

    with running_shop(seeded) as first:
        url.append(first.url)
        with ThreadPoolExecutor(clients) as pool:
            results = [pool.submit(client, n) for n in range(clients)]
            for _ in range(clients):  # a third of the orders answered: pull the plug
                assert answered.acquire(timeout=60)
            first.kill()
            with running_shop(seeded) as second:
                url.append(second.url)
                restarted.set()
                got = sorted(pair for result in results for pair in result.result())

    assert len(got) == clients * each
    assert got == orders_stored(seeded)  # nothing twice, nothing unanswered
