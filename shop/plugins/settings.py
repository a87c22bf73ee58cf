"""Settings a plugin declares for itself: names, types, defaults, secrecy.

A plugin's ``shop_settings`` hook returns ``Setting``s; each is read from
``SHOP_<PLUGIN>_<NAME>`` (or the ``env`` it names, so Stripe's keys keep their documented
``SHOP_STRIPE_…`` names), converted to its type and checked once at start. The values are
bound into the shop's ``Settings`` (``settings.plugin("card")["secret_key"]``), so every
place that has the settings has the plugins' too, in every process of the shop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

SettingType = type[str] | type[int] | type[bool] | type[Decimal] | type[Path]


class PluginSettingsInvalid(ValueError):
    """Some plugin settings cannot be read; the message names each variable and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    """One setting of a plugin.

    ``required`` settings keep the plugin's payment methods out of checkout while unset
    (they show as "not configured"); ``secret`` ones are never printed."""

    name: str
    type: SettingType = str
    default: Any = None
    secret: bool = False
    required: bool = False
    help: str = ""
    env: str | None = None  # the variable, when not SHOP_<PLUGIN>_<NAME>

    def variable(self, plugin: str) -> str:
        return self.env or f"SHOP_{plugin.upper()}_{self.name.upper()}"


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected 1/0, true/false, yes/no")


def _decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError("expected a decimal number") from None


CONVERT: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    bool: _flag,
    Decimal: _decimal,
    Path: Path,
}


def read_settings(
    declared: Mapping[str, list[Setting]], env: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Each plugin's values from ``env``; raises ``PluginSettingsInvalid`` naming every
    variable that does not convert."""
    values: dict[str, dict[str, Any]] = {}
    problems = []
    for plugin, settings in declared.items():
        own: dict[str, Any] = {}
        for setting in settings:
            raw = env.get(setting.variable(plugin))
            if raw is None or raw == "":
                own[setting.name] = setting.default
                continue
            try:
                own[setting.name] = CONVERT[setting.type](raw)
            except ValueError as exc:
                problems.append(
                    f"{setting.variable(plugin)} (plugin {plugin}): cannot read "
                    f"{'the value' if setting.secret else repr(raw)} as "
                    f"{setting.type.__name__}: {exc}"
                )
        values[plugin] = own
    if problems:
        raise PluginSettingsInvalid(problems)
    return values


def missing(plugin: str, settings: list[Setting], values: Mapping[str, Any]) -> tuple[str, ...]:
    """The variables of required settings that have no value."""
    return tuple(s.variable(plugin) for s in settings if s.required and not values.get(s.name))


def shown(setting: Setting, value: Any) -> str:
    """A value as ``shop plugins list`` and the back office show it: secrets redacted."""
    if value is None or value == "":
        return "(unset)"
    if setting.secret:
        return "•••• (set)"
    return str(value)


def to_env(
    declared: Mapping[str, list[Setting]], values: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """The variables that give another process these values (those that differ from the
    defaults), e.g. the workers of ``shop serve --workers``."""
    env = {}
    for plugin, settings in declared.items():
        for setting in settings:
            value = values.get(plugin, {}).get(setting.name, setting.default)
            if value is None or value == setting.default:
                continue
            if isinstance(value, bool):
                env[setting.variable(plugin)] = "1" if value else "0"
            else:
                env[setting.variable(plugin)] = str(value)
    return env
