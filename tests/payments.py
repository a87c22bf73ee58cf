"""Helpers of the provider tests: the shop served over HTTP with a fake provider, and
what the database says about an order's payments."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import httpx
from live import bound_socket, serve, url_of
from shop_fakes.base import FakeServer
from shop_fakes.paypal import FakePayPal
from shop_fakes.stripe import FakeStripe
from sqlalchemy import func
from sqlmodel import Session, select

from shop.db import make_engine
from shop.licences.models import Licence
from shop.orders.models import Order, Payment, ProviderEvent
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import Settings


@dataclass
class Shop:
    url: str
    settings: Settings
    http: httpx.Client

    def order(self, token: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/v1/orders/{token}")
        assert answer.status_code == 200, answer.text
        return answer.json()["order"]  # type: ignore[no-any-return]

    def place(self, method: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "email": "anna@example.nl",
            "name": "Anna de Vries",
            "country": "NL",
            "currency": "EUR",
            "payment_method": method,
            "items": [{"sku": "base-yearly", "quantity": 1}],
            **overrides,
        }
        answer = self.http.post("/api/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["order"]  # type: ignore[no-any-return]


@cache
def _plugins() -> Plugins:
    return Plugins(get_plugin_manager())


def with_keys(settings: Settings, **plugins: Mapping[str, Any]) -> Settings:
    """``settings`` with the plugins' settings bound (none from the environment) and those
    in ``plugins`` set, e.g. ``with_keys(settings, **stripe_keys(fake))``."""
    if not settings.plugin_values:
        settings = _plugins().configure(settings, env={})
    return settings.with_plugin_values(plugins)


def stripe_keys(fake: FakeStripe) -> dict[str, dict[str, Any]]:
    """The card plugin's settings for ``fake``."""
    return {
        "card": {
            "secret_key": fake.secret_key,
            "publishable_key": fake.publishable_key,
            "webhook_secret": fake.webhook_secret,
            "api_base": fake.base_url,
            "js_url": f"{fake.base_url}/v3/",
        }
    }


def paypal_keys(fake: FakePayPal) -> dict[str, dict[str, Any]]:
    """The PayPal plugin's settings for ``fake``."""
    return {
        "paypal": {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "webhook_id": fake.webhook_id,
            "base_url": fake.base_url,
        }
    }


@contextmanager
def shop_with(
    settings: Settings, fake: FakeServer, provider: str, **keys: Mapping[str, Any]
) -> Iterator[Shop]:
    """Serve the shop with the plugin settings ``keys`` set (``stripe_keys(fake)``);
    ``fake`` sends its webhooks to it."""
    sock = bound_socket()
    fake.webhook_url = f"{url_of(sock)}/webhooks/{provider}"
    configured = replace(with_keys(settings, **keys), public_url=url_of(sock))
    with serve(configured, sock) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Shop(url, configured, http)


@dataclass
class Ledger:
    status: str
    payments: list[Payment]
    events: list[ProviderEvent]
    licence_status: str | None


def ledger(settings: Settings, number: int) -> Ledger:
    """The order's status, payments, stored provider events and licence, from the database."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
            payments = list(session.exec(select(Payment).where(Payment.order_id == order.id)))
            events = list(
                session.exec(select(ProviderEvent).where(ProviderEvent.order_number == number))
            )
            licence = session.get(Licence, order.licence_id) if order.licence_id else None
            return Ledger(order.status, payments, events, licence.status if licence else None)
    finally:
        engine.dispose()


def count_events(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(ProviderEvent)).one()
    finally:
        engine.dispose()
