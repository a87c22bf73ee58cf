"""64 clients at once on the account and the back office, through a real ``shop serve``
over HTTP, on SQLite and on PostgreSQL: every one answered, none with a 5xx."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from live import shop_process

from shop.backoffice.operators import create_operator
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.settings import Settings

ANSWER_WITHIN = 30.0  # a deadlock check, not a speed test
CLIENTS = 64
CUSTOMERS = 8
PASSWORD = "correct horse battery"


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def paid_order(url: str, admin: dict[str, str], email: str) -> dict[str, Any]:
    body = {
        "email": email,
        "name": "Crowd Customer",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    order: dict[str, Any] = httpx.post(f"{url}/api/v1/orders", json=body).json()["order"]
    paid = httpx.post(
        f"{url}/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer", "reference": "r"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    return order


def customer_session(url: str, admin: dict[str, str], email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=ANSWER_WITHIN)
    answer = client.post("/api/v1/account/login-link?lang=de", json={"email": email})
    assert answer.status_code == 202
    outbox = httpx.get(f"{url}/api/v1/admin/outbox", params={"to": email}, headers=admin).json()
    text = next(m["text"] for m in outbox["messages"] if m["kind"] == "login_link")
    link = re.search(r"https?://\S+?(/de/account/login/\S+)", text)
    assert link
    page = client.get(link.group(1))
    client.post(f"{link.group(1)}/use", data={"_csrf_token": csrf(page.text)})
    assert client.get("/de/account").status_code == 200
    return client


def operator_session(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=ANSWER_WITHIN)
    page = client.get("/admin/login")
    form = {"email": "ops@example.com", "password": PASSWORD, "_csrf_token": csrf(page.text)}
    assert client.post("/admin/login", data=form).status_code in (200, 303)
    assert client.get("/admin").status_code == 200
    return client


def test_r35_64_clients_on_accounts_and_the_back_office_all_get_their_answer(
    seeded: Settings, admin: dict[str, str]
) -> None:
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        now = Clock.from_setting(seeded.clock, seeded.timezone).now()
        create_operator(session, "ops@example.com", PASSWORD, now)
    engine.dispose()
    # One address, many clients: the mailed-link and login limits would answer 429.
    limits = "checkout=off, trial=off, mail_link=off, operator_login=off"
    with shop_process(seeded, SHOP_RATE_LIMITS=limits) as url:
        orders = [paid_order(url, admin, f"crowd{n}@example.com") for n in range(CUSTOMERS)]
        customers = [
            customer_session(url, admin, f"crowd{n}@example.com") for n in range(CUSTOMERS)
        ]
        operator = operator_session(url)

        def visit(n: int) -> tuple[str, int]:
            who, order = customers[n % CUSTOMERS], orders[n % CUSTOMERS]
            path, client = [
                ("/de/account", who),
                (f"/de/account/orders/{order['number']}/document.pdf", who),
                ("/api/v1/account/login-link", None),
                ("/admin", operator),
                (f"/admin/orders/{order['number']}", operator),
                ("/admin/orders?q=crowd", operator),
                ("/admin/plugins", operator),
                (f"/de/account/orders/{orders[(n + 1) % CUSTOMERS]['number']}", who),
            ][n % 8]
            if client is None:
                email = f"crowd{n % CUSTOMERS}@example.com"
                answer = httpx.post(f"{url}{path}", json={"email": email}, timeout=ANSWER_WITHIN)
            else:
                answer = client.get(path)
            return path, answer.status_code

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(visit, range(CLIENTS)))
        for client in [*customers, operator]:
            client.close()

    wrong = [(path, code) for path, code in answers if code != expected(path)]
    assert wrong == []


def expected(path: str) -> int:
    if path == "/api/v1/account/login-link":
        return 202
    # Another customer's order under the account: 404 (R35), also in a crowd.
    return 404 if path.startswith("/de/account/orders/") and "document" not in path else 200
