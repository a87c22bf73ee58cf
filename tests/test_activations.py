"""Activations (issue 14): the vendor's software takes a slot of a licence with its key and
gets a signed licence file that verifies offline with only the public key; one instance
per licence unless the product allows more; a wrong key is a 404; check-ins carry the
licence's entitlements now; everything done is in the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlmodel import select

from shop.app import create_app
from shop.db import make_engine, session_scope
from shop.licences.keys import load_public_key
from shop.licences.models import ActivationEvent
from shop.licences.verify import verify_file
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.renewals import run_renewals

VERIFY = Path(__file__).resolve().parent.parent / "shop" / "licences" / "verify.py"
BOUGHT = "2025-03-10T10:00:00+01:00"


def at(settings: Settings, moment: str) -> TestClient:
    return TestClient(app=create_app(replace(settings, clock=moment)))


def pay(client: TestClient, admin: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": order["currency"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return response.json()["order"]  # type: ignore[no-any-return]


def buy(
    client: TestClient, admin: dict[str, str], email: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """A paid order of ``items``; the licence it made, with its key."""
    body = {
        "email": email,
        "name": "IT",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": items,
    }
    placed = client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    order = pay(client, admin, placed.json()["order"])
    return {**licence_of(client, admin, email), "order": order}


def licence_of(client: TestClient, admin: dict[str, str], email: str) -> dict[str, Any]:
    [found] = client.get(f"/api/v1/admin/licences?email={email}", headers=admin).json()["licences"]
    return found  # type: ignore[no-any-return]


def activate(client: TestClient, key: str, fingerprint: str, lang: str = "en", **more: Any) -> Any:
    return client.post(
        "/api/v1/activations",
        json={"key": key, "fingerprint": fingerprint, **more},
        headers={"Accept-Language": lang},
    )


def public_pem(client: TestClient) -> str:
    answer = client.get("/.well-known/licence-public-key.pem")
    assert answer.status_code == 200
    return answer.text


def payload(licence_file: str) -> dict[str, Any]:
    return json.loads(licence_file)["payload"]  # type: ignore[no-any-return]


OFFLINE = """
import importlib.util, json, sys
from datetime import datetime
spec = importlib.util.spec_from_file_location("vendored_verify", sys.argv[1])
verify = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = verify
spec.loader.exec_module(verify)
key = verify.load_public_key_pem(open(sys.argv[2]).read())
result = verify.verify_file(
    open(sys.argv[3]).read(), key, fingerprint=sys.argv[4],
    now=datetime.fromisoformat(sys.argv[5]),
)
shop = sorted(m for m in sys.modules if m.split(".")[0] in ("shop", "sqlmodel", "litestar"))
print(json.dumps({"valid": result.valid, "problem": result.problem, "shop_modules": shop,
    "quantities": result.grants.quantities if result.grants else None,
    "warnings": list(result.warnings)}))
"""


def verify_offline(
    tmp_path: Path, pem: str, licence_file: str, fingerprint: str, now: str
) -> dict[str, Any]:
    """The vendor's software: verify.py copied alone, the public key, the file; no shop."""
    (tmp_path / "public.pem").write_text(pem)
    (tmp_path / "licence.json").write_text(licence_file)
    vendored = tmp_path / "vendor" / "licence_check.py"
    vendored.parent.mkdir()
    vendored.write_text(VERIFY.read_text())
    done = subprocess.run(
        [
            sys.executable,
            "-I",  # isolated: neither the working directory nor PYTHON* variables
            "-c",
            OFFLINE,
            str(vendored),
            str(tmp_path / "public.pem"),
            str(tmp_path / "licence.json"),
            fingerprint,
            now,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_licence_activates_one_instance_its_file_verifies_offline_and_a_second_is_refused(
    seeded: Settings, admin: dict[str, str], tmp_path: Path
) -> None:
    with at(seeded, BOUGHT) as client:
        bought = buy(client, admin, "it@example.com", [{"sku": "base-yearly", "quantity": 1}])
        key = bought["key"]
        first = activate(client, key, "srv-old-7f3a", name="Old server")
        assert first.status_code == 201, first.text
        activation = first.json()["activation"]
        assert activation["licence_id"] == bought["id"]
        assert activation["fingerprint"] == "srv-old-7f3a"
        # Given only the public key and the file, the software verifies it offline.
        checked = verify_offline(
            tmp_path,
            public_pem(client),
            activation["licence_file"],
            "srv-old-7f3a",
            "2025-03-20T10:00:00+00:00",
        )
        assert checked["valid"] is True, checked
        assert checked["shop_modules"] == []
        assert checked["quantities"] == {"base-yearly": 1}
        grants = payload(activation["licence_file"])
        assert grants["email"] == "it@example.com"
        assert grants["paid_until"] == bought["paid_until"]
        assert grants["check_in_by"] == "2025-04-09T09:00:00Z"  # 30 days (the setting)

        # The same installation again: its activation, not a second slot.
        again = activate(client, key, "srv-old-7f3a")
        assert again.status_code == 201
        assert again.json()["activation"]["id"] == activation["id"]
        assert again.json()["activation"]["reused"] is True

        # A second instance is refused, in the caller's language, naming the one in use.
        refused = {lang: activate(client, key, "srv-new-91bc", lang) for lang in ("de", "nl", "en")}
        for answer in refused.values():
            assert answer.status_code == 409
            assert answer.json()["code"] == "activation_limit"
            assert "Old server (srv-old-7f3a)" in answer.json()["detail"]
            assert answer.json()["instances"][0]["fingerprint"] == "srv-old-7f3a"
        assert len({a.json()["detail"] for a in refused.values()}) == 3
        assert len({a.json()["title"] for a in refused.values()}) == 3

        # The old server frees its slot; the new one activates.
        freed = client.delete(
            f"/api/v1/activations/{activation['id']}", headers={"Licence-Key": key}
        )
        assert freed.status_code == 200, freed.text
        assert freed.json()["activation"]["deactivated_by"] == "software"
        assert activate(client, key, "srv-new-91bc").status_code == 201


def test_a_wrong_key_is_a_404_that_tells_nothing(seeded: Settings, admin: dict[str, str]) -> None:
    with at(seeded, BOUGHT) as client:
        mine = buy(client, admin, "it@example.com", [{"sku": "base-yearly", "quantity": 1}])
        other = buy(client, admin, "other@example.com", [{"sku": "base-yearly", "quantity": 1}])
        activation = activate(client, mine["key"], "srv-1").json()["activation"]
        tampered = mine["key"][:-3] + ("AAA" if not mine["key"].endswith("AAA") else "BBB")
        for key in ("nonsense", tampered, "LS1.e30.e30"):
            answer = activate(client, key, "srv-2")
            assert answer.status_code == 404, key
            assert answer.json()["code"] == "not_found"
        # Another licence's key for my activation: the same 404 as an unknown id.
        for path in (f"/api/v1/activations/{activation['id']}", "/api/v1/activations/999"):
            headers = {"Licence-Key": other["key"]}
            assert client.post(f"{path}/check-in", headers=headers).status_code == 404
            assert client.delete(path, headers=headers).status_code == 404
        assert client.post(f"/api/v1/activations/{activation['id']}/check-in").status_code in (
            400,
            422,
        )  # no key at all: the header is required


def test_a_server_licence_bought_twice_runs_two_instances_and_a_trial_one(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, BOUGHT) as client:
        servers = buy(client, admin, "it@example.com", [{"sku": "server-starter", "quantity": 2}])
        assert activate(client, servers["key"], "a").status_code == 201
        assert activate(client, servers["key"], "b").status_code == 201
        third = activate(client, servers["key"], "c")
        assert third.status_code == 409 and third.json()["code"] == "activation_limit"
        assert "a, b" in third.json()["detail"]
        trial = client.post(
            "/api/v1/trials", json={"email": "try@example.com", "sku": "base-yearly"}, headers=admin
        ).json()["licence"]
        assert activate(client, trial["key"], "t1").status_code == 201
        assert activate(client, trial["key"], "t2").json()["code"] == "activation_limit"
    with at(seeded, "2025-03-25T10:00:00+01:00") as later:  # the 10 days are over
        ended = activate(later, trial["key"], "t1")
        assert ended.status_code == 409
        assert ended.json()["code"] == "licence_expired"
        assert ended.json()["reason"] == "trial_ended"


def test_after_an_upgrade_the_next_check_in_carries_the_new_quantities(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, BOUGHT) as client:
        items = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}]
        bought = buy(client, admin, "it@example.com", items)
        activation = activate(client, bought["key"], "srv-1").json()["activation"]
        assert payload(activation["licence_file"])["quantities"]["persons-yearly"] == 5
    with at(seeded, "2025-06-01T10:00:00+02:00") as client:
        subscription_id = bought["order"]["subscription_id"]
        switched = client.post(
            f"/api/v1/subscriptions/{subscription_id}/switch",
            json={"items": [items[0], {"sku": "persons-yearly", "quantity": 12}]},
            headers=admin,
        )
        assert switched.status_code == 200, switched.text
        pay(client, admin, switched.json()["order"])
        # The software still holds the key it was installed with.
        checked = client.post(
            f"/api/v1/activations/{activation['id']}/check-in",
            headers={"Licence-Key": bought["key"]},
        )
        assert checked.status_code == 200, checked.text
        renewed = payload(checked.json()["activation"]["licence_file"])
        assert renewed["quantities"]["persons-yearly"] == 12
        assert renewed["licence_id"] == bought["id"]  # the licence number stays
        assert renewed["issued_at"] == "2025-06-01T08:00:00Z"


def test_after_a_paid_renewal_the_next_check_in_carries_the_new_paid_until(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, BOUGHT) as client:
        bought = buy(client, admin, "renew@example.com", [{"sku": "base-yearly", "quantity": 1}])
        activation = activate(client, bought["key"], "srv-1").json()["activation"]
        assert payload(activation["licence_file"])["paid_until"] == bought["paid_until"]
    renewal_day = date.fromisoformat(bought["paid_until"][:10])
    engine = make_engine(seeded.database_url)
    plugins = Plugins(get_plugin_manager())
    run_renewals(
        engine,
        lambda session: enabled_view(session, plugins, seeded),
        renewal_day,
        datetime.combine(renewal_day, datetime.min.time(), tzinfo=UTC).replace(hour=6),
        timedelta(days=seeded.grace_days),
    )
    engine.dispose()
    with at(seeded, f"{renewal_day.isoformat()}T09:00:00+00:00") as client:
        orders = client.get(
            "/api/v1/admin/orders", params={"email": "renew@example.com"}, headers=admin
        ).json()["orders"]
        (renewal,) = [o for o in orders if o["kind"] == "renewal"]
        # Unpaid, the renewal changes nothing the software is told.
        before = client.post(
            f"/api/v1/activations/{activation['id']}/check-in",
            headers={"Licence-Key": bought["key"]},
        )
        assert (
            payload(before.json()["activation"]["licence_file"])["paid_until"]
            == (bought["paid_until"])
        )
        pay(client, admin, renewal)
        checked = client.post(
            f"/api/v1/activations/{activation['id']}/check-in",
            headers={"Licence-Key": bought["key"]},
        )
        assert checked.status_code == 200, checked.text
        renewed = payload(checked.json()["activation"]["licence_file"])
        assert renewed["paid_until"] > bought["paid_until"]
        assert renewed["paid_until"] == licence_of(client, admin, "renew@example.com")["paid_until"]


def test_a_perpetual_licence_after_maintenance_warns_and_keeps_working(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, BOUGHT) as client:
        bought = buy(client, admin, "it@example.com", [{"sku": "server-starter", "quantity": 1}])
        first = activate(client, bought["key"], "srv-1").json()["activation"]
        grants = payload(first["licence_file"])
        assert grants["perpetual"] is True
        assert grants["paid_until"] is None
        assert grants["maintenance_until"] == "2026-03-10"  # R23: 12 months
        public = load_public_key(public_pem(client))
    with at(seeded, "2026-05-01T10:00:00+02:00") as client:  # maintenance ended in March
        checked = client.post(
            f"/api/v1/activations/{first['id']}/check-in", headers={"Licence-Key": bought["key"]}
        )
        assert checked.status_code == 200, checked.text
        licence_file = checked.json()["activation"]["licence_file"]
        result = verify_file(
            licence_file, public, fingerprint="srv-1", now=datetime(2026, 5, 2, tzinfo=UTC)
        )
        assert result.valid, result.problem
        assert result.updates is False
        assert any("maintenance ended on 2026-03-10" in w for w in result.warnings)
        # A version released after maintenance ended is not covered.
        newer = verify_file(
            licence_file,
            public,
            now=datetime(2026, 5, 2, tzinfo=UTC),
            release_date=datetime(2026, 4, 1).date(),
        )
        assert not newer.valid and "after maintenance ended" in (newer.problem or "")
        # Maintenance renewed (R24): the next check-in carries the new end.
        ordered = client.post(
            f"/api/v1/licences/{bought['id']}/maintenance", json={"years": 1}, headers=admin
        )
        pay(client, admin, ordered.json()["order"])
        again = client.post(
            f"/api/v1/activations/{first['id']}/check-in", headers={"Licence-Key": bought["key"]}
        )
        assert payload(again.json()["activation"]["licence_file"])["maintenance_until"] == (
            "2027-03-10"
        )


def test_a_tampered_file_fails_and_the_audit_trail_says_who_did_what(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, BOUGHT) as client:
        bought = buy(client, admin, "it@example.com", [{"sku": "base-yearly", "quantity": 1}])
        activation = activate(client, bought["key"], "srv-1").json()["activation"]
        public = load_public_key(public_pem(client))
        headers = {"Licence-Key": bought["key"]}
        client.post(f"/api/v1/activations/{activation['id']}/check-in", headers=headers)
        client.delete(f"/api/v1/activations/{activation['id']}", headers=headers)
        after_delete = client.post(
            f"/api/v1/activations/{activation['id']}/check-in", headers=headers
        )
        assert after_delete.status_code == 409
        assert after_delete.json()["code"] == "activation_deactivated"
    document = json.loads(activation["licence_file"])
    now = datetime(2025, 3, 11, tzinfo=UTC)
    assert verify_file(activation["licence_file"], public, now=now).valid
    document["payload"]["quantities"]["base-yearly"] = 50
    tampered = verify_file(json.dumps(document), public, now=now)
    assert not tampered.valid and "signature" in (tampered.problem or "")
    wrong_place = verify_file(activation["licence_file"], public, fingerprint="other", now=now)
    assert not wrong_place.valid and "srv-1" in (wrong_place.problem or "")
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        trail = [(e.action, e.actor) for e in session.exec(select(ActivationEvent))]
    engine.dispose()
    assert trail == [
        ("activated", "software"),
        ("checked_in", "software"),
        ("deactivated", "software"),
    ]


def test_r35_a_customer_deactivates_only_instances_of_licences_they_see(
    seeded: Settings, admin: dict[str, str]
) -> None:
    from test_accounts import csrf_token, log_in

    with at(seeded, BOUGHT) as client:
        mine = buy(client, admin, "anna@example.com", [{"sku": "base-yearly", "quantity": 1}])
        theirs = buy(client, admin, "bert@example.com", [{"sku": "base-yearly", "quantity": 1}])
        my_activation = activate(client, mine["key"], "anna-srv").json()["activation"]
        their_activation = activate(client, theirs["key"], "bert-srv").json()["activation"]
        log_in(client, admin, "anna@example.com")
        page = client.get("/en/account")
        assert "anna-srv" in page.text and "bert-srv" not in page.text
        token = csrf_token(page.text)
        foreign = client.post(
            f"/en/account/licences/{mine['id']}/activations/{their_activation['id']}/deactivate",
            data={"_csrf_token": token},
            follow_redirects=False,
        )
        assert foreign.status_code == 404
        other_licence = client.post(
            f"/en/account/licences/{theirs['id']}/activations/{their_activation['id']}/deactivate",
            data={"_csrf_token": token},
            follow_redirects=False,
        )
        assert other_licence.status_code == 404
        done = client.post(
            f"/en/account/licences/{mine['id']}/activations/{my_activation['id']}/deactivate",
            data={"_csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code in (302, 303)
        assert "anna-srv" not in client.get("/en/account").text
        # The software learns it at its next check-in; Bert's instance runs on.
        gone = client.post(
            f"/api/v1/activations/{my_activation['id']}/check-in",
            headers={"Licence-Key": mine["key"]},
        )
        assert gone.json()["code"] == "activation_deactivated"
        still = client.post(
            f"/api/v1/activations/{their_activation['id']}/check-in",
            headers={"Licence-Key": theirs["key"]},
        )
        assert still.status_code == 200
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        [event] = session.exec(
            select(ActivationEvent).where(ActivationEvent.action == "deactivated")
        ).all()
    engine.dispose()
    assert (event.actor, event.actor_name) == ("customer", "anna@example.com")


def test_expired_and_cancelled_licences_refuse_with_the_reason(
    seeded: Settings, admin: dict[str, str]
) -> None:
    from shop.licences.models import Licence, LicenceStatus
    from shop.subscriptions.models import Subscription, SubscriptionStatus

    with at(seeded, BOUGHT) as client:
        cancelled = buy(client, admin, "c@example.com", [{"sku": "base-yearly", "quantity": 1}])
        expired = buy(client, admin, "e@example.com", [{"sku": "base-yearly", "quantity": 1}])
        running = activate(client, cancelled["key"], "srv-1").json()["activation"]
        engine = make_engine(seeded.database_url)
        with session_scope(engine) as session:
            subscription = session.get(Subscription, cancelled["order"]["subscription_id"])
            assert subscription is not None
            subscription.status = SubscriptionStatus.CANCELLED
            licence = session.get(Licence, expired["id"])
            assert licence is not None
            licence.status = LicenceStatus.EXPIRED
        engine.dispose()
        answer = activate(client, cancelled["key"], "srv-2", "de")
        assert answer.status_code == 409
        assert (answer.json()["code"], answer.json()["reason"]) == (
            "licence_cancelled",
            "cancelled",
        )
        assert answer.json()["title"] == "Lizenz gekündigt"
        checked = client.post(
            f"/api/v1/activations/{running['id']}/check-in",
            headers={"Licence-Key": cancelled["key"]},
        )
        assert checked.json()["code"] == "licence_cancelled"
        gone = activate(client, expired["key"], "srv-1", "nl")
        assert (gone.status_code, gone.json()["code"]) == (409, "licence_expired")
        assert gone.json()["detail"].startswith("Deze licentie is verlopen")
        # Freeing a slot works whatever the licence's state.
        freed = client.delete(
            f"/api/v1/activations/{running['id']}", headers={"Licence-Key": cancelled["key"]}
        )
        assert freed.status_code == 200


def test_activations_are_rate_limited_per_address(seeded: Settings) -> None:
    with TestClient(app=create_app(replace(seeded, rate_limits="activation=5/minute"))) as client:
        guesses = [activate(client, f"LS1.guess{n}", "srv") for n in range(5)]
        assert [g.status_code for g in guesses] == [404] * 5
        refused = activate(client, "LS1.guess5", "srv", "de")
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        # Freeing a slot is never held back.
        assert (
            client.delete("/api/v1/activations/1", headers={"Licence-Key": "x"}).status_code == 404
        )


def test_the_check_in_window_is_a_setting(seeded: Settings, admin: dict[str, str]) -> None:
    weekly = replace(seeded, clock=BOUGHT, activation_check_in_days=7, activation_grace_days=3)
    assert Settings.from_env({"SHOP_ACTIVATION_CHECK_IN_DAYS": "7"}).activation_check_in_days == 7
    with TestClient(app=create_app(weekly)) as client:
        bought = buy(client, admin, "it@example.com", [{"sku": "base-yearly", "quantity": 1}])
        grants = payload(
            activate(client, bought["key"], "srv-1").json()["activation"]["licence_file"]
        )
        assert grants["check_in_by"] == "2025-03-17T09:00:00Z"
        assert grants["grace_days"] == 3


def test_in_test_mode_the_file_is_a_test_file_that_production_refuses(
    seeded: Settings, admin: dict[str, str], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from shop.cli import main

    test_mode = replace(seeded, payments_test_mode=True)
    with TestClient(app=create_app(test_mode)) as client:
        trial = client.post(
            "/api/v1/trials", json={"email": "t@example.com", "sku": "base-yearly"}, headers=admin
        ).json()["licence"]
        answer = activate(client, trial["key"], "srv-1")
        assert answer.status_code == 201, answer.text
        licence_file = answer.json()["activation"]["licence_file"]
        public = load_public_key(public_pem(client))
    assert payload(licence_file)["test"] is True
    production = verify_file(licence_file, public, now=datetime(2025, 4, 2, tzinfo=UTC))
    assert not production.valid and "signature" in (production.problem or "")
    saved = tmp_path / "licence.json"
    saved.write_text(licence_file)
    env = {
        "SHOP_LICENCE_SIGNING_KEY": str(seeded.licence_signing_key),
        "SHOP_CLOCK": "2025-04-02T10:00:00+00:00",
        "SHOP_DATABASE_URL": seeded.database_url,
    }
    told = CliRunner().invoke(main, ["licence", "verify-file", str(saved)], env=env)
    assert told.exit_code == 1
    assert "TEST FILE" in told.stdout
    assert "instance:     srv-1" in told.stdout
