"""Times and numbers in the buyer's locale (R34, issue 13): moments in the shop's time zone
(Europe/Berlin: CET, UTC+1, in December) formatted by Babel, and the frozen exchange rate and
margin (R14) with the locale's decimal comma on pages and PDFs. Never floats."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import pypdf
import pytest
from litestar.testing import TestClient

from shop.i18n import Translator
from shop.settings import ROOT, Settings

DECEMBER = "2026-12-02T16:34:10+00:00"  # 17:34:10 in Berlin


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, clock=DECEMBER)


def plain(text: str) -> str:
    """Babel's no-break spaces (U+00A0, U+202F) as the reader sees them: spaces."""
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def pdf_text(pdf: bytes) -> str:
    return plain("\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages))


def dzd_order(client: TestClient, admin: dict[str, str], lang: str, email: str) -> dict[str, Any]:
    rate = {"rate": "150.25", "margin": "0.0125"}
    assert client.put("/api/v1/admin/exchange-rates/DZD", json=rate, headers=admin).is_success
    body = {
        "email": email,
        "name": "Amina Benali",
        "country": "DZ",
        "currency": "DZD",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    response = client.post(f"/api/v1/orders?lang={lang}", json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["order"]
    return order


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("de", "Wechselkurs: 1 EUR = 150,25 DZD, inklusive 1,25 % Marge."),
        ("nl", "Wisselkoers: 1 EUR = 150,25 DZD, inclusief 1,25% marge."),
        ("en", "1 EUR = 150.25 DZD, including a 1.25% margin."),
    ],
)
def test_the_pdf_prints_the_frozen_rate_and_margin_as_the_locale_writes_numbers(
    client: TestClient, admin: dict[str, str], lang: str, note: str
) -> None:
    order = dzd_order(client, admin, lang, f"{lang}@example.dz")
    pdf = client.get(f"/api/v1/orders/{order['token']}/document.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert note in text
    assert "0.0125" not in text and "1.25 %" not in text.replace("1.25% margin", "")


@pytest.mark.parametrize(
    ("lang", "shown"),
    [("de", "02.12.2026, 17:34:10"), ("nl", "2 dec 2026, 17:34:10"), ("en", "5:34:10 PM")],
)
def test_the_order_page_shows_the_payment_at_berlin_time_in_december(
    client: TestClient, admin: dict[str, str], lang: str, shown: str
) -> None:
    body = {
        "email": f"zeit-{lang}@example.com",
        "name": "Feuerwehr Musterstadt",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-monthly", "quantity": 1}],
    }
    order = client.post(f"/api/v1/orders?lang={lang}", json=body).json()["order"]
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    page = plain(client.get(f"/{lang}/orders/{order['token']}").text)
    assert shown in page
    assert "16:34:10" not in page and "4:34:10" not in page and "UTC" not in page


def test_a_late_evening_payment_is_dated_the_next_day_in_berlin_and_numbers_stay_exact() -> None:
    german = Translator.for_locale(ROOT / "locales", "de")
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert german.day(late, "long") == "1. Januar 2027"
    assert german.date(datetime(2026, 7, 1, 12, 0)) == "01.07.2026, 14:00:00"  # naive = UTC; CEST
    assert german.decimal(Decimal("0.9400")) == "0,94"
    assert german.decimal(Decimal("163.123456789")) == "163,123456789"  # every digit, no float
    assert plain(german.percent(Decimal("0.01"))) == "1,00 %"
    dutch = Translator.for_locale(ROOT / "locales", "nl", time_zone="Europe/Amsterdam")
    assert dutch.date(late, "short") == "01-01-2027, 00:30"
