"""The cancel button (§312k BGB) and the withdrawal button (§356a BGB) without a login, on
SQLite and PostgreSQL: every declaration is recorded and confirmed by a receipt in the
outbox; one that identifies a contract is applied; the rest is flagged for the operator;
bad input gives form messages, never a 500; nobody learns whether an address is known."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from shop.app import create_app
from shop.cancellations.models import CancellationRequest
from shop.db import make_engine, session_scope
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order
from shop.settings import Settings
from shop.subscriptions.models import Subscription

START = "2025-01-01T10:00:00+01:00"
LATER = "2025-04-01T10:00:00+02:00"
ITEMS = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]


def at(settings: Settings, moment: str) -> TestClient:
    return TestClient(app=create_app(replace(settings, clock=moment)))


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def order(client: TestClient, admin: dict[str, str], pay: bool = True, **extra: Any) -> Any:
    body = {
        "email": "kundin@example.com",
        "name": "Kundin",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": ITEMS,
        **extra,
    }
    placed = client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    made = placed.json()["order"]
    if not pay:
        return made
    paid = client.post(
        f"/api/v1/admin/orders/{made['number']}/payments",
        json={"amount": made["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    return paid.json()["order"]


@pytest.fixture
def bought(seeded: Settings, admin: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A German customer's yearly subscription, paid on 2025-01-01 (term to 2026-01-01)."""
    with at(seeded, START) as client:
        yield order(client, admin)


def declare(client: TestClient, lang: str, which: str, form: dict[str, str]) -> Any:
    """Fill the form, go to the confirmation, press the final button."""
    page = client.get(f"/{lang}/{which}")
    assert page.status_code == 200
    review = client.post(f"/{lang}/{which}/review", data={**form, "_csrf_token": csrf(page.text)})
    assert review.status_code == 200, review.text
    return client.post(f"/{lang}/{which}/submit", data={**form, "_csrf_token": csrf(review.text)})


def rows(settings: Settings) -> list[CancellationRequest]:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        found = list(session.exec(select(CancellationRequest)))
    engine.dispose()
    return found


def receipts(settings: Settings) -> list[OutboxMessage]:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        found = list(
            session.exec(select(OutboxMessage).where(OutboxMessage.kind == "cancellation_receipt"))
        )
    engine.dispose()
    return found


def test_312k_the_footer_links_to_the_cancel_and_withdrawal_buttons(client: TestClient) -> None:
    for lang, cancel, withdraw in (
        ("de", "Verträge hier kündigen", "Vertrag widerrufen"),
        ("nl", "Overeenkomsten hier opzeggen", "Overeenkomst herroepen"),
        ("en", "Cancel contracts here", "Withdraw from contract"),
    ):
        page = client.get(f"/{lang}/").text
        assert f'href="/{lang}/cancel" id="cancel-contracts">{cancel}<' in page
        assert f'href="/{lang}/withdraw" id="withdraw-contract">{withdraw}<' in page


def test_312k_a_cancellation_with_key_ends_the_subscription_at_term_end(
    seeded: Settings, bought: dict[str, Any]
) -> None:
    with at(seeded, LATER) as client:
        done = declare(
            client,
            "de",
            "cancel",
            {
                "name": "Kundin",
                "email": "Kundin@Example.com ",
                "contract": "subscription",
                "reference": str(bought["number"]),
                "mode": "ordinary",
                "end": "earliest",
                "receipt_email": "kundin@example.com",
            },
        )
    assert done.status_code == 200
    assert "Ihre Kündigung ist am 1. April 2025, 10:00:00 MESZ eingegangen" in done.text
    [row] = rows(seeded)
    assert (row.outcome, row.ends_on, row.needs_operator) == ("cancelled", date(2026, 1, 1), False)
    [receipt] = receipts(seeded)
    assert receipt.to_address == "kundin@example.com"
    assert receipt.subject == "Eingangsbestätigung Ihrer Kündigung"
    assert "1. April 2025, 10:00:00 MESZ" in receipt.text_body  # received, shop's time zone
    assert "Es endet am 1. Januar 2026 und wird nicht verlängert." in receipt.text_body
    assert "20 × Zusätzliche Personen" in receipt.text_body
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        subscription = session.get(Subscription, bought["subscription_id"])
        assert subscription is not None and subscription.status == "pending-cancel"
    engine.dispose()


def test_312k_an_unidentified_cancellation_is_recorded_flagged_and_receipted_generically(
    seeded: Settings, bought: dict[str, Any]
) -> None:
    form = {
        "name": "Jemand",
        "email": "kundin@example.com",
        "contract": "agreement",
        "reference": "",  # an e-mail alone ends nobody's contract
        "mode": "ordinary",
        "end": "earliest",
        "receipt_email": "jemand@example.org",
    }
    with at(seeded, LATER) as client:
        known = declare(client, "nl", "cancel", form)
        unknown = declare(client, "nl", "cancel", {**form, "email": "niemand@example.org"})

    def without_numbers(text: str) -> str:
        return re.sub(r"\d+", "N", text.split("<main", 1)[1].split("</main>", 1)[0])

    assert without_numbers(known.text) == without_numbers(unknown.text)  # nothing revealed
    assert [r.outcome for r in rows(seeded)] == ["unmatched", "unmatched"]
    assert all(r.needs_operator for r in rows(seeded))
    first, second = receipts(seeded)
    assert "Uw opzegging is ontvangen en wordt verwerkt." in first.text_body
    assert "Zusätzliche" not in first.text_body and "Aanvullende" not in first.text_body
    assert re.sub(r"\d+", "N", first.text_body) == re.sub(
        r"\d+", "N", second.text_body.replace("niemand@example.org", "kundin@example.com")
    )


def test_312k_a_receipt_to_another_address_names_no_contract(
    seeded: Settings, bought: dict[str, Any]
) -> None:
    with at(seeded, LATER) as client:
        declare(
            client,
            "en",
            "cancel",
            {
                "name": "Kundin",
                "email": "kundin@example.com",
                "contract": "subscription",
                "reference": str(bought["number"]),
                "receipt_email": "someone-else@example.org",
            },
        )
    [row] = rows(seeded)
    assert row.outcome == "cancelled"  # the declaration counts
    [receipt] = receipts(seeded)
    assert receipt.to_address == "someone-else@example.org"
    assert "January" not in receipt.text_body and "Additional" not in receipt.text_body
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        kinds = [m.kind for m in session.exec(select(OutboxMessage))]
    engine.dispose()
    assert "subscription_cancelled" in kinds  # the holder is told at the contract's address


def test_312k_bad_input_gives_messages_beside_the_fields(client: TestClient) -> None:
    page = client.get("/de/cancel")
    answer = client.post(
        "/de/cancel/review",
        data={
            "_csrf_token": csrf(page.text),
            "email": "no-address",
            "contract": "lease",
            "mode": "extraordinary",
            "end": "date",
            "end_date": "31.02.",
        },
    )
    assert answer.status_code == 422
    text = answer.text
    for name in ("name", "email", "contract", "reason", "end_date", "receipt_email"):
        assert f'id="{name}-error"' in text, name
    assert 'id="email" name="email" type="email" autocomplete="email" value="no-address" ' in text
    assert 'aria-invalid="true" aria-describedby="email-error"' in text
    assert "Eine außerordentliche Kündigung braucht ihren Grund." in text
    # the final button re-checks what the hidden fields carry
    submitted = client.post(
        "/de/cancel/submit", data={"_csrf_token": csrf(text), "name": "x" * 500}
    )
    assert submitted.status_code == 422
    assert "Das ist zu lang." in submitted.text


def test_356a_a_withdrawal_in_the_period_is_flagged_and_an_unpaid_order_cancelled(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, START) as client:
        paid = order(client, admin)
        unpaid = order(client, admin, pay=False, email="zwei@example.com")
    with at(seeded, "2025-01-15T23:00:00+01:00") as client:  # the 14th day after
        for number, email in (
            (paid["number"], "kundin@example.com"),
            (unpaid["number"], "zwei@example.com"),
        ):
            done = declare(
                client,
                "de",
                "withdraw",
                {
                    "name": "Kundin",
                    "email": email,
                    "reference": str(number),
                    "receipt_email": email,
                },
            )
            assert "Ihr Widerruf ist am 15. Januar 2025, 23:00:00 MEZ eingegangen" in done.text
    first, second = rows(seeded)
    assert (first.outcome, first.needs_operator, first.ends_on) == (
        "withdrawn",
        True,
        date(2025, 1, 15),
    )
    assert (second.outcome, second.needs_operator) == ("withdrawn_unpaid", True)
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        cancelled = session.exec(select(Order).where(Order.number == unpaid["number"])).one()
        assert cancelled.status == "cancelled"
    engine.dispose()
    mail = receipts(seeded)[0]
    assert mail.subject == "Eingangsbestätigung Ihres Widerrufs"
    assert "innerhalb der Widerrufsfrist" in mail.text_body and "15. Januar 2025" in mail.text_body


def test_356a_after_the_period_the_receipt_says_it_has_ended(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, START) as client:
        paid = order(client, admin)
    with at(seeded, "2025-01-16T08:00:00+01:00") as client:
        declare(
            client,
            "nl",
            "withdraw",
            {
                "name": "Kundin",
                "email": "kundin@example.com",
                "reference": f"#{paid['number']}",
                "receipt_email": "kundin@example.com",
            },
        )
    [row] = rows(seeded)
    assert (row.outcome, row.needs_operator) == ("period_over", False)
    [mail] = receipts(seeded)
    assert "De herroepingstermijn van bestelling" in mail.text_body
    assert "15 januari 2025" in mail.text_body


def test_356a_a_consumer_who_made_both_356_5_statements_has_no_withdrawal_once_delivered(
    seeded: Settings, admin: dict[str, str]
) -> None:
    statements = ["immediate_performance", "withdrawal_loss"]
    with at(seeded, START) as client:
        paid = order(client, admin, statements=statements)
        unpaid = order(client, admin, pay=False, email="zweite@example.com", statements=statements)
        for number, email in (
            (paid["number"], "kundin@example.com"),
            (unpaid["number"], "zweite@example.com"),
        ):
            declare(
                client,
                "de",
                "withdraw",
                {
                    "name": "Kundin",
                    "email": email,
                    "reference": str(number),
                    "receipt_email": email,
                },
            )
    outcomes = {row.order_id: row.outcome for row in rows(seeded)}
    assert sorted(outcomes.values()) == ["waived", "withdrawn_unpaid"]  # not delivered: withdrawn


def test_356a_a_business_order_has_no_statutory_withdrawal(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, START) as client:
        paid = order(client, admin, organisation="Feuerwehr Musterstadt")
        declare(
            client,
            "en",
            "withdraw",
            {
                "name": "Kundin",
                "email": "kundin@example.com",
                "reference": str(paid["number"]),
                "receipt_email": "kundin@example.com",
            },
        )
    [row] = rows(seeded)
    assert row.outcome == "not_consumer"
    assert "the statutory right of withdrawal is a consumer's" in receipts(seeded)[0].text_body


def test_356a_bad_order_number_is_a_form_message(client: TestClient) -> None:
    page = client.get("/nl/withdraw")
    answer = client.post(
        "/nl/withdraw/review",
        data={
            "_csrf_token": csrf(page.text),
            "name": "A",
            "email": "a@example.com",
            "reference": "'; drop table",
            "receipt_email": "a@example.com",
        },
    )
    assert answer.status_code == 422
    assert 'aria-describedby="reference-hint reference-error"' in answer.text


def test_dutch_rule_a_dutch_consumer_cancels_with_a_month_after_the_first_term(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, START) as client:
        paid = order(client, admin, country="NL")
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:  # as if renewed once: the second term runs
        subscription = session.get(Subscription, paid["subscription_id"])
        assert subscription is not None
        subscription.term_start, subscription.term_end = date(2026, 1, 1), date(2027, 1, 1)
        session.add(subscription)
    engine.dispose()
    with at(seeded, "2026-03-10T10:00:00+01:00") as client:
        state = client.get(f"/api/v1/subscriptions/{paid['subscription_id']}", headers=admin)
        token = state.json()["page_url"].rsplit("/", 1)[1]
        asked = client.get(f"/nl/subscriptions/{token}/confirm-cancel").text
        assert "Uw abonnement eindigt op 10 april 2026 en wordt dan niet verlengd." in asked
        declare(
            client,
            "nl",
            "cancel",
            {
                "name": "Klant",
                "email": "kundin@example.com",
                "contract": "subscription",
                "reference": str(paid["number"]),
                "receipt_email": "kundin@example.com",
            },
        )
    [row] = rows(seeded)
    assert (row.outcome, row.ends_on, row.needs_operator) == ("cancelled", date(2026, 4, 10), True)
    text = receipts(seeded)[0].text_body
    assert "Het eindigt op 10 april 2026" in text
    assert "consument in Nederland" in text
    with at(seeded, "2026-03-11T10:00:00+01:00") as client:
        state = client.get(f"/api/v1/subscriptions/{paid['subscription_id']}", headers=admin)
        assert state.json()["term_end"] == "2026-04-10"
        page_url = state.json()["page_url"]
        page = client.get(page_url)
        client.post(f"{page_url}/resume", data={"_csrf_token": csrf(page.text)})
        state = client.get(f"/api/v1/subscriptions/{paid['subscription_id']}", headers=admin)
        # taken back: as if never cancelled, the running term's own end again
        assert (state.json()["status"], state.json()["term_end"]) == ("active", "2027-01-01")


def test_the_back_office_lists_open_declarations(seeded: Settings, bought: dict[str, Any]) -> None:
    from shop.backoffice.operators import create_operator
    from shop.clock import Clock

    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        create_operator(
            session,
            "ops@example.com",
            "correct horse battery",
            Clock.from_setting(START, "UTC").now(),
            locale="de",
        )
    engine.dispose()
    with at(seeded, LATER) as client:
        assert client.get("/admin/cancellations", follow_redirects=False).status_code in (302, 303)
        declare(
            client,
            "de",
            "cancel",
            {
                "name": "Unbekannt",
                "email": "wer@example.org",
                "contract": "subscription",
                "reference": "LS1.nothing",
                "receipt_email": "wer@example.org",
            },
        )
        login = client.get("/admin/login")
        client.post(
            "/admin/login",
            data={
                "_csrf_token": csrf(login.text),
                "email": "ops@example.com",
                "password": "correct horse battery",
            },
        )
        listing = client.get("/admin/cancellations")
        assert listing.status_code == 200
        assert "Unbekannt" in listing.text and "Kein Vertrag erkannt" in listing.text
        [row] = rows(seeded)
        client.post(
            f"/admin/cancellations/{row.id}/handled", data={"_csrf_token": csrf(listing.text)}
        )
        assert "Unbekannt" not in client.get("/admin/cancellations").text


def test_r31_a_support_agreement_cancelled_by_the_button_runs_out_its_invoiced_period(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, START) as client:
        paid = order(client, admin, items=[{"sku": "agreement-single", "quantity": 1}])
    with at(seeded, "2025-02-10T10:00:00+01:00") as client:
        declare(
            client,
            "de",
            "cancel",
            {
                "name": "Kundin",
                "email": "kundin@example.com",
                "contract": "agreement",
                "reference": str(paid["number"]),
                "receipt_email": "kundin@example.com",
            },
        )
    [row] = rows(seeded)
    assert (row.outcome, row.ends_on) == ("cancelled", date(2025, 4, 1))
    assert (
        "Ihr Supportvertrag ist gekündigt. Er endet am 1. April 2025; bereits berechnete "
        "Zeiträume bleiben fällig." in receipts(seeded)[0].text_body
    )


def test_the_confirmation_page_can_go_back_to_the_form_with_the_values(
    client: TestClient,
) -> None:
    page = client.get("/en/cancel")
    form = {
        "name": "Ann",
        "email": "ann@example.com",
        "contract": "subscription",
        "mode": "ordinary",
        "end": "date",
        "end_date": "2025-12-31",
        "receipt_email": "ann@example.com",
    }
    review = client.post("/en/cancel/review", data={**form, "_csrf_token": csrf(page.text)})
    assert "December 31, 2025" in review.text and 'id="cancel-now">Cancel now<' in review.text
    back = client.post(
        "/en/cancel/submit", data={**form, "action": "edit", "_csrf_token": csrf(review.text)}
    )
    assert back.status_code == 200
    assert 'id="cancel-form"' in back.text and 'value="2025-12-31"' in back.text


def test_dutch_rule_the_subscription_page_says_it_to_a_dutch_consumer(
    seeded: Settings, admin: dict[str, str]
) -> None:
    rule = "na de eerste looptijd loopt het abonnement voor onbepaalde tijd door"
    with at(seeded, START) as client:
        dutch = order(client, admin, country="NL")
        vat = "NL123456782B01"
        business = order(client, admin, country="NL", email="b@example.nl", tax_number=vat)
        for made, shown in ((dutch, True), (business, False)):
            subscription = client.get(
                f"/api/v1/subscriptions/{made['subscription_id']}", headers=admin
            ).json()
            page = client.get(re.sub(r"^/\w\w/", "/nl/", subscription["page_url"])).text
            assert (rule in page) is shown


def test_hostile_input_gives_form_messages_never_a_500(
    seeded: Settings, bought: dict[str, Any]
) -> None:
    with at(seeded, LATER) as client:
        hostile(client)


def hostile(client: TestClient) -> None:
    page = client.get("/de/withdraw")
    token = csrf(page.text)
    huge = {
        "name": "A",
        "email": "a@example.com",
        "reference": "99999999999",  # beyond an INTEGER column
        "receipt_email": "a@example.com",
    }
    answer = client.post("/de/withdraw/submit", data={**huge, "_csrf_token": token})
    assert answer.status_code == 422 and 'id="reference-error"' in answer.text
    cancel = client.post(
        "/de/cancel/submit",
        data={
            "_csrf_token": token,
            "name": "A",
            "email": "kundin@example.com",  # holds a subscription: the number is looked up
            "contract": "subscription",
            "reference": "99999999999999999999",
            "receipt_email": "a@example.com",
        },
    )
    assert cancel.status_code == 200  # recorded (no contract identified), no database error
    repeated = client.post(
        "/de/cancel/review",
        content=f"_csrf_token={token}&name=a&name=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code < 500
    assert client.get("/xx/cancel").status_code == 404
