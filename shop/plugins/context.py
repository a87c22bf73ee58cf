"""What a hook is told about the moment it is called in: settings, clock, language, customer.

One small object instead of many hook arguments, so a hook can grow what it reads without
its signature changing (pluggy passes only the arguments an implementation names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from shop.clock import Clock
    from shop.i18n import Translator
    from shop.settings import Settings


@dataclass(frozen=True)
class Customer:
    """The buyer a hook is called for, as far as the shop knows them."""

    email: str
    country: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class HookContext:
    """Passed as ``context`` to the hooks that take one.

    ``session`` is the caller's database session where the hook runs inside a transaction
    (pricing): a plugin reads and writes its own tables through it, on the same thread, and
    its writes commit or roll back with the rest. Hooks called after commit (``shop_event``)
    get no session."""

    settings: Settings
    clock: Clock
    translator: Translator | None = None
    customer: Customer | None = None
    session: Session | None = None
    now: datetime | None = None

    def plugin_settings(self, plugin: str) -> Mapping[str, Any]:
        """The values of the settings plugin ``plugin`` declared (``shop_settings``)."""
        return self.settings.plugin(plugin)

    def moment(self) -> datetime:
        """The caller's now (one instant per request), else the clock's."""
        return self.now or self.clock.now()

    def for_customer(self, customer: Customer | None) -> HookContext:
        return replace(self, customer=customer)
