"""GDPR (issue 13): a customer downloads their data as JSON from the account, only theirs
(Art. 15/20 GDPR, R35); an operator erases a customer (Art. 17 GDPR): the address becomes a
pseudonym everywhere, personal data goes, except what an invoice must show (§14 UStG),
which stays until its retention date (§147 AO, Art. 17(3)(b) GDPR)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlmodel import Session, col, select

from shop.accounts.contacts import LicenceContact, add_contact
from shop.accounts.data_export import export_data
from shop.accounts.erasure import ERASED, erase_customer, pseudonym_of
from shop.accounts.links import AddressLink
from shop.accounts.login import known_address
from shop.app import create_app
from shop.backoffice.operators import create_operator
from shop.cli import main
from shop.db import make_engine, session_scope
from shop.errors import ShopError
from shop.licences.models import Activation, ActivationEvent, Licence
from shop.mail.outbox import MailStatus, OutboxMessage
from shop.orders.models import CreditNote, Order, OrderConsent, OrderStatus
from shop.plugins.discounts.service import academic_customer, set_academic
from shop.plugins.events import StoredEvent
from shop.plugins.hookspecs import hookimpl
from shop.plugins.manager import EnabledPlugins, Plugins, get_plugin_manager
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionStatus

NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
ANNA = "anna@example.com"
BOB = "bob@example.com"
ORDER = {
    "name": "Anna Berg",
    "organisation": "Berg GmbH",
    "tax_number": "DE811907980",
    "country": "DE",
    "street": "Annastraße 7",
    "postcode": "10115",
    "city": "Berlin",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "server-starter", "quantity": 1}],
}
CONSUMER = {
    **ORDER,
    "organisation": None,
    "tax_number": None,
    "statements": ["immediate_performance", "withdrawal_loss"],
}
SUBSCRIPTION = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}]


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def place(client: TestClient[Any], email: str, **extra: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/orders", json={**ORDER, "email": email, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["order"]  # type: ignore[no-any-return]


def buy(client: TestClient[Any], admin: dict[str, str], email: str, **extra: Any) -> dict[str, Any]:
    order = place(client, email, **extra)
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    return paid.json()["order"]  # type: ignore[no-any-return]


def licence_of(client: TestClient[Any], admin: dict[str, str], email: str) -> dict[str, Any]:
    [found] = client.get("/api/v1/admin/licences", params={"email": email}, headers=admin).json()[
        "licences"
    ]
    return found  # type: ignore[no-any-return]


def log_in(client: TestClient[Any], admin: dict[str, str], email: str) -> None:
    assert client.post("/api/v1/account/login-link", json={"email": email}).status_code == 202
    outbox = client.get("/api/v1/admin/outbox", params={"to": email}, headers=admin).json()
    [mail, *_] = [m for m in outbox["messages"] if m["kind"] == "login_link"]
    found = re.search(r"https?://\S+?(/(?:de|nl|en)/account/login/\S+)", mail["text"])
    assert found
    page = client.get(found.group(1))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    done = client.post(
        action.group(1), data={"_csrf_token": csrf(page.text)}, follow_redirects=False
    )
    assert done.status_code in (302, 303), done.text


@pytest.fixture
def db(seeded: Settings) -> Iterator[Any]:
    engine = make_engine(seeded.database_url)
    yield engine
    engine.dispose()


def erase(engine: Any, settings: Settings, email: str, now: datetime = NOW) -> Any:
    with session_scope(engine) as session:
        return erase_customer(session, email, now, settings)


def order_row(session: Session, number: int) -> Order:
    return session.exec(select(Order).where(Order.number == number)).one()


# --- the export ---------------------------------------------------------------------------


def test_gdpr_art15_the_export_holds_the_customers_orders_licences_and_statements_only_r35(
    client: TestClient[Any], admin: dict[str, str], db: Any
) -> None:
    mine = buy(client, admin, ANNA, **CONSUMER)
    theirs = buy(client, admin, BOB, name="Bob Other", street="Bobweg 1")
    licence = licence_of(client, admin, ANNA)
    activated = client.post(
        "/api/v1/activations", json={"key": licence["key"], "fingerprint": "anna-host-1"}
    )
    assert activated.status_code == 201, activated.text
    log_in(client, admin, ANNA)

    answer = client.get("/en/account/export.json")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert answer.headers["cache-control"] == "no-store"
    data = json.loads(answer.content)
    assert data["email"] == ANNA
    [order] = data["orders"]
    assert order["number"] == mine["number"] and order["status"] == "paid"
    assert order["total"] == mine["total"]["amount"]  # a decimal string
    assert order["street"] == "Annastraße 7" and order["name"] == "Anna Berg"
    assert [line["sku"] for line in order["lines"]] == ["server-starter"]
    assert {s["kind"] for s in order["statements"]} == {"immediate_performance", "withdrawal_loss"}
    assert all(s["text"] for s in order["statements"])
    datetime.fromisoformat(order["created_at"])  # ISO 8601
    [exported_licence] = data["licences"]
    assert exported_licence["id"] == licence["id"] and exported_licence["role"] == "licensee"
    assert [a["fingerprint"] for a in exported_licence["activations"]] == ["anna-host-1"]
    assert any(mail["kind"] == "login_link" for mail in data["emails"])
    text = answer.content.decode()
    assert BOB not in text and "Bob Other" not in text and "Bobweg" not in text
    assert str(theirs["number"]) not in [str(o["number"]) for o in data["orders"]]


def test_gdpr_a_cancelled_invoice_is_exported_with_its_credit_note_and_both_outlive_erasure(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    placed = place(client, ANNA, **CONSUMER)
    cancelled = client.post(f"/api/v1/admin/orders/{placed['number']}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    log_in(client, admin, ANNA)

    [order] = json.loads(client.get("/en/account/export.json").content)["orders"]

    assert order["status"] == "cancelled"
    [note] = order["credit_notes"]
    assert note["number"].startswith("CN-") and note["amount"] == placed["total"]["amount"]
    report = erase(db, seeded, ANNA)
    assert [kept.invoice_number for kept in report.kept] == [placed["invoice_number"]]
    with session_scope(db) as session:
        kept_order = order_row(session, placed["number"])
        assert kept_order.name == placed["name"] and kept_order.email != ANNA
        assert session.exec(select(CreditNote).where(CreditNote.order_id == kept_order.id)).one()


def test_gdpr_an_anonymous_visitor_gets_no_export_and_another_customer_only_their_own(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, ANNA)
    buy(client, admin, BOB, name="Bob Other")
    anonymous = client.get("/en/account/export.json", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and anonymous.headers["location"] == "/en/login"
    log_in(client, admin, BOB)
    data = client.get("/en/account/export.json").json()
    assert data["email"] == BOB and ANNA not in json.dumps(data)
    assert "Anna Berg" not in json.dumps(data)


def test_gdpr_the_account_page_links_the_export_in_every_language(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    buy(client, admin, ANNA)
    log_in(client, admin, ANNA)
    for lang, text in (
        ("en", "Download my data"),
        ("de", "Meine Daten herunterladen"),
        ("nl", "Mijn gegevens downloaden"),
    ):
        page = client.get(f"/{lang}/account")
        assert text in page.text and f"/{lang}/account/export.json" in page.text


# --- the erasure --------------------------------------------------------------------------


def test_gdpr_art17_erasure_pseudonymises_and_keeps_the_invoice_until_its_retention_date(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    invoiced = buy(client, admin, ANNA, **CONSUMER)
    quote = place(client, ANNA, quote=True)
    assert quote["status"] == "quote"
    cancelled = client.post(f"/api/v1/admin/orders/{quote['number']}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    buy(client, admin, BOB, name="Bob Other")
    licence = licence_of(client, admin, ANNA)
    activation = client.post(
        "/api/v1/activations",
        json={"key": licence["key"], "fingerprint": "anna-host-1", "name": "anna-laptop"},
    ).json()["activation"]
    client.post("/api/v1/account/login-link", json={"email": ANNA})
    with session_scope(db) as session:
        bobs = session.exec(select(Licence).where(Licence.email == BOB)).one()
        add_contact(session, bobs, ANNA, "technical", NOW)

    # A licence in use is not erased: the operator frees its slots first.
    with pytest.raises(ShopError) as refused:
        erase(db, seeded, ANNA)
    assert refused.value.code == "erasure_refused" and refused.value.status == 409
    freed = client.delete(
        f"/api/v1/activations/{activation['id']}", headers={"Licence-Key": licence["key"]}
    )
    assert freed.status_code in (200, 204), freed.text

    with session_scope(db) as session:  # one mail went out; the others still wait
        first = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == ANNA)
            .order_by(col(OutboxMessage.id))
        ).first()
        assert first is not None
        first.status, first.sent_at, first.next_attempt_at = MailStatus.SENT, NOW, None
        session.add(first)
        sent_id = first.id

    report = erase(db, seeded, ANNA)

    pseudonym = pseudonym_of(ANNA, seeded)
    assert re.fullmatch(r"erased-[0-9a-f]{16}@invalid", pseudonym)
    assert report.pseudonym == pseudonym
    [kept] = report.kept
    assert kept.order_number == invoiced["number"] and kept.until == date(2033, 12, 31)
    with Session(db) as session:
        own = order_row(session, invoiced["number"])
        # §14 UStG: the invoice still shows whom it was for, until 2033.
        assert own.email == pseudonym and own.name == "Anna Berg"
        assert (own.street, own.postcode, own.city) == ("Annastraße 7", "10115", "Berlin")
        assert own.token != invoiced["token"]  # the old order link shows nothing any more
        gone = order_row(session, quote["number"])
        assert gone.email == pseudonym and gone.status == OrderStatus.CANCELLED
        assert (gone.name, gone.street, gone.city, gone.organisation, gone.tax_number) == (
            "",
            None,
            None,
            None,
            None,
        )
        assert (
            session.exec(select(OrderConsent).where(OrderConsent.order_id == gone.id)).all() == []
        )
        mine = session.get(Licence, licence["id"])
        assert mine is not None and mine.email == pseudonym and mine.key is None
        [contact] = session.exec(
            select(LicenceContact).where(LicenceContact.licence_id == bobs.id)
        ).all()
        assert contact.email == pseudonym
        [instance] = session.exec(
            select(Activation).where(Activation.licence_id == licence["id"])
        ).all()
        assert instance.fingerprint == "erased" and instance.name is None
        trail = session.exec(
            select(ActivationEvent).where(ActivationEvent.licence_id == licence["id"])
        ).all()
        assert trail and all(e.detail == "" and e.actor_name != ANNA for e in trail)
        assert session.exec(select(AddressLink).where(AddressLink.email == ANNA)).all() == []
        mails = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.to_address).in_([ANNA, pseudonym]))
        ).all()
        # The mail sent stays as the record of it, without what it said; unsent ones go.
        [kept_mail] = mails
        assert kept_mail.id == sent_id and kept_mail.to_address == pseudonym
        assert kept_mail.text_body == "" and kept_mail.subject
        assert not known_address(session, ANNA)
        # The shop's record of it, without the address.
        [event] = session.exec(select(StoredEvent).where(StoredEvent.type == ERASED)).all()
        assert event.data["customer"] == {"pseudonym": pseudonym}
        assert event.data["invoices_kept"] == 1 and event.data["kept_until"] == "2033-12-31"
        stored = json.dumps([e.data for e in session.exec(select(StoredEvent)).all()])
        assert ANNA not in stored
        # Bob is untouched.
        assert session.exec(select(Order).where(Order.email == BOB)).one().name == "Bob Other"
    # No licence carries the old address any more.
    assert (
        client.get("/api/v1/admin/licences", params={"email": ANNA}, headers=admin).json()[
            "licences"
        ]
        == []
    )


def test_gdpr_erasure_is_idempotent(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    buy(client, admin, ANNA)
    first = erase(db, seeded, ANNA)
    assert first.changed > 0 and len(first.kept) == 1
    again = erase(db, seeded, ANNA)
    by_pseudonym = erase(db, seeded, first.pseudonym)
    for report in (again, by_pseudonym):
        assert report.changed == 0 and report.pseudonym == first.pseudonym
        assert report.kept == first.kept  # still told which invoice stays
    with Session(db) as session:
        assert len(session.exec(select(StoredEvent).where(StoredEvent.type == ERASED)).all()) == 1


def test_gdpr_after_the_retention_period_the_invoiced_order_is_fully_erased_r8(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    invoiced = buy(client, admin, ANNA)
    assert len(erase(db, seeded, ANNA).kept) == 1
    with Session(db) as session:
        assert order_row(session, invoiced["number"]).name == "Anna Berg"
    # 2033-12-31 is the last day (8 years after the end of 2025, DE); the next day it goes.
    last_day = datetime(2033, 12, 31, 12, tzinfo=UTC)
    assert len(erase(db, seeded, ANNA, last_day).kept) == 1
    later = erase(db, seeded, ANNA, datetime(2034, 1, 1, 12, tzinfo=UTC))
    assert later.kept == [] and later.orders == 1
    with Session(db) as session:
        order = order_row(session, invoiced["number"])
        assert (order.name, order.street, order.tax_number) == ("", None, None)
        assert order.invoice_number is not None  # the number stays, gapless (R8)


def test_gdpr_a_customer_with_a_running_subscription_or_open_order_is_not_erased(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    buy(client, admin, ANNA, items=SUBSCRIPTION)
    pending = place(client, BOB)
    for email in (ANNA, BOB):
        with pytest.raises(ShopError) as refused:
            erase(db, seeded, email)
        assert refused.value.code == "erasure_refused"
    assert str(pending["number"]) in str(refused.value)
    with Session(db) as session:
        assert session.exec(select(Licence).where(Licence.email == ANNA)).one().key
        assert session.exec(select(StoredEvent).where(StoredEvent.type == ERASED)).all() == []
    # Once the subscription has ended, the customer is erased, the subscription with them.
    with session_scope(db) as session:
        subscription = session.exec(select(Subscription).where(Subscription.email == ANNA)).one()
        old_token = subscription.token
        subscription.status = SubscriptionStatus.EXPIRED
        session.add(subscription)
    report = erase(db, seeded, ANNA)
    assert report.subscriptions == 1
    with Session(db) as session:
        ended = session.exec(select(Subscription)).one()
        assert ended.email == report.pseudonym and ended.token != old_token


# --- the back office and the command --------------------------------------------------------


@pytest.fixture
def back_office(seeded: Settings) -> Iterator[TestClient[Any]]:
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        create_operator(session, "ops@example.com", "a long passphrase", NOW, locale="de")
    engine.dispose()
    with TestClient(app=create_app(seeded)) as client:
        form = {"email": "ops@example.com", "password": "a long passphrase", "code": ""}
        token = csrf(client.get("/admin/login").text)
        login = client.post(
            "/admin/login", data={**form, "_csrf_token": token}, follow_redirects=False
        )
        assert login.status_code == 303
        yield client


def test_gdpr_the_back_office_erases_after_two_steps_and_shows_the_report(
    back_office: TestClient[Any], admin: dict[str, str], db: Any
) -> None:
    client = back_office
    invoiced = buy(client, admin, ANNA)
    found = client.get("/admin/customers", params={"q": " Anna@Example.com "})
    assert found.status_code == 200 and 'id="erase-start"' in found.text
    assert str(invoiced["invoice_number"] or "") in found.text
    form = {"email": ANNA, "_csrf_token": csrf(found.text)}
    confirm = client.post("/admin/customers/erase", data=form)
    assert confirm.status_code == 200 and 'id="confirm-email"' in confirm.text
    with Session(db) as session:  # nothing happened yet
        assert order_row(session, invoiced["number"]).email == ANNA
    wrong = client.post(
        "/admin/customers/erase", data={**form, "confirm_email": "someone@example.com"}
    )
    assert wrong.status_code == 422 and "erneut" in wrong.text
    done = client.post("/admin/customers/erase", data={**form, "confirm_email": ANNA.upper()})
    assert done.status_code == 200 and 'id="erase-report"' in done.text, done.text
    assert "erased-" in done.text and "31. Dezember 2033" in done.text
    assert 'id="erase-counts"' in done.text and "Bestellungen" in done.text
    with Session(db) as session:
        assert order_row(session, invoiced["number"]).email.startswith("erased-")


def test_gdpr_the_back_office_says_why_it_does_not_erase_in_the_operators_language(
    back_office: TestClient[Any], admin: dict[str, str], db: Any
) -> None:
    client = back_office
    buy(client, admin, ANNA, items=SUBSCRIPTION)
    found = client.get("/admin/customers", params={"q": ANNA})
    assert 'id="erase-error"' in found.text and "Abonnement" in found.text
    form = {"email": ANNA, "confirm_email": ANNA, "_csrf_token": csrf(found.text)}
    refused = client.post("/admin/customers/erase", data=form)
    assert refused.status_code == 409 and "Abonnement" in refused.text
    with Session(db) as session:
        assert session.exec(select(Licence).where(Licence.email == ANNA)).one().key


def test_gdpr_shop_customer_erase_from_the_command_line(
    client: TestClient[Any],
    admin: dict[str, str],
    db: Any,
    seeded: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buy(client, admin, ANNA)
    monkeypatch.setenv("SHOP_DATABASE_URL", seeded.database_url)
    monkeypatch.setenv("SHOP_CLOCK", "2025-04-01T09:00:00+00:00")
    monkeypatch.setenv("SHOP_SECRET_KEY", seeded.secret_key or "")
    result = CliRunner().invoke(main, ["customer", "erase", ANNA, "--yes"])
    assert result.exit_code == 0, result.output
    assert pseudonym_of(ANNA, seeded) in result.output and "2033-12-31" in result.output
    with Session(db) as session:
        assert session.exec(select(Licence).where(Licence.email == ANNA)).all() == []


# --- what plugins keep ----------------------------------------------------------------------


class Notebook:
    """A third-party plugin that keeps notes by customer address."""

    def __init__(self) -> None:
        self.notes = {ANNA: ["prefers German documentation"]}
        self.erased: list[tuple[str, str]] = []

    @hookimpl
    def shop_customer_data(self, email: str) -> dict[str, Any]:
        return {"notes": self.notes[email]} if email in self.notes else {}

    @hookimpl
    def shop_customer_erase(self, email: str, pseudonym: str) -> int:
        if self.notes.pop(email, None) is None:
            return 0
        self.erased.append((email, pseudonym))
        return 1


def installed(notebook: Notebook) -> EnabledPlugins:
    return Plugins(get_plugin_manager([("notebook", notebook)])).everything


def test_shop_customer_data_puts_what_each_plugin_keeps_in_the_export(
    client: TestClient[Any], admin: dict[str, str], db: Any
) -> None:
    buy(client, admin, ANNA)
    plugins = installed(Notebook())
    with session_scope(db) as session:
        set_academic(session, ANNA, True, NOW)
    with Session(db) as session:
        mine = export_data(session, ANNA, NOW, plugins)["plugins"]
        assert mine["notebook"] == {"notes": ["prefers German documentation"]}
        assert mine["discounts"]["academic"] is True  # R29's flag, from the built-in plugin
        assert export_data(session, BOB, NOW, plugins)["plugins"] == {}


def test_shop_customer_erase_lets_every_plugin_erase_its_records_once(
    client: TestClient[Any], admin: dict[str, str], db: Any, seeded: Settings
) -> None:
    buy(client, admin, ANNA)
    notebook = Notebook()
    plugins = installed(notebook)
    with session_scope(db) as session:
        set_academic(session, ANNA, True, NOW)
    with session_scope(db) as session:
        report = erase_customer(session, ANNA, NOW, seeded, plugins=plugins)
    assert report.plugins == 2
    assert notebook.erased == [(ANNA, pseudonym_of(ANNA, seeded))]
    with Session(db) as session:
        assert academic_customer(session, ANNA) is None
    with session_scope(db) as session:
        again = erase_customer(session, ANNA, NOW, seeded, plugins=plugins)
    assert again.plugins == 0 and again.changed == 0
