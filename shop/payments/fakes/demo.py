"""The demo's test mode: start both fake providers and point the shop's settings at them."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from shop.payments.fakes.base import FakeServer
from shop.payments.fakes.paypal import FakePayPal
from shop.payments.fakes.stripe import FakeStripe
from shop.settings import Settings


def start_fake_providers(settings: Settings, shop_url: str) -> tuple[Settings, list[FakeServer]]:
    """Fake Stripe and PayPal on free ports of 127.0.0.1, sending webhooks to ``shop_url``;
    the settings returned use them (fresh test keys each start; nothing secret is kept)."""
    shop_url = shop_url.rstrip("/")
    keys: dict[str, Any] = {
        "stripe_secret_key": "sk_test_" + secrets.token_hex(12),
        "stripe_publishable_key": "pk_test_" + secrets.token_hex(12),
        "stripe_webhook_secret": "whsec_" + secrets.token_hex(16),
        "paypal_client_id": "test-client-" + secrets.token_hex(6),
        "paypal_client_secret": secrets.token_hex(16),
        "paypal_webhook_id": "WH-TEST-" + secrets.token_hex(6).upper(),
    }
    stripe = FakeStripe(
        webhook_url=f"{shop_url}/webhooks/stripe",
        webhook_secret=keys["stripe_webhook_secret"],
        secret_key=keys["stripe_secret_key"],
        publishable_key=keys["stripe_publishable_key"],
    ).start()
    paypal = FakePayPal(
        webhook_url=f"{shop_url}/webhooks/paypal",
        client_id=keys["paypal_client_id"],
        client_secret=keys["paypal_client_secret"],
        webhook_id=keys["paypal_webhook_id"],
    ).start()
    configured = replace(
        settings,
        **keys,
        stripe_api_base=stripe.base_url,
        stripe_js_url=f"{stripe.base_url}/v3/",
        paypal_base_url=paypal.base_url,
        payments_test_mode=True,
    )
    return configured, [stripe, paypal]
