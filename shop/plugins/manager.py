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
from importlib.metadata import Distribution, EntryPoint, entry_points
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
# Which installed plugins are loaded: unset or "all", every one; "builtin", the shop's own
# only; "builtin,training", the shop's own and the third-party plugins named. The test suite
# sets "builtin", so whatever else is installed on the machine cannot change its results.
PLUGINS_VARIABLE = "SHOP_PLUGINS"


class PluginError(RuntimeError):
    """Installed plugins contradict each other (e.g. two products with one sku)."""


def allowed_plugins(value: str | None) -> frozenset[str] | None:
    """The third-party plugin names ``SHOP_PLUGINS`` lets in; None: every installed one."""
    names = {part.strip() for part in (value or "").split(",") if part.strip()}
    if not names or "all" in names:
        return None
    return frozenset(names - {"builtin"})


class ShopPluginManager(pluggy.PluginManager):
    """pluggy's manager, loading the entry points itself: a name two distributions claim is
    an error (pluggy would quietly keep whichever came first), and ``SHOP_PLUGINS`` decides
    which third-party plugins are loaded at all."""

    def __init__(self) -> None:
        super().__init__("shop")
        self.distributions: dict[int, Distribution] = {}

    def load_entry_points(self, allowed: frozenset[str] | None) -> None:
        chosen: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            builtin = _distribution_name(ep) == OWN_DISTRIBUTION
            if builtin or allowed is None or ep.name in allowed:
                chosen.setdefault(ep.name, []).append(ep)
        # In the order pluggy would load them (distributions, then each one's file order):
        # it is the order currencies and methods are offered in.
        for name, eps in chosen.items():
            owners = sorted({_distribution_name(ep) or ep.value for ep in eps})
            if len(owners) > 1:
                raise PluginError(
                    f"the plugin name {name!r} is claimed by {' and '.join(owners)}: plugin "
                    "names share one namespace, so uninstall one of them (or rename its "
                    "entry point)"
                )
            plugin = eps[0].load()
            self.register(plugin, name)
            if eps[0].dist is not None:
                self.distributions[id(plugin)] = eps[0].dist


def _distribution_name(ep: EntryPoint) -> str | None:
    return ep.dist.metadata["name"] if ep.dist is not None else None


def get_plugin_manager(
    extra: Iterable[tuple[str, object]] = (), *, allowed: str | None = None
) -> ShopPluginManager:
    """Load the hook specs and the plugins of the entry-point group (those ``allowed``,
    default ``SHOP_PLUGINS``), plus ``extra`` ones."""
    pm = ShopPluginManager()
    pm.add_hookspecs(hookspecs)
    pm.load_entry_points(
        allowed_plugins(os.environ.get(PLUGINS_VARIABLE) if allowed is None else allowed)
    )
    for name, plugin in extra:
        if pm.has_plugin(name):
            raise PluginError(f"the plugin name {name!r} is taken by an installed plugin")
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
        dists: dict[int, Any] = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
        if isinstance(pm, ShopPluginManager):
            dists.update(pm.distributions)
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
        return [route for routes in self.routes_by_plugin().values() for route in routes]

    def routes_by_plugin(self) -> dict[str, list[Any]]:
        """Plugin name -> its route handlers and routers, in registration order."""
        return {
            impl.plugin_name: list(cast(Iterable[Any], impl.function() or ()))
            for impl in self.pm.hook.shop_routes.get_hookimpls()
        }

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

    def has(self, name: str) -> bool:
        """Whether the plugin ``name`` is installed and enabled."""
        plugin = self._pm.get_plugin(name)
        return plugin is not None and plugin not in self._remove

    def hookimpls(self, hook: str) -> list[Any]:
        """The enabled plugins' implementations of ``hook`` in registration order, to be
        called one by one where one plugin's failure must not keep the others from theirs."""
        caller = self._pm.subset_hook_caller(hook, remove_plugins=self._remove)
        return list(reversed(caller.get_hookimpls()))

    def each(self, hook: str, **kwargs: Any) -> dict[str, Any]:
        """Each plugin's answer to ``hook`` by plugin name, in registration order; a plugin
        gets only the arguments it names (pluggy's rule)."""
        answers = {}
        for impl in self.hookimpls(hook):
            answers[impl.plugin_name] = impl.function(*(kwargs[a] for a in impl.argnames))
        return answers

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
