"""The example third-party plugin (tests/example_plugin, distribution ``shop-training``):
installed with pip and enabled by the operator, it adds CHF and "invoice on account" with its
own German and Dutch texts, a page, a template override, a setting, a table with its own
migration, an early-bird discount and a command, with no change to the shop (issue 11).

Every test here opts in to the plugin (``plugins`` marker): the rest of the suite never sees
it. The browser half is tests/browser/test_example_plugin_pages.py."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from litestar.testing import TestClient
from live import SHOP, environment_of, running_shop
from shop_training.models import TrainingSession, add_session
from shop_training.pricing import early_bird
from sqlalchemy import inspect, text

from shop.app import create_app
from shop.catalog.adjustments import Adjustment, Purchase, PurchaseKind, PurchaseLine
from shop.catalog.products import Kind
from shop.clock import Clock
from shop.db import load_models, make_engine, session_scope
from shop.i18n import Translator
from shop.money import Money
from shop.payments.methods import PaymentRequest
from shop.plugins.context import Customer, HookContext
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.settings import PluginSettingsInvalid
from shop.plugins.state import set_enabled
from shop.settings import Settings

pytestmark = pytest.mark.plugins("training")

COURSE = "training-online-half-day"
NOW = "2025-04-01T09:00:00+00:00"
EVERY_HOOK = {
    "shop_currencies",
    "shop_product_lines",
    "shop_payment_methods",
    "shop_settings",
    "shop_routes",
    "shop_commands",
    "shop_price_adjustments",
}


def enable(client: TestClient, admin: dict[str, str], on: bool = True) -> None:
    response = client.patch("/api/v1/admin/plugins/training", json={"enabled": on}, headers=admin)
    assert response.status_code == 200, response.text


def course_order(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "urs@example.ch",
        "name": "Urs Meier",
        "country": "CH",
        "currency": "CHF",
        "payment_method": "invoice",
        "items": [{"sku": COURSE, "quantity": 2}],
    }
    body.update(changes)
    return body


def schedule(settings: Settings, starts_on: date, seats: int = 6, place: str = "Online") -> None:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        add_session(session, COURSE, starts_on, place, seats)
    engine.dispose()


def test_the_example_is_its_own_distribution_and_uses_every_kind_of_hook_and_folder() -> None:
    plugins = Plugins(get_plugin_manager())
    info = plugins.infos["training"]
    assert (info.distribution, info.version, info.builtin) == ("shop-training", "1.2.0", False)
    assert set(info.hooks) == EVERY_HOOK
    for folder in ("locales", "templates", "migrations"):
        assert plugins.folders(folder)["training"].name == folder
    # What `pip install` ships: the compiled catalogs are package data.
    locales = plugins.folders("locales")["training"]
    assert {p.parent.parent.name for p in locales.glob("*/LC_MESSAGES/messages.mo")} == {
        "de",
        "nl",
    }


def test_installed_is_not_enabled_then_enabling_adds_chf_and_invoice_on_account(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Given the package installed, the shop offers neither CHF nor the invoice until the
    operator enables the plugin; then a Swiss buyer orders the course in CHF on invoice."""
    refused = client.get("/api/v1/products", params={"currency": "CHF"})
    assert refused.status_code == 422 and refused.json()["code"] == "plugin_disabled"
    assert client.get("/de/training").status_code == 404
    before = client.post("/api/v1/orders", json=course_order())
    assert before.status_code == 422, before.text

    enable(client, admin)
    products = client.get("/api/v1/products", params={"currency": "CHF", "country": "CH"})
    assert products.status_code == 200, products.text
    prices = {p["sku"]: p["price"] for p in products.json()["products"]}
    # Its own list price; the shop's products wait for the operator's CHF rate.
    assert prices == {COURSE: {"amount": "370.00", "currency": "CHF"}}

    placed = client.post("/api/v1/orders", json=course_order(), headers={"Accept-Language": "de"})
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    assert order["currency"] == "CHF" and order["total"] == {"amount": "740.00", "currency": "CHF"}
    assert order["payment"]["method"] == "invoice"
    instructions = order["payment"]["instructions"]
    assert instructions[0] == (
        f"Sie erhalten eine Rechnung über 740,00\xa0CHF. Bitte zahlen Sie sie innerhalb von "
        f"30 Tagen mit dem Verwendungszweck {order['number']}."
    )
    assert "Kontoinhaber: Licence Shop GmbH" in instructions


def test_shop_payment_methods_invoice_on_account_is_offline_with_instructions() -> None:
    plugins = Plugins(get_plugin_manager())
    settings = plugins.configure(Settings(), {"SHOP_TRAINING_INVOICE_DAYS": "10"})
    offered = [m for ms in plugins.pm.hook.shop_payment_methods() for m in ms]
    (method,) = [m for m in offered if m.code == "invoice"]
    assert (method.code, method.offline, method.can_charge_renewals) == ("invoice", True, False)
    assert method.accepts("CHF") and method.missing_settings(settings) == ()
    request = PaymentRequest(41, "tok", Money.of("740", "CHF"), "urs@example.ch", "nl")
    start = method.start(request, settings, Translator.for_settings(settings, "nl"))
    assert start.instructions[0] == (
        "U ontvangt een factuur van CHF\xa0740,00. Betaal deze binnen 10 dagen onder "
        "vermelding van het kenmerk 41."
    )
    assert start.redirect_url is None and start.client_secret is None


def test_a_paid_invoice_is_named_kauf_auf_rechnung_on_the_order_and_in_the_api(
    client: TestClient, admin: dict[str, str]
) -> None:
    enable(client, admin)
    order = client.post("/api/v1/orders", json=course_order()).json()["order"]
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": "740.00", "currency": "CHF", "method": "invoice", "reference": "R-1"},
        headers={**admin, "Accept-Language": "de"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["order"]["status"] == "paid"
    assert paid.json()["order"]["payments"][0]["label"] == "Kauf auf Rechnung"
    page = client.get(f"/de/orders/{order['token']}")
    assert "· Kauf auf Rechnung</li>" in page.text


def test_chf_prices_the_shops_products_from_eur_at_the_operators_rate(
    client: TestClient, admin: dict[str, str]
) -> None:
    enable(client, admin)
    response = client.put(
        "/api/v1/admin/exchange-rates/CHF", json={"rate": "0.94", "margin": "0"}, headers=admin
    )
    assert response.status_code == 200, response.text
    products = client.get("/api/v1/products", params={"currency": "CHF"}).json()["products"]
    prices = {p["sku"]: p["price"]["amount"] for p in products}
    assert prices["base-yearly"] == "460.60"  # 490.00 EUR x 0.94
    assert prices[COURSE] == "370.00"  # its own list price wins over the rate


@pytest.mark.parametrize(
    ("lang", "name", "first_line"),
    [
        ("de", "Kauf auf Rechnung", "Sie erhalten eine Rechnung über"),
        ("nl", "Betalen op factuur", "U ontvangt een factuur van"),
        ("en", "Invoice on account", "You will receive an invoice for"),
    ],
)
def test_the_method_and_its_instructions_speak_the_buyers_language(
    client: TestClient, admin: dict[str, str], lang: str, name: str, first_line: str
) -> None:
    enable(client, admin)
    product = client.get(f"/{lang}/products/{COURSE}").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', product)
    assert token is not None
    client.post(f"/{lang}/cart/add", data={"sku": COURSE, "_csrf_token": token.group(1)})
    checkout = client.get(f"/{lang}/checkout", params={"currency": "CHF", "country": "CH"})
    assert checkout.status_code == 200, checkout.text
    assert 'value="invoice"' in checkout.text and name in checkout.text
    order = client.post(
        "/api/v1/orders", json=course_order(), headers={"Accept-Language": lang}
    ).json()["order"]
    assert order["payment"]["instructions"][0].startswith(first_line)
    page = client.get(f"/{lang}/orders/{order['token']}")
    assert first_line in page.text


def test_the_invoice_term_is_the_operators_setting(seeded: Settings) -> None:
    plugins = Plugins(get_plugin_manager())
    settings = plugins.configure(seeded, {"SHOP_TRAINING_INVOICE_DAYS": "14"})
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        set_enabled(session, plugins, "training", True, Clock.from_setting(NOW, "UTC").now())
    engine.dispose()
    with TestClient(create_app(settings, plugins=plugins)) as client:
        order = client.post("/api/v1/orders", json=course_order()).json()["order"]
    assert "within 14 days" in order["payment"]["instructions"][0]
    with pytest.raises(PluginSettingsInvalid, match="SHOP_TRAINING_INVOICE_DAYS"):
        plugins.configure(seeded, {"SHOP_TRAINING_INVOICE_DAYS": "a month"})


def test_its_page_lists_the_courses_and_the_dates_from_its_table_translated(
    client: TestClient, admin: dict[str, str], seeded: Settings
) -> None:
    enable(client, admin)
    empty = client.get("/nl/training")
    assert empty.status_code == 200
    assert "Er zijn nog geen data gepland." in empty.text
    schedule(seeded, date(2025, 6, 2), seats=8, place="Zürich")
    schedule(seeded, date(2025, 3, 3))  # already past at the shop's clock: not shown
    page = client.get("/de/training", params={"currency": "CHF", "country": "CH"})
    assert page.status_code == 200
    assert "<h1>Schulungen</h1>" in page.text
    assert "Online-Schulung, halber Tag" in page.text
    assert "370,00\xa0CHF" in page.text
    assert "2. Juni 2025" in page.text and "Zürich" in page.text and "8 Plätze" in page.text
    assert "3. März 2025" not in page.text
    assert "innerhalb von 30 Tagen" in page.text

    enable(client, admin, on=False)
    assert client.get("/de/training").status_code == 404


def test_its_catalog_override_extends_the_core_page_and_goes_when_disabled(
    client: TestClient, admin: dict[str, str]
) -> None:
    core = client.get("/de/")
    assert 'id="training-banner"' not in core.text

    enable(client, admin)
    page = client.get("/de/")
    assert 'id="training-banner"' in page.text
    assert "Neu: Schulungen mit unseren Trainern." in page.text
    assert "Lizenzen und Abonnements" in page.text  # the original page, extended
    assert page.text.index("training-banner") < page.text.index('id="line-base"')

    enable(client, admin, on=False)
    assert 'id="training-banner"' not in client.get("/de/").text


def test_shop_price_adjustments_early_bird_through_the_plugin_manager(seeded: Settings) -> None:
    """Called the way the pricing pipeline calls it: through the plugin manager, with a
    context whose session reads the plugin's own table."""
    plugins = Plugins(get_plugin_manager())
    settings = plugins.configure(seeded, {"SHOP_TRAINING_EARLY_BIRD_PERCENT": "12.5"})
    clock = Clock.from_setting(settings.clock, settings.timezone)  # 2025-04-01
    purchase = Purchase(
        kind=PurchaseKind.NEW,
        email="urs@example.ch",
        country="CH",
        currency="CHF",
        lines=(
            PurchaseLine(COURSE, "training", Kind.PERPETUAL, 1, Money.of("370.00", "CHF")),
            PurchaseLine("base-yearly", "base", Kind.SUBSCRIPTION, 1, Money.of("460.60", "CHF")),
        ),
    )
    engine = make_engine(settings.database_url)

    def ask() -> list[Adjustment]:
        with session_scope(engine) as session:
            context = HookContext(
                settings, clock, customer=Customer("urs@example.ch", "CH"), session=session
            )
            answers = plugins.pm.hook.shop_price_adjustments(context=context, purchase=purchase)
        return [a for answer in answers for a in answer]

    assert ask() == []  # no date scheduled: no early bird
    schedule(settings, date(2025, 5, 12))  # 41 days ahead
    (discount,) = ask()
    assert discount.sku == COURSE and discount.code == "early_bird"
    assert discount.amount == Money(Decimal("-46.25"), "CHF")  # 12.5 % of 370.00, half-up
    assert discount.params == {"percent": "12.5"}
    engine.dispose()


def test_the_early_bird_rule() -> None:
    line = PurchaseLine(COURSE, "training", Kind.PERPETUAL, 3, Money.of("1170.00", "EUR"))
    new = Purchase(PurchaseKind.NEW, "a@example.com", "DE", "EUR", (line,))
    today = date(2025, 4, 1)
    ten = Decimal(10)
    assert early_bird(new, today, date(2025, 5, 1), ten, 30)[0].amount == Money.of("-117", "EUR")
    assert early_bird(new, today, date(2025, 4, 30), ten, 30) == []  # 29 days: too late
    assert early_bird(new, today, None, ten, 30) == []
    renewal = Purchase(PurchaseKind.RENEWAL, "a@example.com", "DE", "EUR", (line,))
    assert early_bird(renewal, today, date(2025, 9, 1), ten, 30) == []
    odd = PurchaseLine(COURSE, "training", Kind.PERPETUAL, 1, Money.of("0.05", "EUR"))
    cheap = Purchase(PurchaseKind.NEW, "a@example.com", None, "EUR", (odd,))
    (rounded,) = early_bird(cheap, today, date(2025, 6, 1), ten, 30)
    assert rounded.amount == Money.of("-0.01", "EUR")  # 0.005 rounds half-up, away from 0


def its_own(obj: object, name: str | None, kind: str, *_: object) -> bool:
    """Only the plugin's table, its columns and indexes (the core's are checked elsewhere)."""
    table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == "training_session"


def test_its_migration_builds_exactly_its_table_with_its_own_history(database_url: str) -> None:
    engine = make_engine(database_url)
    assert "training_session" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version_training"))
        assert version.scalar_one() == "training_0001"
        core = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert not core.startswith("training")
        context = MigrationContext.configure(connection, opts={"include_object": its_own})
        diff = compare_metadata(context, load_models().metadata)
    engine.dispose()
    assert TrainingSession.__tablename__ == "training_session"
    assert diff == []


def test_shop_commands_training_add_and_list(seeded: Settings) -> None:
    group = click.Group("shop")
    get_plugin_manager().hook.shop_commands(cli=group)
    env = {"SHOP_DATABASE_URL": seeded.database_url, "SHOP_CLOCK": seeded.clock or ""}
    added = CliRunner().invoke(group, ["training", "add", "2025-06-02", "--seats", "8"], env=env)
    assert added.exit_code == 0, added.output
    assert "Scheduled training-online-half-day on 2025-06-02 (Online, 8 seats)" in added.output
    listed = CliRunner().invoke(group, ["training", "list"], env=env)
    assert "2025-06-02  training-online-half-day  Online  8 seats" in listed.output


def shop(env: dict[str, str], *args: str) -> str:
    """The real ``shop`` command, as an operator types it."""
    result = subprocess.run([str(SHOP), *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_real_shop_command_upgrades_enables_and_sells_in_chf_on_invoice(
    tmp_path: Path, settings: Settings
) -> None:
    """Given a fresh SQLite file, `shop db upgrade` creates the plugin's table, `shop plugins
    enable training` switches it on, `shop training add` schedules a date, and the served
    shop sells the course in CHF on invoice and shows the date on its page."""
    url = f"sqlite:///{tmp_path / 'operator.db'}"
    env = {**environment_of(settings), "SHOP_DATABASE_URL": url, "SHOP_PLUGINS": "all"}
    assert "Database is up to date." in shop(env, "db", "upgrade")
    engine = make_engine(url)
    assert "training_session" in inspect(engine).get_table_names()
    engine.dispose()

    listing = shop(env, "plugins", "list")
    line = next(ln for ln in listing.splitlines() if ln.startswith("training"))
    assert "disabled" in line and "shop-training" in line
    assert "SHOP_TRAINING_INVOICE_DAYS = 30" in listing
    assert "training enabled." in shop(env, "plugins", "enable", "training")
    assert "Scheduled" in shop(env, "training", "add", "2025-06-02", "--place", "Bern")
    assert "--place" in shop(env, "training", "add", "--help")

    served = replace(settings, database_url=url)
    with running_shop(served, SHOP_PLUGINS="all", SHOP_TRAINING_INVOICE_DAYS="20") as running:
        placed = httpx.post(
            f"{running.url}/api/v1/orders", json=course_order(), headers={"Accept-Language": "nl"}
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()["order"]
        # Two seats at 370.00, less the plugin's early bird (10 % two months ahead), named
        # in the buyer's language from the plugin's own catalog.
        assert order["total"] == {"amount": "666.00", "currency": "CHF"}
        assert any(line["name"].startswith("Vroegboekkorting") for line in order["lines"])
        assert "binnen 20 dagen" in order["payment"]["instructions"][0]
        page = httpx.get(f"{running.url}/nl/training")
        assert page.status_code == 200 and "Bern" in page.text and "2 juni 2025" in page.text


def test_without_the_opt_in_the_suite_does_not_load_it() -> None:
    """The marker lets the plugin in for this module; the variable alone decides."""
    assert os.environ["SHOP_PLUGINS"] == "builtin,training"
    assert "training" not in Plugins(get_plugin_manager(allowed="builtin")).infos
    assert "training" in Plugins(get_plugin_manager(allowed="all")).infos
