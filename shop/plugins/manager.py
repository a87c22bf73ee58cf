"""Discovery of plugins and the views of those the operator has enabled.

The plugin manager is built once at start-up (``get_plugin_manager``); what changes at run
time is only which plugins are enabled, read from the database by ``shop.plugins.state``.
Disabled plugins are left out of hook calls with pluggy's ``subset_hook_caller``, so a
disabled plugin's products and currencies vanish without a restart.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import pluggy

from shop.catalog.adjustments import Adjustment, Purchase
from shop.catalog.currencies import Currency
from shop.catalog.products import Product, ProductLine
from shop.payments.methods import PaymentMethod
from shop.plugins import hookspecs
from shop.plugins import settings as plugin_settings
from shop.plugins.context import HookContext
from shop.plugins.folders import folders
from shop.plugins.settings import Setting
from shop.settings import Settings

ENTRY_POINT_GROUP = "shop.plugins"
OWN_DISTRIBUTION = "licence-shop"
# The shop cannot price anything without its base currency: EUR refuses to be disabled.
ESSENTIAL = frozenset({"eur"})


class PluginError(RuntimeError):
    """Installed plugins contradict each other (e.g. two products with one sku)."""


def get_plugin_manager(extra: Iterable[tuple[str, object]] = ()) -> pluggy.PluginManager:
    """Load the hook specs and every plugin of the entry-point group, plus ``extra`` ones."""
    pm = pluggy.PluginManager("shop")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name, plugin in extra:
        pm.register(plugin, name)
    pm.check_pending()
    return pm


@dataclass(frozen=True)
class PluginInfo:
    name: str
    description: str
    version: str | None
    distribution: str | None
    builtin: bool
    essential: bool
    hooks: tuple[str, ...]

    @property
    def enabled_by_default(self) -> bool:
        # Installing a third-party package should not put products on sale by itself.
        return self.builtin


def _description(plugin: object) -> str:
    """The first line of the plugin module's docstring."""
    doc = inspect.getdoc(plugin) or ""
    return doc.splitlines()[0] if doc else ""


class Plugins:
    """The installed plugins; ``enabled(...)`` gives a view without the disabled ones."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in pm.list_name_plugin():
            dist = dists.get(id(plugin))
            dist_name = dist.metadata["name"] if dist is not None else None
            infos.append(
                PluginInfo(
                    name=name,
                    description=_description(plugin),
                    version=dist.version if dist is not None else None,
                    distribution=dist_name,
                    builtin=dist_name == OWN_DISTRIBUTION,
                    essential=name in ESSENTIAL,
                    hooks=tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ())),
                )
            )
        self.infos: dict[str, PluginInfo] = {i.name: i for i in sorted(infos, key=_order)}
        # Everything installed, enabled or not (e.g. to record money a disabled method took).
        self.everything = self.enabled(())
        self.everything.check()
        self.currency_codes = set(self.everything.currencies)
        self.payment_method_codes = set(self.everything.payment_methods)
        self.declared_settings: dict[str, list[Setting]] = {
            impl.plugin_name: list(cast(Iterable[Setting], impl.function() or ()))
            for impl in pm.hook.shop_settings.get_hookimpls()
        }

    def configure(self, settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
        """``settings`` with every plugin's own settings read from ``env`` (default: the
        process environment); raises ``PluginSettingsInvalid`` naming each bad variable."""
        values = plugin_settings.read_settings(
            self.declared_settings, os.environ if env is None else env
        )
        return replace(
            settings,
            plugin_values=values,
            plugin_locales=tuple(self.folders("locales").values()),
            plugin_templates=tuple(self.folders("templates").values()),
        )

    def settings_env(self, settings: Settings) -> dict[str, str]:
        """The variables that give another process the plugins' settings."""
        return plugin_settings.to_env(self.declared_settings, settings.plugin_values)

    def folders(self, kind: str) -> dict[str, Path]:
        """Plugin name -> its ``locales``, ``templates`` or ``migrations`` folder."""
        return folders(self.pm, kind)

    def routes(self) -> list[Any]:
        """Every plugin's route handlers and routers (``shop_routes``)."""
        return [route for routes in reversed(self.pm.hook.shop_routes()) for route in routes]

    def enabled(self, disabled: Iterable[str], settings: Settings | None = None) -> EnabledPlugins:
        remove = [p for name in disabled if (p := self.pm.get_plugin(name)) is not None]
        return EnabledPlugins(self.pm, remove, settings)

    def missing_settings(self, name: str, settings: Settings) -> tuple[str, ...]:
        """What plugin ``name`` still needs from the environment: its required settings,
        and what its payment methods say they miss."""
        others = [p for n, p in self.pm.list_name_plugin() if n != name]
        methods = EnabledPlugins(self.pm, others).payment_methods.values()
        declared = plugin_settings.missing(
            name, self.declared_settings.get(name, []), settings.plugin(name)
        )
        from_methods = (v for m in methods for v in m.missing_settings(settings))
        return tuple(dict.fromkeys((*declared, *from_methods)))


def _order(info: PluginInfo) -> tuple[bool, str]:
    return (not info.builtin, info.name)


class EnabledPlugins:
    """What the enabled plugins offer; built per request, cheap to build."""

    def __init__(
        self, pm: pluggy.PluginManager, remove: list[object], settings: Settings | None = None
    ) -> None:
        self._pm = pm
        self._remove = remove
        self._settings = settings

    def _collect(self, hook: str) -> list[Any]:
        caller = self._pm.subset_hook_caller(hook, remove_plugins=self._remove)
        # pluggy calls the last registered first; reverse for registration order.
        return [item for result in reversed(caller()) for item in result]

    @property
    def settings(self) -> Settings:
        """The settings this view was built with (the defaults when none were given)."""
        return self._settings if self._settings is not None else Settings()

    @cached_property
    def _adjusters(self) -> Any:
        return self._pm.subset_hook_caller("shop_price_adjustments", remove_plugins=self._remove)

    @cached_property
    def adjusts_prices(self) -> bool:
        """Whether any enabled plugin adjusts prices (``shop_price_adjustments``)."""
        return bool(self._adjusters.get_hookimpls())

    def price_adjustments(self, context: HookContext, purchase: Purchase) -> list[Adjustment]:
        """Every enabled plugin's adjustments of ``purchase``, in registration order."""
        if not self.adjusts_prices:
            return []
        results = self._adjusters(context=context, purchase=purchase)
        return [item for result in reversed(results) for item in result or ()]

    @cached_property
    def currencies(self) -> dict[str, Currency]:
        return {c.code: c for c in self._collect("shop_currencies")}

    @cached_property
    def payment_methods(self) -> dict[str, PaymentMethod]:
        """The methods on offer; with settings, only those configured (keys present)."""
        methods: list[PaymentMethod] = self._collect("shop_payment_methods")
        if self._settings is not None:
            methods = [m for m in methods if not m.missing_settings(self._settings)]
        return {m.code: m for m in methods}

    @cached_property
    def lines(self) -> list[ProductLine]:
        lines: list[ProductLine] = self._collect("shop_product_lines")
        return sorted(lines, key=lambda line: (line.position, line.code))

    @cached_property
    def products(self) -> dict[str, Product]:
        return {p.sku: p for line in self.lines for p in line.products}

    def line_of(self, sku: str) -> ProductLine | None:
        return next((ln for ln in self.lines if any(p.sku == sku for p in ln.products)), None)

    def check(self) -> None:
        """Refuse contradictory plugins: duplicate currency codes, skus or line codes."""
        for what, codes in (
            ("currency", [c.code for c in self._collect("shop_currencies")]),
            ("payment method", [m.code for m in self._collect("shop_payment_methods")]),
            ("line", [line.code for line in self.lines]),
            ("sku", [p.sku for line in self.lines for p in line.products]),
        ):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                raise PluginError(f"more than one plugin declares the {what} {', '.join(dupes)}")
