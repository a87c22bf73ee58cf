"""The shop's test mode: both fake providers started, and the plugin settings that use them.

``shop serve --test-payments`` calls ``start_fake_providers`` and stores what it returns in
the database (``shop.payments.testmode``), so every ``shop`` process of that database (a
``shop jobs run`` in another terminal) talks to these fakes while they listen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from shop_fakes.base import FakeServer
from shop_fakes.paypal import FakePayPal
from shop_fakes.stripe import FakeStripe


@dataclass(frozen=True)
class FakeProviders:
    # Plugin name -> setting name -> value: the card and PayPal plugins' settings.
    plugin_values: dict[str, dict[str, Any]]
    # What listens where, e.g. {"Stripe": "http://127.0.0.1:…"}, to say so and to check.
    listening: dict[str, str]
    servers: list[FakeServer]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_fake_providers(shop_url: str) -> FakeProviders:
    """Fake Stripe and PayPal on free ports of 127.0.0.1, sending webhooks to ``shop_url``;
    fresh test keys each start (nothing secret is kept)."""
    shop_url = shop_url.rstrip("/")
    stripe = FakeStripe(
        webhook_url=f"{shop_url}/webhooks/stripe",
        webhook_secret="whsec_" + secrets.token_hex(16),
        secret_key="sk_test_" + secrets.token_hex(12),
        publishable_key="pk_test_" + secrets.token_hex(12),
    )
    paypal = FakePayPal(
        webhook_url=f"{shop_url}/webhooks/paypal",
        client_id="test-client-" + secrets.token_hex(6),
        client_secret=secrets.token_hex(16),
        webhook_id="WH-TEST-" + secrets.token_hex(6).upper(),
    )
    stripe.start()
    paypal.start()
    return FakeProviders(
        plugin_values={
            "card": {
                "secret_key": stripe.secret_key,
                "publishable_key": stripe.publishable_key,
                "webhook_secret": stripe.webhook_secret,
                "api_base": stripe.base_url,
                "js_url": f"{stripe.base_url}/v3/",
            },
            "paypal": {
                "client_id": paypal.client_id,
                "client_secret": paypal.client_secret,
                "webhook_id": paypal.webhook_id,
                "base_url": paypal.base_url,
            },
        },
        listening={"Stripe": stripe.base_url, "PayPal": paypal.base_url},
        servers=[stripe, paypal],
    )
