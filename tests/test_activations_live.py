"""Activations under concurrency (issue 14), through a real ``shop serve`` over HTTP, on
SQLite and on PostgreSQL: 16 installations at once for the last free slot of a licence get
exactly one 201 and fifteen 409 ``activation_limit``; 16 calls at once from one
installation get its one activation. None answers a 5xx."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from live import shop_process

from shop.settings import Settings

CLIENTS = 16
ANSWER_WITHIN = 30.0  # a deadlock check, not a speed test


def licence_key(url: str, admin: dict[str, str], email: str) -> str:
    body = {
        "email": email,
        "name": "IT",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    order = httpx.post(f"{url}/api/v1/orders", json=body).json()["order"]
    paid = httpx.post(
        f"{url}/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer", "reference": "r"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    [licence] = httpx.get(
        f"{url}/api/v1/admin/licences", params={"email": email}, headers=admin
    ).json()["licences"]
    return str(licence["key"])


def all_at_once(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    start = threading.Barrier(len(bodies))

    def call(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=ANSWER_WITHIN) as client:
            start.wait()
            return client.post("/api/v1/activations", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(call, bodies))


def test_16_installations_at_once_for_one_slot_get_exactly_one_activation(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with shop_process(seeded) as url:
        key = licence_key(url, admin, "crowd@example.com")
        answers = all_at_once(
            url, [{"key": key, "fingerprint": f"srv-{n:02d}"} for n in range(CLIENTS)]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * (CLIENTS - 1), [a.text for a in answers]
        assert {a.json()["code"] for a in answers if a.status_code == 409} == {"activation_limit"}
        [won] = [a.json()["activation"] for a in answers if a.status_code == 201]
        # Every refusal names the one instance that won.
        refusals = [a.json()["detail"] for a in answers if a.status_code == 409]
        assert all(won["fingerprint"] in detail for detail in refusals)

        # One installation calling 16 times at once (a retrying client): one activation.
        other = licence_key(url, admin, "retry@example.com")
        again = all_at_once(url, [{"key": other, "fingerprint": "srv-x"}] * CLIENTS)
        assert all(a.status_code < 500 for a in again), [a.text for a in again]
        ids = {a.json()["activation"]["id"] for a in again if a.status_code == 201}
        assert len(ids) == 1, [a.text for a in again]
        assert sum(a.status_code == 201 for a in again) >= CLIENTS - 1
        # Its slot is the only one taken: a second installation is refused.
        refused = httpx.post(
            f"{url}/api/v1/activations", json={"key": other, "fingerprint": "srv-y"}
        )
        assert refused.status_code == 409
