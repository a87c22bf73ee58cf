"""GET /api/v1/products: enabled products, priced in the asked currency, in the asked language."""

from __future__ import annotations

from decimal import Decimal

from litestar.testing import TestClient

PROBLEM = "application/problem+json"


def products(client: TestClient, **params: str) -> dict:
    response = client.get("/api/v1/products", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def by_sku(body: dict) -> dict:
    return {p["sku"]: p for p in body["products"]}


def test_r14_dutch_names_and_dzd_prices_for_algeria(client: TestClient) -> None:
    """Given the demo rate 150 and margin 5 %, when a Dutch buyer in Algeria asks for DZD,
    then names are Dutch and prices are EUR list price x 150 x 1.05, to the minor unit."""
    response = client.get(
        "/api/v1/products",
        params={"currency": "DZD", "country": "DZ"},
        headers={"Accept-Language": "nl"},
    )
    assert response.status_code == 200
    items = by_sku(response.json())
    base = items["base-yearly"]
    assert base["name"] == "Basispakket (jaarlijks)"
    assert base["price"] == {"amount": "77175.00", "currency": "DZD"}  # 490 x 150 x 1.05
    assert items["persons-yearly"]["price"] == {"amount": "945.00", "currency": "DZD"}
    assert base["exchange_rate"] == {"base": "EUR", "rate": "150", "margin": "0.05"}


def test_r14_dzd_for_germany_is_refused_in_dutch(client: TestClient) -> None:
    response = client.get(
        "/api/v1/products",
        params={"currency": "DZD", "country": "DE"},
        headers={"Accept-Language": "nl"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "currency_not_allowed"
    assert problem["title"] == "Valuta niet toegestaan"
    assert "Algerije" in problem["detail"]
    assert problem["status"] == 422


def test_r14_dzd_without_country_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/products", params={"currency": "DZD"})
    assert response.status_code == 422
    assert response.json()["code"] == "currency_not_allowed"


def test_api_list_has_the_contract_fields(client: TestClient) -> None:
    items = by_sku(products(client, currency="EUR", country="DE"))
    base = items["base-yearly"]
    assert {
        "sku",
        "name",
        "line",
        "kind",
        "billing_period_months",
        "trial_days",
        "self_service_switch",
        "price",
    } <= set(base)
    assert base["kind"] == "subscription"
    assert base["billing_period_months"] == 12
    assert base["trial_days"] == 10
    assert base["price"] == {"amount": "490.00", "currency": "EUR"}
    assert items["persons-monthly"]["kind"] == "addon"
    assert items["server-starter"]["kind"] == "perpetual"
    assert items["server-starter"]["billing_period_months"] is None
    assert items["agreement-single"]["kind"] == "agreement"
    assert items["agreement-single"]["invoice_every_months"] == 3


def test_r33_legacy_packages_are_not_self_service(client: TestClient) -> None:
    items = by_sku(products(client))
    legacy = [p for p in items.values() if p["line"] == "legacy"]
    assert len(legacy) == 5
    assert all(p["self_service_switch"] is False for p in legacy)
    assert items["base-yearly"]["self_service_switch"] is True


def test_r30_tiers_carry_support_channels_and_response_times(client: TestClient) -> None:
    items = by_sku(products(client, lang="de"))
    enterprise = items["server-enterprise"]["support"]
    assert "Telefonsupport" in enterprise["channels"]
    assert "TeamViewer" in enterprise["channels"]
    starter = items["server-starter"]["support"]
    assert starter["channels"] == ["E-Mail", "Wissensdatenbank"]


def test_usd_has_its_own_list_prices(client: TestClient) -> None:
    items = by_sku(products(client, currency="usd", country="us"))
    assert items["base-yearly"]["price"] == {"amount": "540.00", "currency": "USD"}


def test_locale_from_query_beats_accept_language(client: TestClient) -> None:
    response = client.get(
        "/api/v1/products", params={"lang": "de"}, headers={"Accept-Language": "nl"}
    )
    assert by_sku(response.json())["base-monthly"]["name"] == "Basispaket (monatlich)"
    assert response.headers["content-language"] == "de"


def test_bad_input_gets_translated_problems(client: TestClient) -> None:
    cases = [
        ({"currency": "XYZ"}, "currency_unknown"),
        ({"currency": "EUR", "country": "Germany"}, "validation_error"),
        ({"currency": "EUR", "country": "QQ"}, "validation_error"),
    ]
    for params, code in cases:
        response = client.get("/api/v1/products", params=params, headers={"Accept-Language": "de"})
        assert response.status_code == 422, params
        problem = response.json()
        assert problem["code"] == code
        assert response.headers["content-type"].startswith(PROBLEM)
        assert problem["title"] in {"Unbekannte Währung", "Die Anfrage ist ungültig"}


def test_unknown_api_address_is_a_problem_not_a_page(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here", headers={"Accept-Language": "nl"})
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "type": "urn:shop:problem:not_found",
        "title": "Niet gevonden",
        "detail": "Op dit adres staat niets.",
        "code": "not_found",
    }


def test_money_amounts_are_decimal_strings(client: TestClient) -> None:
    for product in products(client, currency="DZD", country="DZ")["products"]:
        amount = product["price"]["amount"]
        assert isinstance(amount, str)
        assert Decimal(amount).as_tuple().exponent == -2


def test_openapi_schema_is_served(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/api/v1/products" in schema["paths"]
    assert "/api/v1/admin/plugins" in schema["paths"]
