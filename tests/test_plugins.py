"""The plugin framework: discovery by entry point, enabled state, operator API (R12, R14, R33)."""

from __future__ import annotations

import inspect
import os
from decimal import Decimal
from pathlib import Path

import pytest
from litestar.testing import TestClient

from shop import hookimpl
from shop.catalog.currencies import Currency
from shop.catalog.products import Kind, Product, ProductLine
from shop.plugins import hookspecs
from shop.plugins.manager import (
    PLUGINS_VARIABLE,
    PluginError,
    Plugins,
    allowed_plugins,
    get_plugin_manager,
)

BUILTINS = {
    "eur",
    "usd",
    "dzd",
    "base_package",
    "legacy_packages",
    "server_cloud",
    "support_agreement",
}


def skus(client: TestClient, **params: str) -> set[str]:
    response = client.get("/api/v1/products", params=params)
    assert response.status_code == 200, response.text
    return {p["sku"] for p in response.json()["products"]}


def toggle(client: TestClient, admin: dict[str, str], name: str, enabled: bool) -> None:
    response = client.patch(
        f"/api/v1/admin/plugins/{name}", json={"enabled": enabled}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["plugin"]["enabled"] is enabled


def test_builtins_are_registered_through_the_entry_point_group() -> None:
    infos = Plugins(get_plugin_manager()).infos
    assert set(infos) >= BUILTINS
    for name in BUILTINS:
        assert infos[name].builtin
        assert infos[name].distribution == "licence-shop"
    assert infos["eur"].essential
    assert infos["dzd"].description.startswith("Algerian dinar")


@pytest.mark.plugins("training")
def test_third_party_plugin_from_tests_is_discovered_but_off_until_enabled(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Given the example package tests/example_plugin installed, when the operator lists
    plugins, then it is there, from its own distribution, disabled; enabling it puts its
    training course on sale at once."""
    listed = {
        p["name"]: p for p in client.get("/api/v1/admin/plugins", headers=admin).json()["plugins"]
    }
    training = listed["training"]
    assert training["builtin"] is False
    assert training["distribution"] == "shop-training"
    assert training["version"] == "1.2.0"
    assert training["enabled"] is False
    assert "shop_product_lines" in training["hooks"]
    assert "training-online-half-day" not in skus(client)

    toggle(client, admin, "training", True)
    assert "training-online-half-day" in skus(client)
    page = client.get("/en/")
    assert "Online training, half day" in page.text


def test_disabling_usd_removes_it_from_api_and_pages_at_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert skus(client, currency="USD")
    assert '<option value="USD"' in client.get("/en/").text

    toggle(client, admin, "usd", False)
    response = client.get(
        "/api/v1/products", params={"currency": "USD"}, headers={"Accept-Language": "de"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "plugin_disabled"
    assert response.json()["detail"] == "Zahlung in USD ist nicht verfügbar."
    page = client.get("/en/", params={"currency": "USD"})
    assert '<option value="USD"' not in page.text
    assert "Payment in USD is not available." in page.text  # told, and shown EUR instead
    assert "490.00" in page.text

    toggle(client, admin, "usd", True)
    assert skus(client, currency="USD")
    assert '<option value="USD"' in client.get("/en/").text


def test_r33_disabling_a_package_line_hides_its_products(
    client: TestClient, admin: dict[str, str]
) -> None:
    toggle(client, admin, "legacy_packages", False)
    assert not {s for s in skus(client) if s.startswith("package-")}
    assert client.get("/en/products/package-3").status_code == 404
    toggle(client, admin, "legacy_packages", True)
    assert "package-3" in skus(client)


def test_essential_eur_refuses_to_be_disabled(client: TestClient, admin: dict[str, str]) -> None:
    response = client.patch(
        "/api/v1/admin/plugins/eur",
        json={"enabled": False},
        headers={**admin, "Accept-Language": "nl"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "plugin_essential"
    assert response.json()["title"] == "Plug-in kan niet worden uitgeschakeld"
    assert skus(client, currency="EUR")


def test_admin_calls_need_an_operator_token(client: TestClient, admin: dict[str, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/admin/plugins", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        response = client.patch(
            "/api/v1/admin/plugins/usd", json={"enabled": False}, headers=headers
        )
        assert response.status_code == 401
    assert skus(client, currency="USD"), "a refused call changed nothing"


def test_bad_plugin_toggles_get_problems(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.patch("/api/v1/admin/plugins/nope", json={"enabled": False}, headers=admin)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    for body in ({"enabled": "no"}, {}, [1, 2]):
        response = client.patch("/api/v1/admin/plugins/usd", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"
    broken = client.patch(
        "/api/v1/admin/plugins/usd",
        content=b"{not json",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["code"] == "validation_error"
    assert skus(client, currency="USD")


def test_r14_operator_sets_the_dzd_rate_used_for_prices(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.put(
        "/api/v1/admin/exchange-rates/DZD", json={"rate": "160", "margin": "0.02"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["exchange_rate"]["effective_rate"] == "163.2"
    products = client.get("/api/v1/products", params={"currency": "DZD", "country": "DZ"}).json()
    base = next(p for p in products["products"] if p["sku"] == "base-yearly")
    assert base["price"] == {"amount": "79968.00", "currency": "DZD"}  # 490 x 160 x 1.02


@pytest.mark.parametrize(
    "body",
    [
        {"rate": "0", "margin": "0.05"},
        {"rate": "-3", "margin": "0.05"},
        {"rate": "abc", "margin": "0.05"},
        {"rate": "150", "margin": "1.5"},
        {"rate": "150.1234567", "margin": "0"},
        {"rate": True, "margin": "0"},
        {"margin": "0.05"},
        {"rate": "NaN", "margin": "0"},
    ],
)
def test_r14_bad_rates_are_refused_and_change_nothing(
    client: TestClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    response = client.put("/api/v1/admin/exchange-rates/DZD", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    products = client.get("/api/v1/products", params={"currency": "DZD", "country": "DZ"}).json()
    base = next(p for p in products["products"] if p["sku"] == "base-yearly")
    assert base["price"]["amount"] == "77175.00"  # the demo rate still applies


def test_rates_only_for_currencies_priced_by_rate(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.put("/api/v1/admin/exchange-rates/USD", json={"rate": "1.1"}, headers=admin)
    assert response.status_code == 404


class ChfPlugin:
    """Swiss franc, an inline test plugin."""

    @hookimpl
    def shop_currencies(self) -> list[Currency]:
        return [Currency("CHF", minimum_charge=Decimal("0.50"), priced_from="EUR")]


class DuplicateSkuPlugin:
    """Declares a product whose sku a built-in line already uses."""

    @hookimpl
    def shop_product_lines(self) -> list[ProductLine]:
        product = Product("base-yearly", "x", "x", Kind.SUBSCRIPTION, {"EUR": Decimal(1)})
        return [ProductLine("copycat", "Copycat", "", (product,))]


def test_shop_currencies_hook_adds_a_currency() -> None:
    plugins = Plugins(get_plugin_manager(extra=[("chf", ChfPlugin())]))
    assert "CHF" in plugins.enabled(()).currencies
    assert "CHF" not in plugins.enabled(["chf"]).currencies
    assert plugins.infos["chf"].builtin is False
    assert plugins.infos["chf"].enabled_by_default is False


def test_shop_product_lines_hook_refuses_a_duplicate_sku() -> None:
    with pytest.raises(PluginError, match="base-yearly"):
        Plugins(get_plugin_manager(extra=[("copycat", DuplicateSkuPlugin())]))


def test_the_suite_sees_only_the_built_in_plugins_unless_a_test_asks() -> None:
    """Whatever else is installed here (tests/example_plugin is), the core's tests run with
    the shop's own plugins: tests/conftest.py sets SHOP_PLUGINS=builtin."""
    assert os.environ[PLUGINS_VARIABLE] == "builtin"
    infos = Plugins(get_plugin_manager()).infos
    assert set(infos) >= BUILTINS and "training" not in infos
    assert all(info.builtin for info in infos.values())
    assert "training" in Plugins(get_plugin_manager(allowed="builtin,training")).infos
    assert "training" in Plugins(get_plugin_manager(allowed="all")).infos
    assert allowed_plugins(None) is None and allowed_plugins("") is None
    assert allowed_plugins(" builtin , training ") == {"training"}


def test_a_third_party_plugin_cannot_take_a_built_in_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plugin names share one namespace: a distribution that registers ``card`` stops the
    start with both names, instead of one silently shadowing the other."""
    info = tmp_path / "copycat_card-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: copycat-card\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[shop.plugins]\ncard = json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="'card' is claimed by copycat-card and licence-shop"):
        get_plugin_manager(allowed="all")
    with pytest.raises(PluginError, match="'card' is claimed"):
        get_plugin_manager(allowed="builtin,card")
    # Left out by SHOP_PLUGINS, it cannot clash: the built-in card is the one loaded.
    infos = Plugins(get_plugin_manager(allowed="builtin")).infos
    assert infos["card"].distribution == "licence-shop"
    with pytest.raises(PluginError, match="'usd' is taken"):
        get_plugin_manager(extra=[("usd", ChfPlugin())])


def _hook_section() -> str:
    """The README's "Writing a plugin", up to the next section."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("## Writing a plugin")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_every_hook_is_documented_and_tested() -> None:
    """Datasette's rule: each hook says what it does (a hook that answers says what it
    returns), the README's plugin guide lists it, and a test named after it calls it."""
    specs = [
        (name, fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("shop_")
    ]
    assert specs
    guide = _hook_section()
    files = {p: p.read_text() for p in Path(__file__).parent.rglob("test_*.py")}
    problems = []
    for name, fn in specs:
        doc = (fn.__doc__ or "").strip()
        returns = inspect.signature(fn).return_annotation not in (None, "None")
        if not doc or (returns and not doc.startswith("Return")):
            problems.append(f"{name} needs a docstring" + (" saying what it returns" * returns))
        if f"`{name}" not in guide:
            problems.append(f"{name} is not in the README's Writing a plugin")
        # The test is named after the hook, and its module uses the hook itself (a plugin's
        # implementation or a call), not only a similar name (test_shop_jobs_run_...).
        tested = [
            text
            for text in files.values()
            if f"def test_{name}_" in text and text.count(name) > text.count(f"def test_{name}_")
        ]
        if not tested:
            problems.append(f"{name} needs a test named test_{name}_...")
    assert problems == []
