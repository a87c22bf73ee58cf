"""R1: nobody can block someone else's address. A trial's key goes only to the address
(a link, valid once and for a day); the owner of an address held by an unpaid order they
did not place frees it through a link mailed there; the requester learns nothing."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings

ORDER = {
    "email": "owner@example.com",
    "name": "Mallory",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}],
}


def mails(client: TestClient[Any], admin: dict[str, str], to: str, kind: str) -> list[Any]:
    messages = client.get("/api/v1/admin/outbox", params={"to": to}, headers=admin).json()
    return [m for m in messages["messages"] if m["kind"] == kind]


def link_in(message: Any) -> str:
    found = re.search(r"https?://\S+?(/(?:de|nl|en)/\S+)", message["text"])
    assert found, message["text"]
    return found.group(1)


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def follow(client: TestClient[Any], path: str) -> Any:
    """Open a mailed link and press its one button (opening alone changes nothing)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    return client.post(action.group(1), data={"_csrf_token": csrf_token(page.text)})


def test_r1_r3_an_anonymous_trial_mails_its_key_as_a_link_that_works_once(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/trials?lang=nl", json={"email": "Tom@example.com", "sku": "cloud-starter"}
    )
    assert answer.status_code == 201, answer.text
    licence = answer.json()["licence"]
    assert licence["key"] is None  # every field of the contract, the key kept back
    assert licence["status"] == "trial" and licence["id"] and licence["trial_ends_at"]
    [mail] = mails(client, admin, "tom@example.com", "trial_link")
    assert mail["locale"] == "nl" and "proef" in mail["subject"].lower()
    page = follow(client, link_in(mail))
    assert page.status_code == 200
    key = re.search(r'id="licence-key">([^<]+)<', page.text)
    assert key is not None
    listed = client.get(
        "/api/v1/admin/licences", params={"email": "tom@example.com"}, headers=admin
    ).json()["licences"]
    assert listed[0]["key"] == key.group(1)
    again = follow(client, link_in(mail))
    assert again.status_code == 410 and "licence-key" not in again.text


def test_r3_an_operator_token_still_gets_the_trial_key(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/trials", json={"email": "ops@example.com", "sku": "base-yearly"}, headers=admin
    )
    assert answer.status_code == 201 and answer.json()["licence"]["key"]
    assert mails(client, admin, "ops@example.com", "trial_link") == []


def test_r3_the_trial_page_says_the_key_went_to_the_address(client: TestClient[Any]) -> None:
    token = csrf_token(client.get("/de/products/cloud-starter").text)
    page = client.post(
        "/de/trial",
        data={"email": "probe@example.com", "sku": "cloud-starter", "_csrf_token": token},
    )
    assert page.status_code == 201
    assert 'id="trial-sent"' in page.text and "licence-key" not in page.text
    assert "probe@example.com" in page.text


def test_r1_the_owner_releases_an_address_held_by_a_strangers_unpaid_order(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    placed = client.post("/api/v1/orders", json=ORDER)
    assert placed.status_code == 201
    number = placed.json()["order"]["number"]
    refused = client.post("/api/v1/orders?lang=de", json={**ORDER, "name": "Owner"})
    assert refused.status_code == 409
    offer = refused.json()["release_link"]
    assert offer["href"] == "/api/v1/address-release" and offer["method"] == "POST"
    assert offer["body"] == {"email": "owner@example.com"}
    assert "Freigabe" in offer["title"] or "Link" in offer["title"]

    asked = client.post(offer["href"] + "?lang=de", json=offer["body"])
    assert asked.status_code == 202 and asked.json() == {"status": "accepted"}
    [mail] = mails(client, admin, "owner@example.com", "release_link")
    assert mail["locale"] == "de"
    released = follow(client, link_in(mail))
    assert released.status_code == 200 and str(number) in released.text
    order = client.get(f"/api/v1/orders/{placed.json()['order']['token']}").json()["order"]
    assert order["status"] == "cancelled"
    # The address is free: its owner buys with it.
    assert client.post("/api/v1/orders", json={**ORDER, "name": "Owner"}).status_code == 201
    assert follow(client, link_in(mail)).status_code == 410  # a link works once


def test_r1_asking_for_a_release_reveals_nothing(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    """202 for a free address, a paid licence and a held one alike; mail only goes to the
    address that an unpaid order holds."""
    client.post("/api/v1/orders", json=ORDER)
    answers = [
        client.post("/api/v1/address-release", json={"email": email})
        for email in ("owner@example.com", "free@example.com")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    assert len(mails(client, admin, "owner@example.com", "release_link")) == 1
    assert mails(client, admin, "free@example.com", "release_link") == []


def test_r1_a_release_link_expires_after_a_day(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    placed = client.post("/api/v1/orders", json=ORDER).json()["order"]
    client.post("/api/v1/address-release", json={"email": "owner@example.com"})
    [mail] = mails(client, admin, "owner@example.com", "release_link")
    later = replace(seeded, clock="2025-04-02T09:00:00+00:00")  # 24 h after NOW
    with TestClient(app=create_app(later)) as next_day:
        assert follow(next_day, link_in(mail)).status_code == 410
        order = next_day.get(f"/api/v1/orders/{placed['token']}").json()["order"]
        assert order["status"] == "pending"


def test_r1_the_checkout_page_offers_the_release_link(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    client.post("/api/v1/orders", json=ORDER)
    token = csrf_token(client.get("/en/products/base-yearly").text)
    client.post("/en/cart/add", data={"sku": "base-yearly", "_csrf_token": token})
    form = client.get("/en/checkout").text
    fields = {
        "email": "owner@example.com",
        "name": "Owner",
        "country": "DE",
        "street": "Musterstraße 1",
        "postcode": "10115",
        "city": "Berlin",
        "consent_immediate_performance": "1",
        "consent_withdrawal_loss": "1",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "mode": "order",
        "_csrf_token": csrf_token(form),
    }
    refused = client.post("/en/checkout/place", data=fields)
    assert refused.status_code == 422
    assert 'id="send-release"' in refused.text
    sent = client.post(
        "/en/address/release",
        data={"email": "owner@example.com", "_csrf_token": csrf_token(refused.text)},
    )
    assert sent.status_code == 200 and 'id="release-sent"' in sent.text
    assert len(mails(client, admin, "owner@example.com", "release_link")) == 1


def test_r3_a_trial_link_expires_after_a_day(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    client.post("/api/v1/trials", json={"email": "late@example.com", "sku": "cloud-starter"})
    [mail] = mails(client, admin, "late@example.com", "trial_link")
    almost = replace(seeded, clock="2025-04-02T08:59:00+00:00")
    later = replace(seeded, clock="2025-04-02T09:00:00+00:00")
    with TestClient(app=create_app(later)) as next_day:
        gone = follow(next_day, link_in(mail))
        assert gone.status_code == 410 and "licence-key" not in gone.text
    with TestClient(app=create_app(almost)) as in_time:
        assert 'id="licence-key"' in follow(in_time, link_in(mail)).text
