"""Co-terming (R27): a maintenance renewal asking to align with another licence is a quote
an operator reviews; it takes no payment until accepted (with an aligned end, repriced by
days), and the buyer is mailed the outcome in their language."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from payments import shop_with, stripe_keys
from shop_fakes.stripe import FakeStripe

from shop.app import create_app
from shop.errors import ShopError
from shop.licences.coterm_review import check_aligned_to, prorated_maintenance
from shop.money import Money
from shop.settings import Settings
from shop.subscriptions.terms import add_months

BOUGHT = "2025-03-10T10:00:00+01:00"  # maintained to 2026-03-10 (R23)
OTHER_BOUGHT = "2025-09-10T10:00:00+02:00"  # maintained to 2026-09-10
REVIEWED = "2025-12-01T10:00:00+01:00"


def at(settings: Settings, moment: str) -> TestClient:
    return TestClient(app=create_app(replace(settings, clock=moment)))


def buy_server(client: TestClient, admin: dict[str, str], email: str, method: str) -> int:
    body = {
        "email": email,
        "name": "Jürgen Müller",
        "country": "DE",
        "currency": "EUR",
        "payment_method": method,
        "items": [{"sku": "server-starter", "quantity": 1}],
    }
    order = client.post("/api/v1/orders?lang=de", json=body).json()["order"]
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR", "method": method},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    return int(order["licence_id"])


def ask_coterm(client: TestClient, admin: dict[str, str], licence: int, other: int) -> Any:
    answer = client.post(
        f"/api/v1/licences/{licence}/maintenance",
        json={"years": 1, "coterm_with": other},
        headers=admin,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["order"]


@pytest.fixture
def two_licences(seeded: Settings, admin: dict[str, str]) -> tuple[int, int]:
    with at(seeded, BOUGHT) as client:
        first = buy_server(client, admin, "it@example.com", "bank_transfer")
    with at(seeded, OTHER_BOUGHT) as client:
        other = buy_server(client, admin, "it-2@example.com", "bank_transfer")
    return first, other


def pay(client: TestClient, admin: dict[str, str], order: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
        headers={**admin, **headers},
    )


def licence_of(client: TestClient, admin: dict[str, str], email: str) -> dict[str, Any]:
    answer = client.get("/api/v1/admin/licences", params={"email": email}, headers=admin)
    [licence] = answer.json()["licences"]
    return licence  # type: ignore[no-any-return]


def pdf_text(client: TestClient, order: dict[str, Any]) -> str:
    pdf = client.get(f"/api/v1/orders/{order['token']}/document.pdf").content
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)


def mails_to(client: TestClient, admin: dict[str, str], email: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/admin/outbox", params={"to": email}, headers=admin)
    return answer.json()["messages"]  # type: ignore[no-any-return]


def test_r27_flagged_quote_not_payable_until_accepted(
    seeded: Settings, admin: dict[str, str], two_licences: tuple[int, int]
) -> None:
    licence, other = two_licences
    with at(seeded, REVIEWED) as client:
        quote = ask_coterm(client, admin, licence, other)
        assert quote["status"] == "quote" and quote["under_review"] is True
        assert quote["quote_number"] == 1 and quote["invoice_number"] is None  # R8
        refused = pay(client, admin, quote, **{"Accept-Language": "de"})
        assert refused.status_code == 409
        assert refused.json()["code"] == "review_pending"
        assert "geprüft" in refused.json()["detail"]  # translated
        assert client.get(f"/api/v1/orders/{quote['token']}").json()["order"]["payment"] == {
            "method": "bank_transfer",
            "instructions": [],  # no way to pay is offered while under review
            "redirect_url": None,
            "client_secret": None,
            "publishable_key": None,
        }
        page = client.get(f"/de/orders/{quote['token']}")
        assert 'id="under-review"' in page.text and 'id="instructions"' not in page.text
        assert "IN PRÜFUNG" in pdf_text(client, quote)
        [mail] = [m for m in mails_to(client, admin, "it@example.com") if m["kind"] == "quote"]
        assert "prüft" in mail["text"]  # the quote mail says it is reviewed first

        waiting = client.get("/api/v1/admin/reviews", headers=admin).json()["reviews"]
        assert [r["order"]["number"] for r in waiting] == [quote["number"]]
        assert waiting[0]["request"] == {
            "reason": f"co-terming requested with licence {other}",
            "coterm_with": other,
            "current_maintenance_end": "2026-03-10",
            "requested_maintenance_end": "2027-03-10",
            "coterm_licence_end": "2026-09-10",
            "latest_allowed_end": "2028-12-01",
        }
        accepted = client.post(
            f"/api/v1/admin/reviews/{quote['number']}", json={"decision": "accept"}, headers=admin
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["order"]["under_review"] is False
        assert accepted.json()["order"]["payment"]["instructions"]  # now it can be paid
        assert client.get("/api/v1/admin/reviews", headers=admin).json()["reviews"] == []
        assert "IN PRÜFUNG" not in pdf_text(client, quote)
        again = client.post(
            f"/api/v1/admin/reviews/{quote['number']}", json={"decision": "reject"}, headers=admin
        )
        assert again.status_code == 409 and again.json()["code"] == "not_under_review"
        paid = pay(client, admin, quote)
        assert paid.status_code == 201, paid.text
        assert paid.json()["order"]["status"] == "paid"
        assert paid.json()["order"]["invoice_number"] == 3  # after the two licences' invoices
        assert licence_of(client, admin, "it@example.com")["paid_until"] == "2027-03-10"


def test_r27_accept_with_aligned_date_reprices(
    seeded: Settings, admin: dict[str, str], two_licences: tuple[int, int]
) -> None:
    licence, other = two_licences
    with at(seeded, REVIEWED) as client:
        quote = ask_coterm(client, admin, licence, other)
        assert quote["total"] == {"amount": "495.00", "currency": "EUR"}

        def decide(body: dict[str, Any]) -> Any:
            return client.post(
                f"/api/v1/admin/reviews/{quote['number']}",
                json=body,
                headers={**admin, "Accept-Language": "nl"},
            )

        for aligned_to, code in (
            ("2026-03-10", "validation_error"),  # not after the current end
            ("2028-12-02", "maintenance_too_far_ahead"),  # R25: more than 3 years ahead
            ("10.09.2026", "validation_error"),
        ):
            refused = decide({"decision": "accept", "aligned_to": aligned_to})
            assert refused.status_code == 422, aligned_to
            assert refused.json()["code"] == code
        assert decide({"decision": "maybe"}).status_code == 422
        no_token = client.post(f"/api/v1/admin/reviews/{quote['number']}", json={})
        assert no_token.status_code == 401

        accepted = decide({"decision": "accept", "aligned_to": "2026-09-10"})
        assert accepted.status_code == 200, accepted.text
        order = accepted.json()["order"]
        # 184 days of the year from 2026-03-10 (365 days) at 495.00: 249.534… → 249.53 (R15)
        assert order["total"] == {"amount": "249.53", "currency": "EUR"}
        assert [line["quantity"] for line in order["lines"]] == [1]
        assert order["lines"][0]["total"] == {"amount": "249.53", "currency": "EUR"}
        assert order["valid_until"].startswith("2025-12-31")  # 30 days to pay it (R7)
        assert accepted.json()["request"]["requested_maintenance_end"] == "2026-09-10"
        pdf = client.get(f"/api/v1/orders/{quote['token']}/document.pdf")
        assert pdf.status_code == 200

        mail = mails_to(client, admin, "it@example.com")[0]  # newest first
        assert mail["subject"] == "Ihr Angebot Q-1 wurde angenommen"  # the buyer's language
        assert "10. September 2026" in mail["text"]
        assert mail["attachment"] == "Angebot-Q-1.pdf"

        assert pay(client, admin, order).status_code == 201
        assert licence_of(client, admin, "it@example.com")["paid_until"] == "2026-09-10"


def test_r27_reject_cancels_and_mails(
    seeded: Settings, admin: dict[str, str], two_licences: tuple[int, int]
) -> None:
    licence, other = two_licences
    with at(seeded, REVIEWED) as client:
        quote = ask_coterm(client, admin, licence, other)
        rejected = client.post(
            f"/api/v1/admin/reviews/{quote['number']}", json={"decision": "reject"}, headers=admin
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["order"]["status"] == "cancelled"
        assert pay(client, admin, quote).json()["code"] == "order_closed"
        mails = mails_to(client, admin, "it@example.com")
        [mail] = [m for m in mails if m["kind"] == "review_rejected"]
        assert mail["subject"] == "Ihr Angebot Q-1 wurde nicht angenommen"
        assert "storniert" in mail["text"]
        assert licence_of(client, admin, "it@example.com")["paid_until"] == "2026-03-10"
        missing = client.post(
            "/api/v1/admin/reviews/999", json={"decision": "reject"}, headers=admin
        )
        assert missing.status_code == 404


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_r27_no_card_payment_is_opened_while_under_review(
    seeded: Settings, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    with shop_with(seeded, fake_stripe, "stripe", **stripe_keys(fake_stripe)) as shop:
        licence = shop.place("card", items=[{"sku": "server-starter", "quantity": 1}])
        other = shop.place(
            "card", email="two@example.nl", items=[{"sku": "server-starter", "quantity": 1}]
        )
        for order in (licence, other):
            paid = shop.http.post(
                f"/api/v1/admin/orders/{order['number']}/payments",
                json={"amount": order["total"]["amount"], "currency": "EUR", "method": "card"},
                headers=admin,
            )
            assert paid.status_code == 201, paid.text
        opened = len(fake_stripe.payment_intents)
        answer = shop.http.post(
            f"/api/v1/licences/{licence['licence_id']}/maintenance",
            json={"years": 1, "coterm_with": other["licence_id"]},
            headers=admin,
        )
        quote = answer.json()["order"]
        assert quote["payment"]["method"] == "card"
        assert shop.order(quote["token"])["payment"]["client_secret"] is None
        page = shop.http.get(f"/en/orders/{quote['token']}")
        assert 'id="card-payment"' not in page.text and 'id="under-review"' in page.text
        assert len(fake_stripe.payment_intents) == opened  # nothing opened at Stripe

        accepted = shop.http.post(
            f"/api/v1/admin/reviews/{quote['number']}", json={"decision": "accept"}, headers=admin
        )
        assert accepted.status_code == 200
        assert shop.order(quote["token"])["payment"]["client_secret"]  # payable by card now
        assert len(fake_stripe.payment_intents) == opened + 1


@given(
    yearly=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=4),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=1, max_value=3 * 366),
)
def test_r27_prorated_price_is_rounded_once_and_grows_with_the_days(
    yearly: Decimal, start: date, days: int
) -> None:
    end = date.fromordinal(start.toordinal() + days)
    price = prorated_maintenance(Money(yearly, "EUR"), start, end)
    longer = prorated_maintenance(
        Money(yearly, "EUR"), start, date.fromordinal(end.toordinal() + 1)
    )
    assert price.amount == price.amount.quantize(Decimal("0.01"))
    assert Decimal(0) <= price.amount <= longer.amount
    whole_year = prorated_maintenance(Money(yearly, "EUR"), start, add_months(start, 12))
    assert whole_year == Money.of(yearly, "EUR")  # a whole year costs the yearly price


def test_r27_aligned_date_bounds() -> None:
    today, current = date(2025, 12, 1), date(2026, 3, 10)
    check_aligned_to(date(2026, 3, 11), current, today)
    check_aligned_to(date(2028, 12, 1), current, today)  # exactly 3 years ahead (R25)
    for wrong in (date(2026, 3, 10), date(2026, 1, 1), date(2028, 12, 2)):
        with pytest.raises(ShopError):
            check_aligned_to(wrong, current, today)
