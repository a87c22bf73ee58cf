"""Rate limits (issue 12): a script repeating trials, checkouts or logins gets a translated
429 in time; a person never notices; each limit counts on its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings
from shop.web.rate_limits import RateLimitSettingError, limits_for, parse_limits


def _trial(client: TestClient[Any], n: int, **headers: str) -> Any:
    return client.post(
        "/api/v1/trials",
        json={"email": f"t{n}@example.com", "sku": "cloud-starter"},
        headers=headers,
    )


def test_rate_limit_trials_answer_429_in_the_callers_language_after_ten(seeded: Settings) -> None:
    with TestClient(app=create_app(seeded)) as client:
        answers = [_trial(client, n) for n in range(10)]
        assert [a.status_code for a in answers] == [201] * 10
        refused = _trial(client, 10, **{"Accept-Language": "de"})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["code"] == "rate_limited"
        assert body["title"] == "Zu viele Versuche"
        assert "Minute" in body["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        # Checkout counts on its own: the trials did not use it up.
        order = client.post(
            "/api/v1/orders",
            json={
                "email": "buyer@example.com",
                "name": "Anna",
                "country": "DE",
                "currency": "EUR",
                "payment_method": "bank_transfer",
                "items": [{"sku": "cloud-starter", "quantity": 1}],
            },
        )
        assert order.status_code == 201, order.text


def test_rate_limit_page_form_gets_a_translated_page(seeded: Settings) -> None:
    settings = replace(seeded, rate_limits="trial=1/minute")
    with TestClient(app=create_app(settings)) as client:
        form = {"email": "p@example.com", "sku": "cloud-starter"}
        client.post("/nl/trial", data=form)
        refused = client.post("/nl/trial", data=form)
    assert refused.status_code == 429
    assert "text/html" in refused.headers["content-type"]
    assert "Te veel pogingen" in refused.text


def test_rate_limit_setting_switches_a_limit_off_or_changes_it(seeded: Settings) -> None:
    settings = replace(seeded, rate_limits="trial=off, checkout=2/hour")
    with TestClient(app=create_app(settings)) as client:
        assert {_trial(client, n).status_code for n in range(12)} == {201}
    limits = {limit.name: limit for limit in limits_for(parse_limits(settings.rate_limits))}
    assert "trial" not in limits
    assert (limits["checkout"].count, limits["checkout"].unit) == (2, "hour")
    assert limits["operator_login"].count < 30


@pytest.mark.parametrize("bad", ["trials=3/minute", "trial=3", "trial=x/minute", "trial=3/week"])
def test_rate_limit_setting_that_cannot_be_read_stops_the_start(bad: str) -> None:
    with pytest.raises(RateLimitSettingError):
        parse_limits(bad)


def test_rate_limit_release_links_by_mail_stop_after_five(seeded: Settings) -> None:
    with TestClient(app=create_app(seeded)) as client:
        answers = [
            client.post("/api/v1/address-release", json={"email": "victim@example.com"})
            for _ in range(6)
        ]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert answers[-1].json()["code"] == "rate_limited"
