"""Helpers of the provider tests: the shop served over HTTP with a fake provider, and
what the database says about an order's payments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
from live import bound_socket, serve, url_of
from sqlalchemy import func
from sqlmodel import Session, select

from shop.db import make_engine
from shop.licences.models import Licence
from shop.orders.models import Order, Payment, ProviderEvent
from shop.payments.fakes.base import FakeServer
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


@contextmanager
def shop_with(settings: Settings, fake: FakeServer, provider: str, **keys: Any) -> Iterator[Shop]:
    """Serve the shop with ``keys`` set; ``fake`` sends its webhooks to it."""
    sock = bound_socket()
    fake.webhook_url = f"{url_of(sock)}/webhooks/{provider}"
    configured = replace(settings, public_url=url_of(sock), **keys)
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
