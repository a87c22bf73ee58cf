"""R2: an account changes its e-mail, confirmed from the new address; its licences (with
new keys), contact roles and open quotes move; R1 still holds."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient
from test_accounts import buy, csrf_token, follow, log_in


def change_links(client: TestClient[Any], admin: dict[str, str], to: str) -> list[str]:
    outbox = client.get("/api/v1/admin/outbox", params={"to": to}, headers=admin).json()
    texts = [m["text"] for m in outbox["messages"] if m["kind"] == "email_change"]
    return [m.group(1) for t in texts if (m := re.search(r"(/\w\w/account/email/\S+)", t))]


def ask(client: TestClient[Any], new: str, lang: str = "de") -> Any:
    page = client.get(f"/{lang}/account").text
    return client.post(
        f"/{lang}/account/email", data={"email": new, "_csrf_token": csrf_token(page)}
    )


def test_r2_the_account_moves_to_a_new_address_once_it_confirms(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    order = buy(client, admin, "alt@example.com")
    quote = buy(
        client,
        admin,
        "alt@example.com",
        quote=True,
        items=[{"sku": "server-starter", "quantity": 1}],
    )
    log_in(client, admin, "alt@example.com", "de")
    asked = ask(client, "Neu@Example.com")
    assert asked.status_code == 200 and 'id="email-sent"' in asked.text
    # Nothing has moved yet: the new address must confirm.
    assert client.get("/de/account").text.count("alt@example.com") >= 1
    [link] = change_links(client, admin, "neu@example.com")
    done = follow(client, link)
    assert done.status_code in (302, 303) and done.headers["location"] == "/de/account"
    account = client.get("/de/account").text
    assert "neu@example.com" in account and 'class="licence-key"' in account
    licences = client.get(
        "/api/v1/admin/licences", params={"email": "neu@example.com"}, headers=admin
    )
    [licence] = licences.json()["licences"]
    assert licence["id"] == order["licence_id"]
    assert (
        client.get(f"/api/v1/orders/{quote['token']}").json()["order"]["email"] == "neu@example.com"
    )
    # The link worked once; the old address has nothing left to log in to.
    assert follow(client, link).status_code == 410
    assert (
        client.get(
            "/api/v1/admin/licences", params={"email": "alt@example.com"}, headers=admin
        ).json()["licences"]
        == []
    )


def test_r2_r1_an_address_with_a_licence_is_refused_on_the_form(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, "one@example.com")
    buy(client, admin, "two@example.com")
    log_in(client, admin, "one@example.com", "nl")
    refused = ask(client, "two@example.com", "nl")
    assert refused.status_code == 422 and 'id="new-email-error"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert change_links(client, admin, "two@example.com") == []
    same = ask(client, "ONE@example.com", "nl")
    assert same.status_code == 422
