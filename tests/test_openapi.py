"""The OpenAPI document says what to send and what comes back (issue 10): every body typed,
every error status documented as problem+json with its codes, the operator token as a
security scheme; its examples work as they stand."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

ERRORS_EVERYWHERE = {"400", "413", "422", "503"}
OPERATOR_PREFIXES = ("/api/v1/admin/", "/api/v1/subscriptions/", "/api/v1/licences/")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_holds_the_api_and_no_pages(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert "/api/v1/orders" in paths and "/webhooks/{provider}" in paths
    assert all(p.startswith(("/api/", "/webhooks/")) for p in paths), paths


def test_every_operation_documents_its_errors_as_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert set(responses) >= ERRORS_EVERYWHERE, (method, path)
        for status, response in responses.items():
            if status.startswith("2"):
                content = response.get("content") or {}
                schema = next(iter(content.values()))["schema"]
                assert schema != {} and schema.get("type") != "null", (method, path)
                continue
            problem = response["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
            codes = [example["value"]["code"] for example in problem["examples"].values()]
            assert codes and all(f"`{code}`" in response["description"] for code in codes)


def test_operator_calls_name_the_bearer_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["operatorToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for method, path, operation in operations(document):
        if path.startswith(OPERATOR_PREFIXES):
            assert operation.get("security") == [{"operatorToken": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
        else:
            assert not operation.get("security"), (method, path)


def body_example(document: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    content = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    example: dict[str, Any] = content["schema"]["examples"][0]
    return example


def test_the_documented_examples_place_an_order_record_its_payment_and_switch(
    client: TestClient, document: dict[str, Any], admin: dict[str, str]
) -> None:
    placed = client.post("/api/v1/orders", json=body_example(document, "/api/v1/orders"))
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    payment = body_example(document, "/api/v1/admin/orders/{number}/payments")
    assert payment["amount"] == order["total"]["amount"], "the example pays this order in full"
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments", json=payment, headers=admin
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["order"]["status"] == "paid"
    switch = body_example(document, "/api/v1/subscriptions/{subscription_id}/switch")
    previewed = client.post(
        f"/api/v1/subscriptions/{order['subscription_id']}/switch", json=switch, headers=admin
    )
    assert previewed.status_code == 200, previewed.text
    assert previewed.json()["kind"] == "upgrade"


def test_litestars_own_checks_answer_in_the_shops_translated_shape(
    client: TestClient, admin: dict[str, str]
) -> None:
    answers = {
        lang: client.patch(
            "/api/v1/admin/plugins/usd",
            json={"enabled": "yes"},
            headers={**admin, "Accept-Language": lang},
        )
        for lang in ("de", "nl", "en")
    }
    for answer in answers.values():
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "validation_error"
        assert answer.json()["field"] == "enabled"
    assert len({a.json()["detail"] for a in answers.values()}) == 3
    missing = client.post(
        "/api/v1/orders", json={"email": "anna@example.nl"}, headers={"Accept-Language": "de"}
    )
    assert missing.status_code == 422
    assert missing.json()["detail"] == "Bitte füllen Sie dieses Feld aus."
    nested = client.post(
        "/api/v1/orders",
        json={**body_example_order(), "items": [{"sku": "base-yearly", "quantity": "2"}]},
    )
    assert nested.status_code == 422 and nested.json()["field"] == "items.0.quantity"
    query = client.get("/api/v1/licences/catch-up-price?sku=x&since=someday", headers=admin)
    assert query.status_code == 422 and query.json()["field"] == "since", query.text


def body_example_order() -> dict[str, Any]:
    return {
        "email": "anna@example.nl",
        "name": "Anna",
        "country": "NL",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [],
    }


def test_the_operator_token_works_with_a_lower_case_scheme_and_spaces(
    client: TestClient, operator_token: str
) -> None:
    for header in (
        f"Bearer {operator_token}",
        f"bearer {operator_token}",
        f"Bearer  {operator_token} ",
    ):
        answer = client.get("/api/v1/admin/plugins", headers={"Authorization": header})
        assert answer.status_code == 200, header
    refused = client.get("/api/v1/admin/plugins", headers={"Authorization": "Basic abc"})
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
