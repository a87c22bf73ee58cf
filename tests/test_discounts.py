"""Promotions and academic discounts (R28, R29) through the shop: the operator sets a 20 %
promotion and flags a customer as academic; a perpetual licence and a subscription's first
term get both discounts as lines of their own, on the order page, the PDF and the e-mail,
in de, nl and en; the subscription's renewal is at the full price less the academic
discount only. Disabled, the plugin gives nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from io import BytesIO
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from shop import hookimpl
from shop.app import create_app
from shop.catalog.adjustments import Adjustment, Purchase, PurchaseKind, PurchaseLine
from shop.catalog.products import Kind
from shop.cli import main
from shop.clock import Clock
from shop.money import Money
from shop.orders.pipeline import adjust
from shop.plugins.context import HookContext
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import Settings

ACADEMIC = "lab@uni.example"
PLAIN = "shop@firma.example"
PROMOTION = {
    "percent": "20",
    "starts_at": "2025-03-01T00:00:00+01:00",
    "ends_at": "2026-01-01T00:00:00+01:00",  # still running at the first renewal
    "first_term_only": True,
}
LABELS = {
    "de": ("Aktion −20 %", "Akademischer Rabatt −7 %", "Akademischer Rabatt −5 %"),
    "nl": ("Actie −20 %", "Academische korting −7 %", "Academische korting −5 %"),
    "en": ("Promotion −20 %", "Academic discount −7 %", "Academic discount −5 %"),
}


def flat(text: str) -> str:
    """Text with Babel's no-break spaces as plain ones, and runs of blanks as one."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))


class Shop:
    """The shop at chosen moments, on one database; the operator's calls."""

    def __init__(self, settings: Settings, admin: dict[str, str]) -> None:
        self.settings, self.admin = settings, admin

    def at(self, moment: str | None = None) -> TestClient:
        settings = self.settings if moment is None else replace(self.settings, clock=moment)
        return TestClient(app=create_app(settings))

    def order(self, client: TestClient, email: str, sku: str, lang: str = "en") -> Any:
        body = {
            "email": email,
            "name": "Dr. Lab",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [{"sku": sku, "quantity": 1}],
        }
        answer = client.post("/api/v1/orders", json=body, headers={"Accept-Language": lang})
        assert answer.status_code == 201, answer.text
        return answer.json()["order"]

    def pay(self, client: TestClient, order: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={
                "amount": order["total"]["amount"],
                "currency": order["currency"],
                "method": "bank_transfer",
                "reference": "bank",
            },
            headers=self.admin,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["order"]  # type: ignore[no-any-return]

    def mails(self, client: TestClient, email: str) -> list[dict[str, Any]]:
        answer = client.get("/api/v1/admin/outbox", params={"to": email}, headers=self.admin)
        return answer.json()["messages"]  # type: ignore[no-any-return]


def pdf_text(client: TestClient, order: dict[str, Any]) -> str:
    pdf = client.get(f"/api/v1/orders/{order['token']}/document.pdf").content
    return flat("\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages))


def amounts(order: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["kind"], line["total"]["amount"]) for line in order["lines"]]


@pytest.fixture
def shop(seeded: Settings, admin: dict[str, str]) -> Iterator[Shop]:
    shop = Shop(seeded, admin)
    with shop.at() as client:
        answer = client.post("/api/v1/admin/promotions", json=PROMOTION, headers=admin)
        assert answer.status_code == 201, answer.text
        flagged = client.patch(
            f"/api/v1/admin/customers/{ACADEMIC}", json={"academic": True}, headers=admin
        )
        assert flagged.status_code == 200, flagged.text
    yield shop


@pytest.mark.parametrize("lang", ["de", "nl", "en"])
def test_r28_r29_perpetual_licence_promotion_then_academic_on_page_pdf_and_mail(
    shop: Shop, lang: str
) -> None:
    promotion, academic, _cloud = LABELS[lang]
    with shop.at() as client:
        order = shop.order(client, ACADEMIC, "server-starter", lang)
        # 990.00 − 20 % = 792.00; a further 7 % of that: −55.44 (R29 "weitere 7 %").
        assert amounts(order) == [
            ("perpetual", "990.00"),
            ("discount", "-198.00"),
            ("discount", "-55.44"),
        ]
        assert order["total"] == {"amount": "736.56", "currency": "EUR"}
        assert [line["name"] for line in order["lines"][1:]] == [promotion, academic]

        page = flat(client.get(f"/{lang}/orders/{order['token']}").text)
        assert promotion in page and academic in page
        assert "736,56" in page or "736.56" in page

        pdf = pdf_text(client, order)
        assert promotion in pdf and academic in pdf
        assert "198" in pdf and "55" in pdf and "736" in pdf

        [mail] = shop.mails(client, ACADEMIC)
        text = flat(mail["text"])
        assert f"{promotion} – " in text and f"{academic} – " in text
        assert "1 × " + promotion not in text  # a discount has no quantity


def test_r28_r29_subscription_first_term_discounted_renewal_only_academic(shop: Shop) -> None:
    promotion, _server, academic = LABELS["de"]
    with shop.at() as client:
        first = shop.order(client, ACADEMIC, "cloud-starter", "de")
        # 29.00 − 20 % = 23.20; a further 5 %: −1.16.
        assert amounts(first) == [
            ("subscription", "29.00"),
            ("discount", "-5.80"),
            ("discount", "-1.16"),
        ]
        assert first["total"]["amount"] == "22.04"
        paid = shop.pay(client, first)
        subscription = client.get(
            f"/api/v1/subscriptions/{paid['subscription_id']}", headers=shop.admin
        ).json()
        assert subscription["term_end"] == "2025-05-01"
        # The recurring price is the full price less the lasting academic discount.
        assert subscription["recurring_total"]["amount"] == "27.55"

    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2025-05-01T06:00:00+02:00",  # the promotion still runs (R28: first term)
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Renewed 1 subscription(s)" in result.output

    with shop.at("2025-05-01T08:00:00+02:00") as client:
        orders = client.get(
            "/api/v1/admin/orders",
            params={"email": ACADEMIC},
            headers={**shop.admin, "Accept-Language": "de"},
        ).json()["orders"]
        renewal = next(o for o in orders if o["kind"] == "renewal")
        assert amounts(renewal) == [("subscription", "29.00"), ("discount", "-1.45")]
        assert renewal["total"]["amount"] == "27.55"
        assert [line["name"] for line in renewal["lines"]] == ["Starter", academic]
        page = flat(client.get(f"/de/orders/{renewal['token']}").text)
        assert academic in page and promotion not in page
        assert promotion not in pdf_text(client, renewal)
        assert academic in pdf_text(client, renewal)
        invoice = next(m for m in shop.mails(client, ACADEMIC) if m["kind"] == "renewal_due")
        assert academic in flat(invoice["text"]) and promotion not in flat(invoice["text"])


def test_r28_subscription_of_a_plain_customer_renews_at_full_price(shop: Shop) -> None:
    with shop.at() as client:
        first = shop.order(client, PLAIN, "cloud-starter")
        assert amounts(first) == [("subscription", "29.00"), ("discount", "-5.80")]
        shop.pay(client, first)
    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2025-05-01T06:00:00+02:00",
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    with shop.at("2025-05-01T08:00:00+02:00") as client:
        orders = client.get(
            "/api/v1/admin/orders", params={"email": PLAIN}, headers=shop.admin
        ).json()["orders"]
        renewal = next(o for o in orders if o["kind"] == "renewal")
        assert amounts(renewal) == [("subscription", "29.00")]
        assert renewal["total"]["amount"] == "29.00"


def test_r28_promotion_ends_with_its_window_and_the_cart_shows_it_before_the_email(
    shop: Shop,
) -> None:
    with shop.at() as client:
        page = client.get("/en/products/server-starter").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token is not None
        added = client.post(
            "/en/cart/add", data={"sku": "server-starter", "_csrf_token": token.group(1)}
        )
        assert added.status_code in (200, 302), added.text
        cart = flat(client.get("/en/cart").text)
        assert "Promotion −20 %" in cart
        assert "Academic discount" not in cart  # nobody is known yet
        assert "792.00" in cart
    with shop.at("2026-01-01T00:00:00+01:00") as client:
        after = shop.order(client, PLAIN, "server-starter")
        assert amounts(after) == [("perpetual", "990.00")]  # the window is over


def test_r29_academic_discount_on_maintenance_and_the_flag_can_be_withdrawn(shop: Shop) -> None:
    with shop.at() as client:
        licence = shop.pay(client, shop.order(client, ACADEMIC, "server-starter"))
        renewal = client.post(
            f"/api/v1/licences/{licence['licence_id']}/maintenance",
            json={"years": 1},
            headers=shop.admin,
        )
        assert renewal.status_code == 201, renewal.text
        # Half the list price for a year (495.00), then the server discounts: −99.00, −27.72.
        assert amounts(renewal.json()["order"]) == [
            ("maintenance", "495.00"),
            ("discount", "-99.00"),
            ("discount", "-27.72"),
        ]
        unflagged = client.patch(
            f"/api/v1/admin/customers/{ACADEMIC.upper()}",
            json={"academic": False},
            headers=shop.admin,
        )
        assert unflagged.json()["customer"] == {
            "email": ACADEMIC,
            "academic": False,
            "set_at": unflagged.json()["customer"]["set_at"],
        }
        again = client.post(
            f"/api/v1/licences/{licence['licence_id']}/maintenance",
            json={"years": 1},
            headers=shop.admin,
        )
        assert amounts(again.json()["order"]) == [("maintenance", "495.00"), ("discount", "-99.00")]


def test_r29_no_discount_when_the_discounts_plugin_is_disabled(shop: Shop) -> None:
    with shop.at() as client:
        off = client.patch(
            "/api/v1/admin/plugins/discounts", json={"enabled": False}, headers=shop.admin
        )
        assert off.status_code == 200, off.text
        order = shop.order(client, ACADEMIC, "server-starter")
        assert amounts(order) == [("perpetual", "990.00")]
        assert order["total"]["amount"] == "990.00"


def test_r28_operator_lists_promotions_and_bad_input_is_a_translated_problem(
    shop: Shop,
) -> None:
    with shop.at() as client:
        [listed] = client.get("/api/v1/admin/promotions", headers=shop.admin).json()["promotions"]
        assert listed["percent"] == "20" and listed["running"] is True
        assert listed["first_term_only"] is True
        for body, field in (
            ({**PROMOTION, "percent": "0"}, "percent"),
            ({**PROMOTION, "percent": 100}, "percent"),
            ({**PROMOTION, "percent": "zwanzig"}, "percent"),
            ({**PROMOTION, "percent": "12.345"}, "percent"),
            ({**PROMOTION, "ends_at": "2025-02-01T00:00:00+01:00"}, "ends_at"),
        ):
            refused = client.post(
                "/api/v1/admin/promotions",
                json=body,
                headers={**shop.admin, "Accept-Language": "de"},
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            problem = refused.json()
            assert problem["code"] == "validation_error"
            assert problem["field"] == field
            assert problem["detail"].startswith(("Der Prozentsatz", "Die Aktion"))
        bad_email = client.patch(
            "/api/v1/admin/customers/not-an-address", json={"academic": True}, headers=shop.admin
        )
        assert bad_email.status_code == 422
        assert client.get("/api/v1/admin/promotions").status_code == 401
        assert (
            client.patch(f"/api/v1/admin/customers/{ACADEMIC}", json={"academic": True})
        ).status_code == 401


class Surcharge:
    """An inline plugin that adds 1.00 to every line (an adjustment may be positive)."""

    @hookimpl
    def shop_price_adjustments(self, context: HookContext, purchase: Purchase) -> list[Adjustment]:
        return [
            Adjustment(line.sku, "surcharge", "Surcharge", Money.of(1, purchase.currency))
            for line in purchase.lines
        ]


def test_shop_price_adjustments_hook_is_asked_only_of_enabled_plugins() -> None:
    plugins = Plugins(get_plugin_manager(extra=[("surcharge", Surcharge())]))
    settings = Settings()
    context = HookContext(settings=settings, clock=Clock.from_setting(None, settings.timezone))
    purchase = Purchase(
        kind=PurchaseKind.NEW,
        email="a@b.example",
        country="DE",
        currency="EUR",
        lines=(PurchaseLine("server-starter", "server", Kind.PERPETUAL, 1, Money.of(990, "EUR")),),
    )
    on = adjust(context, plugins.enabled(["discounts"]), purchase)
    assert [a.code for a in on.adjustments] == ["surcharge"]
    assert on.total == Money.of(Decimal("991.00"), "EUR")
    off = adjust(context, plugins.enabled(["discounts", "surcharge"]), purchase)
    assert off.adjustments == () and off.total == Money.of(990, "EUR")


def test_r29_an_academic_subscribers_setup_fee_and_recurring_price(shop: Shop) -> None:
    """Bought before the promotion (2025-01-01): the academic 5 % only; the upgrade's setup
    fee (R19's worked example, 45.21) has it too, and so has the new recurring price."""
    items = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]
    with shop.at("2025-01-01T10:00:00+01:00") as client:
        body = {
            "email": ACADEMIC,
            "name": "Dr. Lab",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": items,
        }
        order = client.post("/api/v1/orders", json=body).json()["order"]
        assert [k for k, _ in amounts(order)] == ["subscription", "addon", "discount"]
        subscription_id = shop.pay(client, order)["subscription_id"]
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        listed = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=shop.admin)
        before = Decimal(listed.json()["recurring_total"]["amount"])
        switched = client.post(
            f"/api/v1/subscriptions/{subscription_id}/switch",
            json={"items": [items[0], {"sku": "persons-yearly", "quantity": 30}]},
            headers=shop.admin,
        ).json()
        fee = switched["order"]
        assert amounts(fee) == [("fee", "45.21"), ("discount", "-2.26")]
        assert fee["total"]["amount"] == "42.95"
        shop.pay(client, fee)
        after = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=shop.admin)
        # 60.00 more a year at list price, 57.00 with the academic 5 %.
        assert Decimal(after.json()["recurring_total"]["amount"]) == before + Decimal("57.00")
