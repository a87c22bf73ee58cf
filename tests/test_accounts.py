"""R35: the customer's account. A login link mailed to an address the shop knows (once,
for 30 minutes), then the licences, subscriptions, orders, quotes and invoices visible to
that address, and nothing else: another customer's ids answer 404."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings

ORDER = {
    "name": "Anna Berg",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
}


def mails(client: TestClient[Any], admin: dict[str, str], to: str) -> list[Any]:
    messages = client.get("/api/v1/admin/outbox", params={"to": to}, headers=admin).json()
    return [m for m in messages["messages"] if m["kind"] == "login_link"]


def link_in(message: Any) -> str:
    found = re.search(r"https?://\S+?(/(?:de|nl|en)/account/login/\S+)", message["text"])
    assert found, message["text"]
    return found.group(1)


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def follow(client: TestClient[Any], path: str) -> Any:
    """Open the mailed link and press its one button."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    return client.post(
        action.group(1), data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
    )


def buy(client: TestClient[Any], admin: dict[str, str], email: str, **extra: Any) -> Any:
    answer = client.post("/api/v1/orders", json={**ORDER, "email": email, **extra})
    assert answer.status_code == 201, answer.text
    order = answer.json()["order"]
    if order["status"] == "quote":
        return order
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={
            "amount": order["total"]["amount"],
            "currency": "EUR",
            "method": "bank_transfer",
            "reference": "ref",
        },
        headers=admin,
    )
    assert paid.status_code in (200, 201), paid.text
    return client.get(f"/api/v1/orders/{order['token']}").json()["order"]


def log_in(client: TestClient[Any], admin: dict[str, str], email: str, lang: str = "en") -> None:
    before = len(mails(client, admin, email))
    answer = client.post(f"/api/v1/account/login-link?lang={lang}", json={"email": email})
    assert answer.status_code == 202, answer.text
    sent = mails(client, admin, email)
    assert len(sent) == before + 1
    done = follow(client, link_in(sent[0]))
    assert done.status_code in (302, 303) and done.headers["location"] == f"/{lang}/account"


def test_r35_a_login_link_logs_in_once_and_shows_the_account(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    order = buy(client, admin, "anna@example.com")
    assert client.get("/en/account", follow_redirects=False).headers["location"] == "/en/login"
    answer = client.post("/api/v1/account/login-link?lang=de", json={"email": " Anna@Example.com"})
    assert answer.status_code == 202 and answer.json() == {"status": "accepted"}
    [mail] = mails(client, admin, "anna@example.com")
    assert mail["locale"] == "de" and "30" in mail["text"]
    path = link_in(mail)
    assert client.get("/de/account", follow_redirects=False).status_code in (302, 303)
    done = follow(client, path)
    assert done.headers["location"] == "/de/account"
    page = client.get("/de/account")
    assert page.status_code == 200 and "Mein Konto" in page.text
    assert "anna@example.com" in page.text and str(order["number"]) in page.text
    licence = client.get(
        "/api/v1/admin/licences", params={"email": "anna@example.com"}, headers=admin
    ).json()["licences"][0]
    assert licence["key"] in page.text
    key = client.get(f"/de/account/licences/{licence['id']}/key.txt")
    assert key.status_code == 200 and key.text.strip() == licence["key"]
    pdf = client.get(f"/de/account/orders/{order['number']}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Used once: the same link again logs nobody in.
    client.post("/de/logout", data={"_csrf_token": csrf_token(page.text)})
    assert client.get("/de/account", follow_redirects=False).status_code in (302, 303)
    again = follow(client, path)
    assert again.status_code == 410 and "account" not in again.headers.get("location", "")
    assert client.get("/de/account", follow_redirects=False).status_code in (302, 303)


def test_r35_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    answer = client.post("/api/v1/account/login-link", json={"email": "nobody@example.com"})
    assert answer.status_code == 202 and answer.json() == {"status": "accepted"}
    assert mails(client, admin, "nobody@example.com") == []
    form = client.get("/nl/login")
    assert form.status_code == 200
    page = client.post(
        "/nl/login", data={"email": "nobody@example.com", "_csrf_token": csrf_token(form.text)}
    )
    assert page.status_code == 200 and 'id="login-sent"' in page.text
    assert mails(client, admin, "nobody@example.com") == []


def test_r35_the_login_page_mails_a_known_address(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, "page@example.com")
    form = client.get("/de/login")
    page = client.post(
        "/de/login", data={"email": "page@example.com", "_csrf_token": csrf_token(form.text)}
    )
    assert page.status_code == 200 and 'id="login-sent"' in page.text
    [mail] = mails(client, admin, "page@example.com")
    assert mail["locale"] == "de"


def test_r35_a_login_link_expires_after_30_minutes(
    seeded: Settings, client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, "late@example.com")
    client.post("/api/v1/account/login-link", json={"email": "late@example.com"})
    [mail] = mails(client, admin, "late@example.com")
    later = replace(seeded, clock="2025-04-01T09:30:00+00:00")  # NOW + 30 minutes
    with TestClient(app=create_app(later)) as other:
        done = follow(other, link_in(mail))
        assert done.status_code == 410
        assert other.get("/en/account", follow_redirects=False).status_code in (302, 303)
    almost = replace(seeded, clock="2025-04-01T09:29:00+00:00")
    with TestClient(app=create_app(almost)) as other:
        assert follow(other, link_in(mail)).headers["location"] == "/en/account"


def test_r35_customer_a_sees_nothing_of_customer_b(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    b_order = buy(client, admin, "bert@example.com")
    b_quote = buy(client, admin, "bert@example.com", quote=True, payment_method=None)
    b_open = client.post("/api/v1/orders", json={**ORDER, "email": "carl@example.com"})
    b_open = b_open.json()["order"]  # someone else's unpaid order
    buy(client, admin, "anna@example.com")
    b_licence = client.get(
        "/api/v1/admin/licences", params={"email": "bert@example.com"}, headers=admin
    ).json()["licences"][0]
    b_subscription = b_order["subscription_id"]
    assert b_subscription
    log_in(client, admin, "anna@example.com")
    page = client.get("/en/account")
    assert page.status_code == 200
    assert b_licence["key"] not in page.text
    for number in (b_order["number"], b_quote["number"], b_open["number"]):
        assert f'id="order-{number}"' not in page.text
    csrf = {"_csrf_token": csrf_token(page.text)}
    for path in (
        f"/en/account/orders/{b_order['number']}",
        f"/en/account/orders/{b_order['number']}/document.pdf",
        f"/en/account/orders/{b_quote['number']}",
        f"/en/account/orders/{b_quote['number']}/document.pdf",
        f"/en/account/orders/{b_open['number']}",
        f"/en/account/licences/{b_licence['id']}/key.txt",
        f"/en/account/subscriptions/{b_subscription}",
        "/en/account/orders/999999",
        "/en/account/licences/999999/key.txt",
        "/en/account/subscriptions/999999",
    ):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"], path
    for path, data in (
        (f"/en/account/orders/{b_quote['number']}/po-number", {"po_number": "X"}),
        (f"/en/account/orders/{b_quote['number']}/cancel", {}),
        (
            f"/en/account/licences/{b_licence['id']}/contacts",
            {"email": "x@example.com", "role": "billing"},
        ),
        (f"/en/account/licences/{b_licence['id']}/primary", {}),
    ):
        answer = client.post(path, data={**data, **csrf}, follow_redirects=False)
        assert answer.status_code == 404, path
    quote = client.get(f"/api/v1/orders/{b_quote['token']}").json()["order"]
    assert quote["status"] == "quote" and quote.get("po_number") in (None, "")


def test_r35_an_open_quote_takes_a_po_number_and_can_be_deleted(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    quote = buy(client, admin, "quote@example.com", quote=True, payment_method=None)
    assert quote["status"] == "quote"
    log_in(client, admin, "quote@example.com")
    page = client.get(f"/en/account/orders/{quote['number']}")
    assert page.status_code == 200 and 'id="save-po"' in page.text
    csrf = {"_csrf_token": csrf_token(page.text)}
    saved = client.post(
        f"/en/account/orders/{quote['number']}/po-number", data={"po_number": " PO-77 ", **csrf}
    )
    assert saved.status_code == 200 and 'id="po-number">PO-77<' in saved.text
    stored = client.get(f"/api/v1/orders/{quote['token']}").json()["order"]
    assert stored["po_number"] == "PO-77"
    pdf = client.get(f"/en/account/orders/{quote['number']}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    deleted = client.post(f"/en/account/orders/{quote['number']}/cancel", data=csrf)
    assert deleted.status_code == 200 and 'id="delete-quote"' not in deleted.text
    assert client.get(f"/api/v1/orders/{quote['token']}").json()["order"]["status"] == "cancelled"
    again = client.post(
        f"/en/account/orders/{quote['number']}/po-number", data={"po_number": "X", **csrf}
    )
    assert again.status_code == 409


def test_r35_contacts_see_the_licence_until_removed(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    order = buy(client, admin, "owner@example.com")
    licence = client.get(
        "/api/v1/admin/licences", params={"email": "owner@example.com"}, headers=admin
    ).json()["licences"][0]
    log_in(client, admin, "owner@example.com")
    page = client.get("/en/account")
    csrf = {"_csrf_token": csrf_token(page.text)}
    for email, role in (("bill@example.com", "billing"), ("tech@example.com", "technical")):
        added = client.post(
            f"/en/account/licences/{licence['id']}/contacts",
            data={"email": email, "role": role, **csrf},
        )
        assert added.status_code == 200 and email in added.text
    twice = client.post(
        f"/en/account/licences/{licence['id']}/contacts",
        data={"email": "Bill@example.com", "role": "billing", **csrf},
    )
    assert twice.status_code == 409 and 'id="account-error"' in twice.text
    client.post("/en/logout", data=csrf)

    bill_client = TestClient(app=client.app)  # Bill stays logged in in his own browser
    log_in(bill_client, admin, "bill@example.com")  # a contact is a known address
    page = bill_client.get("/en/account")
    assert licence["key"] in page.text and f'id="order-{order["number"]}"' in page.text
    bill_csrf = {"_csrf_token": csrf_token(page.text)}
    assert bill_client.get(f"/en/account/orders/{order['number']}/document.pdf").status_code == 200
    assert bill_client.get(f"/en/account/licences/{licence['id']}/key.txt").status_code == 200
    bill_client.post(f"/en/account/licences/{licence['id']}/primary", data=bill_csrf)

    log_in(client, admin, "tech@example.com")
    page = client.get("/en/account")
    assert "bill@example.com · Billing · " in page.text and "primary" in page.text
    csrf = {"_csrf_token": csrf_token(page.text)}
    client.post(f"/en/account/licences/{licence['id']}/primary", data=csrf)
    page = client.get("/en/account")
    assert re.search(r"tech@example\.com · Technical · <strong>primary", page.text)
    assert not re.search(r"bill@example\.com · Billing · <strong>primary", page.text)
    ids = re.findall(rf"/en/account/licences/{licence['id']}/contacts/(\d+)/remove", page.text)
    assert len(ids) == 2
    removed = client.post(
        f"/en/account/licences/{licence['id']}/contacts/{ids[0]}/remove", data=csrf
    )
    assert removed.status_code == 200 and "bill@example.com" not in removed.text
    client.post("/en/logout", data=csrf)

    # Removed: Bill's open session sees nothing of the licence, and he gets no new link.
    assert bill_client.get(f"/en/account/licences/{licence['id']}/key.txt").status_code == 404
    assert bill_client.get(f"/en/account/orders/{order['number']}").status_code == 404
    assert (
        bill_client.get(f"/en/account/subscriptions/{order['subscription_id']}").status_code == 404
    )
    assert licence["key"] not in bill_client.get("/en/account").text
    client.post("/api/v1/account/login-link", json={"email": "bill@example.com"})
    assert len(mails(client, admin, "bill@example.com")) == 1


def test_r35_the_account_lists_subscriptions_and_open_orders_to_pay(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    paid = buy(client, admin, "subs@example.com")
    log_in(client, admin, "subs@example.com")
    page = client.get("/en/account")
    assert f'/en/account/subscriptions/{paid["subscription_id"]}"' in page.text
    assert "Active" in page.text and "€" in page.text  # status and next renewal amount
    sub = client.get(f"/en/account/subscriptions/{paid['subscription_id']}", follow_redirects=False)
    assert re.fullmatch(r"/en/subscriptions/[\w-]+", sub.headers["location"])
    assert client.get(sub.headers["location"]).status_code == 200
    # An unpaid upgrade-sized order of the same address: "pay now" on its page and in the list.
    quote = buy(client, admin, "subs@example.com", quote=True, payment_method=None)
    page = client.get("/en/account")
    assert f'/en/orders/{quote["token"]}"' in page.text
    detail = client.get(f"/en/account/orders/{quote['number']}")
    assert 'id="pay-now"' in detail.text and 'id="document"' in detail.text
    paid_detail = client.get(f"/en/account/orders/{paid['number']}")
    assert 'id="pay-now"' not in paid_detail.text


def test_r35_the_login_link_life_is_a_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("SHOP_LOGIN_LINK_MINUTES", "45")
    assert Settings.from_env().login_link_minutes == 45
    assert Settings().login_link_minutes == 30


def test_r35_the_login_mail_speaks_the_customers_language(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, "talen@example.com")
    subjects = {}
    for lang in ("de", "nl", "en"):
        client.post(f"/api/v1/account/login-link?lang={lang}", json={"email": "talen@example.com"})
    for mail in mails(client, admin, "talen@example.com"):
        subjects[mail["locale"]] = mail["subject"]
        assert f"/{mail['locale']}/account/login/" in mail["text"]
    assert subjects == {"de": "Ihr Login-Link", "nl": "Uw inloglink", "en": "Your login link"}
