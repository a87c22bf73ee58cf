"""Stripe and PayPal as plugins (issue 11): their keys are their plugins' own settings, they
take the currencies their providers take (a currency plugin's currency reaches them with no
change to them), and the fake providers are not part of the shop's package."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sys
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from payments import paypal_keys, stripe_keys, with_keys
from shop_fakes import paypal as fake_paypal
from shop_fakes.paypal import FakePayPal
from shop_fakes.stripe import FakeStripe

from shop import hookimpl
from shop.app import create_app
from shop.catalog.currencies import Currency
from shop.cli import main
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.payments import paypal as paypal_plugin
from shop.settings import ENVIRONMENT, Settings

ROOT = Path(__file__).resolve().parent.parent
STRIPE_ENV = {
    "SHOP_STRIPE_SECRET_KEY": "sk_test_from_env",
    "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_from_env",
    "SHOP_STRIPE_WEBHOOK_SECRET": "whsec_from_env",
    "SHOP_STRIPE_API_BASE": "http://127.0.0.1:19401",
    "SHOP_STRIPE_JS_URL": "http://127.0.0.1:19401/v3/",
}
PAYPAL_ENV = {
    "SHOP_PAYPAL_CLIENT_ID": "client-from-env",
    "SHOP_PAYPAL_CLIENT_SECRET": "paypal-secret-from-env",
    "SHOP_PAYPAL_WEBHOOK_ID": "WH-FROM-ENV",
    "SHOP_PAYPAL_BASE_URL": "http://127.0.0.1:19402",
}


# Keys: the plugins' settings, under the documented variables ------------------------------


def test_the_core_settings_know_no_provider() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert not {f for f in fields if f.startswith(("stripe", "paypal"))}
    assert not {v for v in ENVIRONMENT if v.startswith(("SHOP_STRIPE", "SHOP_PAYPAL"))}


def test_card_and_paypal_read_their_documented_variables_into_their_own_settings() -> None:
    plugins = Plugins(get_plugin_manager())
    settings = plugins.configure(Settings(), {**STRIPE_ENV, **PAYPAL_ENV})
    assert settings.plugin("card") == {
        "secret_key": "sk_test_from_env",
        "publishable_key": "pk_test_from_env",
        "webhook_secret": "whsec_from_env",
        "api_base": "http://127.0.0.1:19401",
        "js_url": "http://127.0.0.1:19401/v3/",
    }
    assert settings.plugin("paypal")["base_url"] == "http://127.0.0.1:19402"
    declared = {
        (plugin, s.variable(plugin)): s
        for plugin in ("card", "paypal")
        for s in plugins.declared_settings[plugin]
    }
    secrets = {var for (_, var), s in declared.items() if s.secret}
    required = {var for (_, var), s in declared.items() if s.required}
    assert secrets == {
        "SHOP_STRIPE_SECRET_KEY",
        "SHOP_STRIPE_WEBHOOK_SECRET",
        "SHOP_PAYPAL_CLIENT_SECRET",
    }
    assert required == {
        "SHOP_STRIPE_SECRET_KEY",
        "SHOP_STRIPE_PUBLISHABLE_KEY",
        "SHOP_STRIPE_WEBHOOK_SECRET",
        "SHOP_PAYPAL_CLIENT_ID",
        "SHOP_PAYPAL_CLIENT_SECRET",
        "SHOP_PAYPAL_WEBHOOK_ID",
    }
    # And a worker process gets them back through the same variables.
    assert plugins.configure(Settings(), plugins.settings_env(settings)) == settings
    assert plugins.settings_env(settings) == {**STRIPE_ENV, **PAYPAL_ENV}


def test_without_their_keys_card_and_paypal_say_which_variables_are_missing() -> None:
    plugins = Plugins(get_plugin_manager())
    settings = plugins.configure(Settings(), {"SHOP_STRIPE_SECRET_KEY": "sk_test_x"})
    assert plugins.missing_settings("card", settings) == (
        "SHOP_STRIPE_PUBLISHABLE_KEY",
        "SHOP_STRIPE_WEBHOOK_SECRET",
    )
    assert plugins.missing_settings("paypal", settings) == (
        "SHOP_PAYPAL_CLIENT_ID",
        "SHOP_PAYPAL_CLIENT_SECRET",
        "SHOP_PAYPAL_WEBHOOK_ID",
    )
    configured = plugins.configure(Settings(), {**STRIPE_ENV, **PAYPAL_ENV})
    assert plugins.missing_settings("card", configured) == ()
    assert plugins.missing_settings("paypal", configured) == ()


def test_plugins_list_shows_the_keys_redacted(tmp_path: Path) -> None:
    env = {"SHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}", **STRIPE_ENV, **PAYPAL_ENV}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    listed = runner.invoke(main, ["plugins", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "SHOP_STRIPE_PUBLISHABLE_KEY = pk_test_from_env" in listed.output
    assert "SHOP_STRIPE_SECRET_KEY = •••• (set)" in listed.output
    assert "SHOP_PAYPAL_CLIENT_SECRET = •••• (set)" in listed.output
    for secret in ("sk_test_from_env", "whsec_from_env", "paypal-secret-from-env"):
        assert secret not in listed.output
    unset = runner.invoke(
        main, ["plugins", "list"], env={"SHOP_DATABASE_URL": env["SHOP_DATABASE_URL"]}
    )
    assert "not configured, stays out of checkout: set SHOP_STRIPE_SECRET_KEY" in unset.output


# Currencies: what the provider takes, whichever plugin brings the currency ---------------


class SwissFranc:
    """Swiss franc, priced from EUR (a currency plugin only this test knows)."""

    @hookimpl
    def shop_currencies(self) -> list[Currency]:
        return [Currency("CHF", minimum_charge=Decimal("0.50"), priced_from="EUR")]


@pytest.fixture
def chf_shop(
    seeded: Settings, admin: dict[str, str]
) -> Iterator[tuple[TestClient, FakeStripe, FakePayPal]]:
    """The shop with card and PayPal configured (the fakes) and CHF enabled at 0.95/EUR."""
    stripe, paypal = FakeStripe().start(), FakePayPal().start()
    plugins = Plugins(get_plugin_manager(extra=[("chf_test", SwissFranc())]))
    settings = with_keys(seeded, **stripe_keys(stripe), **paypal_keys(paypal))
    try:
        with TestClient(app=create_app(settings, plugins=plugins)) as client:
            enabled = client.patch(
                "/api/v1/admin/plugins/chf_test", json={"enabled": True}, headers=admin
            )
            assert enabled.status_code == 200, enabled.text
            rate = client.put(
                "/api/v1/admin/exchange-rates/CHF",
                json={"rate": "0.95", "margin": "0"},
                headers=admin,
            )
            assert rate.status_code == 200, rate.text
            yield client, stripe, paypal
    finally:
        stripe.stop()
        paypal.stop()


def order_in(client: TestClient, currency: str, method: str, country: str = "CH") -> httpx.Response:
    return client.post(
        "/api/v1/orders",
        json={
            "email": f"{method}-{currency.lower()}@example.ch",
            "name": "Heidi Muster",
            "country": country,
            "currency": currency,
            "payment_method": method,
            "items": [{"sku": "base-yearly", "quantity": 1}],
        },
    )


def test_a_currency_plugins_chf_reaches_card_and_paypal_checkout(
    chf_shop: tuple[TestClient, FakeStripe, FakePayPal],
) -> None:
    client, stripe, paypal = chf_shop
    token = client.get("/de/products/base-yearly?currency=CHF&country=CH").text
    added = client.post(
        "/de/cart/add",
        data={"sku": "base-yearly", "_csrf_token": csrf(token)},
        follow_redirects=False,
    )
    assert added.status_code in (302, 303)
    checkout = client.get("/de/checkout").text
    assert 'value="card"' in checkout and 'value="paypal"' in checkout
    assert "CHF" in checkout

    by_card = order_in(client, "CHF", "card")
    assert by_card.status_code == 201, by_card.text
    card_order = by_card.json()["order"]
    assert card_order["total"]["currency"] == "CHF"
    assert card_order["payment"]["client_secret"]
    (intent,) = stripe.payment_intents.values()
    assert intent["currency"] == "chf"

    by_paypal = order_in(client, "CHF", "paypal")
    assert by_paypal.status_code == 201, by_paypal.text
    assert by_paypal.json()["order"]["payment"]["redirect_url"]
    (paypal_order,) = paypal.orders.values()
    assert paypal_order["purchase_units"][0]["amount"]["currency_code"] == "CHF"


def test_paypal_refuses_dzd_in_the_buyers_language_and_card_takes_it(
    chf_shop: tuple[TestClient, FakeStripe, FakePayPal],
) -> None:
    client, _, _ = chf_shop
    refused = client.post(
        "/api/v1/orders",
        headers={"Accept-Language": "de"},
        json={
            "email": "amina@example.dz",
            "name": "Amina Benali",
            "country": "DZ",
            "currency": "DZD",
            "payment_method": "paypal",
            "items": [{"sku": "base-yearly", "quantity": 1}],
        },
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "method_not_available"
    assert "DZD" in refused.json()["detail"] and "nimmt" in refused.json()["detail"]
    assert order_in(client, "DZD", "card", country="DZ").status_code == 201


def test_card_and_paypal_declare_their_providers_currency_lists() -> None:
    from shop.plugins.payments.card import Card
    from shop.plugins.payments.paypal import PayPal

    for code in ("EUR", "USD", "CHF", "DZD", "GBP", "JPY"):
        assert Card().accepts(code)
    for code in ("EUR", "USD", "CHF", "GBP", "JPY"):
        assert PayPal().accepts(code)
    assert not PayPal().accepts("DZD")
    assert not Card().accepts("XXX") and not PayPal().accepts("XXX")
    # The plugin and the fake PayPal read the same page of PayPal's documentation.
    assert paypal_plugin.CURRENCIES == fake_paypal.CURRENCIES


def csrf(html: str) -> str:
    marker = 'name="_csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


# The fakes: their own distribution, not in the shop's package ----------------------------


def test_the_fakes_are_not_part_of_the_shop_package() -> None:
    assert importlib.util.find_spec("shop.payments.fakes") is None
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert wheel["targets"]["wheel"]["packages"] == ["shop"]
    fakes = tomllib.loads((ROOT / "testing" / "pyproject.toml").read_text())
    assert fakes["project"]["name"] == "shop-fakes"
    assert not (ROOT / "shop" / "payments" / "fakes").exists()


def test_no_module_of_the_shop_imports_the_fakes_except_test_mode_on_demand() -> None:
    """``import shop_fakes`` nowhere under shop/; the one use is ``shop serve
    --test-payments``, which loads it by name only when asked to."""
    importing = []
    for path in (ROOT / "shop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name.startswith(("shop_fakes", "shop.payments.fakes")) for name in names):
                importing.append(path.relative_to(ROOT))
    assert importing == []
    cli = (ROOT / "shop" / "cli.py").read_text(encoding="utf-8")
    assert cli.count('import_module("shop_fakes.demo")') == 1


def test_test_mode_without_the_fakes_installed_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shop_fakes", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "shop_fakes.demo", None)
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "19403", "--test-payments"],
        env={"SHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}"},
    )
    assert result.exit_code == 1
    assert "test mode needs the shop-fakes package: make install" in result.output
