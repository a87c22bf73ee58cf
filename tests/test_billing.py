"""Billing data a German B2B buyer's accounting accepts (§14 UStG), and the consumer's
two statements for digital content (§356(5) BGB), from the checkout to the invoice."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from sqlmodel import select
from test_pages import csrf_token

from shop.db import make_engine, session_scope
from shop.i18n import country_names, is_country
from shop.orders.billing import BillingAddress, address_lines, check_address, check_tax_number
from shop.orders.models import Order, OrderConsent
from shop.settings import Settings


def test_only_iso_3166_countries_are_offered_in_every_language() -> None:
    for locale in ("de", "nl", "en"):
        names = country_names(locale)
        assert len(names) == 249
        for group in ("EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "001"):
            assert group not in names
    assert country_names("de")["DE"] == "Deutschland"
    assert country_names("nl")["BE"] == "België"
    assert not is_country("XA") and not is_country("EU") and is_country("AT")
    german = list(country_names("de"))
    assert german.index("OM") < german.index("AT") < german.index("PK")  # Ö sorts as O


def test_a_german_postcode_has_five_digits_and_the_us_needs_a_state() -> None:
    wrong = check_address(BillingAddress("Musterstraße 1", "1011", "Berlin", "DE"))
    assert [error.field for error in wrong] == ["postcode"]
    assert wrong[0].params["example"].isdigit()
    us = check_address(BillingAddress("1 Main St", "10001", "New York", "US"))
    assert [error.field for error in us] == ["region"]
    assert check_address(BillingAddress("1 Main St", "10001", "New York", "US", "NY")) == []
    assert check_address(BillingAddress("Damrak 1", "1012 LG", "Amsterdam", "NL")) == []
    empty = check_address(BillingAddress("", None, "", "DE"))
    assert {error.field for error in empty} == {"street", "postcode", "city"}


def test_the_address_is_printed_as_the_country_writes_it() -> None:
    assert address_lines(BillingAddress("Musterstraße 1", "10115", "Berlin", "DE")) == (
        "Musterstraße 1",
        "10115 Berlin",
    )
    assert address_lines(BillingAddress("1 Main St", "10001", "New York", "US", "NY")) == (
        "1 Main St",
        "New York, NY 10001",
    )


def test_vat_numbers_are_checked_offline_by_format_and_check_digit() -> None:
    assert check_tax_number("DE 123 456 788", "DE") == "DE123456788"
    assert check_tax_number("NL004495445B01", "DE") == "NL004495445B01"  # its own prefix
    assert check_tax_number("12/345/67890", "DE") == "12/345/67890"  # a German Steuernummer
    for wrong, country in (("DE123456789", "DE"), ("NL123456789B01", "NL"), ("xx", "US")):
        with pytest.raises(Exception) as refused:
            check_tax_number(wrong, country)
        assert getattr(refused.value, "field", None) == "tax_number"


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_any_german_vat_number_with_its_check_digit_is_taken(digits: str) -> None:
    from stdnum.iso7064 import mod_11_10

    number = f"DE{digits}{mod_11_10.calc_check_digit(digits)}"
    if digits[0] != "0":  # German VAT numbers do not start with 0
        assert check_tax_number(number, "DE") == number


def _cart(client: TestClient, lang: str) -> str:
    token = csrf_token(client.get(f"/{lang}/products/base-yearly").text)
    client.post(f"/{lang}/cart/add", data={"sku": "base-yearly", "_csrf_token": token})
    return csrf_token(client.get(f"/{lang}/checkout").text)


CONSUMER = {
    "email": "jana@example.com",
    "name": "Jana Schmidt",
    "street": "Musterstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "mode": "pay",
}


def _place(client: TestClient, lang: str, **changes: Any) -> Any:
    token = _cart(client, lang)
    form = {**CONSUMER, **changes, "_csrf_token": token}
    return client.post(
        f"/{lang}/checkout/place",
        data={k: v for k, v in form.items() if v is not None},
        follow_redirects=False,
    )


def test_the_checkout_page_asks_for_the_full_address_and_ties_errors_to_fields(
    client: TestClient,
) -> None:
    refused = _place(client, "de", street="", postcode="1011", city="")
    assert refused.status_code == 422
    html = refused.text
    for field in ("street", "postcode", "city"):
        assert f'id="{field}"' in html
        tag = html[html.index(f'id="{field}"') - 10 : html.index(f'id="{field}"') + 300]
        assert 'aria-invalid="true"' in tag and f'aria-describedby="{field}-error"' in tag
        assert f'id="{field}-error"' in html
    assert "Postleitzahl des gewählten Landes" in html
    assert "Bitte bestätigen Sie diese Erklärung" in html  # a consumer without statements
    assert "Pseudo-Akzente" not in html and "Europäische Union" not in html


def test_r11_a_wrong_vat_number_is_refused_on_the_page_and_kept_in_the_form(
    client: TestClient,
) -> None:
    refused = _place(client, "nl", organisation="Brandweer BV", tax_number="NL123456789B01")
    assert refused.status_code == 422
    assert "geen geldig btw- of fiscaal nummer" in refused.text
    assert 'value="Brandweer BV"' in refused.text and 'value="Musterstraße 1"' in refused.text


def test_the_order_button_and_the_summary_above_it_in_german_and_dutch(
    client: TestClient,
) -> None:
    german = client.get("/de/checkout")
    if german.status_code != 200 or "pay-now" not in german.text:
        _cart(client, "de")
        german = client.get("/de/checkout")
    html = german.text
    assert "Zahlungspflichtig bestellen" in html and "Angebot anfordern" in html
    review = html[html.index('id="review-heading"') : html.index('id="pay-now"')]
    assert "Was Sie bestellen" in review and "Laufzeit: 12 Monate" in review
    assert "verlängert sich automatisch" in review
    _cart(client, "nl")
    dutch = client.get("/nl/checkout").text
    assert "Bestellen met betalingsverplichting" in dutch and "Offerte aanvragen" in dutch
    assert "onbepaalde tijd" in dutch  # the Dutch 2011 rule, shown before ordering


def test_r356_5_a_consumer_makes_both_statements_and_they_reach_invoice_and_mail(
    client: TestClient, seeded: Settings, admin: dict[str, str]
) -> None:
    placed = _place(
        client,
        "de",
        consent_immediate_performance="1",
        consent_withdrawal_loss="1",
        tax_number=None,
    )
    assert placed.status_code in (302, 303), placed.text[:2000]
    token = placed.headers["location"].rsplit("/", 1)[-1]
    with session_scope(make_engine(seeded.database_url)) as session:
        order = session.exec(select(Order).where(Order.token == token)).one()
        assert (order.street, order.postcode, order.city) == ("Musterstraße 1", "10115", "Berlin")
        consents = session.exec(select(OrderConsent).where(OrderConsent.order_id == order.id)).all()
        assert [c.kind for c in consents] == ["immediate_performance", "withdrawal_loss"]
        assert consents[0].text.startswith("Ich stimme ausdrücklich zu")
        assert consents[0].given_at is not None
    pdf = client.get(f"/api/v1/orders/{token}/document.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf.content)).pages)
    flat = " ".join(text.split())
    assert "Musterstraße 1" in flat and "10115 Berlin" in flat
    assert "Deutschland" in flat and "Germany" not in flat  # the seller's country in German
    assert "Ihre Erklärung vom" in flat and "Widerrufsrecht verliere" in flat
    outbox = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
    mails = [m["text"] for m in outbox if m["to"] == CONSUMER["email"]]
    assert any("Ich stimme ausdrücklich zu" in text for text in mails)  # a durable medium


def test_r356_5_a_business_buyer_needs_no_statements(client: TestClient) -> None:
    placed = _place(client, "de", organisation="Feuerwehr Musterstadt", tax_number="DE 123 456 788")
    assert placed.status_code in (302, 303), placed.text[:2000]
    page = client.get(placed.headers["location"])
    assert page.status_code == 200


def test_the_api_takes_the_address_when_sent_and_refuses_a_test_country(
    client: TestClient,
) -> None:
    order = {
        "email": "api@example.com",
        "name": "Api Buyer",
        "country": "XA",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    refused = client.post("/api/v1/orders", json=order)
    assert refused.status_code == 422
    wrong = client.post(
        "/api/v1/orders", json={**order, "country": "DE", "street": "Weg 2", "city": "Bonn"}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "postcode"
    placed = client.post(
        "/api/v1/orders",
        json={
            **order,
            "country": "DE",
            "street": "Weg 2",
            "postcode": "53111",
            "city": "Bonn",
            "statements": ["immediate_performance", "withdrawal_loss"],
        },
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["order"]["billing_address"]["postcode"] == "53111"


def test_the_api_takes_the_address_as_api_md_writes_it_nested(client: TestClient) -> None:
    order = {
        "email": "nested@example.com",
        "name": "Nested Buyer",
        "country": "NL",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    wrong = client.post(
        "/api/v1/orders",
        json={**order, "address": {"street": "Dorpsstraat 1", "postcode": "99", "city": "Ede"}},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "postcode"
    address = {"street": "Dorpsstraat 1", "postcode": "6711 AA", "city": "Ede"}
    placed = client.post("/api/v1/orders", json={**order, "address": address})
    assert placed.status_code == 201, placed.text
    billed = placed.json()["order"]["billing_address"]
    assert (billed["street"], billed["postcode"], billed["city"]) == tuple(address.values())
