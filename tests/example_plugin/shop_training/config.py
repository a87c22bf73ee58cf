"""The plugin's settings: declared once, read from ``SHOP_TRAINING_*`` by the shop at start."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shop.plugins.settings import Setting

PLUGIN = "training"  # the entry-point name: its settings are SHOP_TRAINING_<NAME>

SETTINGS = (
    Setting("invoice_days", type=int, default=30, help="Payment term of an invoice, in days"),
    Setting("early_bird_percent", type=Decimal, default=Decimal(10), help="Early-bird discount"),
    Setting("early_bird_days", type=int, default=30, help="Days before a date it applies"),
)


def value(values: Mapping[str, Any], name: str) -> Any:
    """One of the plugin's settings from ``settings.plugin("training")``; its default where
    the shop's settings were made without the plugins' (a bare ``Settings()``)."""
    if name in values:
        return values[name]
    return next(s.default for s in SETTINGS if s.name == name)
