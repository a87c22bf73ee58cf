"""The lifecycle events plugins hear about (``shop_event``), and their names.

An event is what happened, after it committed: it has a stable id (the same on every
delivery), a type from ``EVENT_TYPES``, when it happened and a JSON-able ``data`` object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EVENT_TYPES = (
    "order.placed",
    "order.paid",
    "licence.issued",
    "licence.renewed",
    "licence.converted",
    "subscription.created",
    "subscription.switched",
    "subscription.renewed",
    "subscription.on_hold",
    "subscription.cancelled",
    "subscription.expired",
    "maintenance.extended",
)


@dataclass(frozen=True)
class Event:
    id: str  # "evt_…", stable across deliveries
    type: str
    created: datetime
    data: Mapping[str, Any]
