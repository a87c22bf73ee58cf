"""Which plugins the operator has enabled, kept in the database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from shop.plugins.manager import EnabledPlugins, PluginInfo, Plugins
from shop.settings import Settings


class PluginState(SQLModel, table=True):
    __tablename__ = "plugin_state"

    name: str = Field(primary_key=True, max_length=100)
    enabled: bool
    changed_at: datetime


class UnknownPlugin(LookupError):
    pass


class EssentialPlugin(ValueError):
    pass


def enabled_names(session: Session, plugins: Plugins) -> set[str]:
    """Names of the plugins that are on: the stored choice, else the plugin's default."""
    # Read on every request: plain SQL, no statement to build, compile or map.
    rows = session.connection().exec_driver_sql("SELECT name, enabled FROM plugin_state")
    stored = {name: bool(enabled) for name, enabled in rows}
    return {
        name
        for name, info in plugins.infos.items()
        if info.essential or stored.get(name, info.enabled_by_default)
    }


def enabled_view(
    session: Session, plugins: Plugins, settings: Settings | None = None
) -> EnabledPlugins:
    """The enabled plugins; given settings, payment methods without their keys are left out."""
    on = enabled_names(session, plugins)
    return plugins.enabled((name for name in plugins.infos if name not in on), settings)


MAX_VIEWS = 16


class EnabledCache:
    """The enabled view per stored state, built once and shared by every request.

    Each request reads the few rows of ``plugin_state`` (so a change made by another worker
    process or by ``shop plugins`` shows at once); building the view (hook calls, the
    products and currencies it caches) happens only when that state changes."""

    def __init__(self, plugins: Plugins, settings: Settings | None = None) -> None:
        self.plugins = plugins
        self.settings = settings
        self._views: dict[frozenset[str], EnabledPlugins] = {}
        # The enabled names last read: what the templates of plugins follow (shop.app).
        self.current: frozenset[str] | None = None

    def view(self, session: Session) -> EnabledPlugins:
        on = frozenset(enabled_names(session, self.plugins))
        self.current = on
        view = self._views.get(on)
        if view is None:
            off = [name for name in self.plugins.infos if name not in on]
            view = self.plugins.enabled(off, self.settings)
            # A new dict, so readers never see one change; a handful of states is all
            # an operator produces, but keep it bounded anyway.
            kept = self._views if len(self._views) < MAX_VIEWS else {}
            self._views = {**kept, on: view}
        return view


def set_enabled(
    session: Session, plugins: Plugins, name: str, enabled: bool, now: datetime
) -> PluginInfo:
    """Switch a plugin on or off; takes effect for the next request, without a restart."""
    info = plugins.infos.get(name)
    if info is None:
        raise UnknownPlugin(name)
    if info.essential and not enabled:
        raise EssentialPlugin(name)
    row = session.get(PluginState, name)
    if row is None:
        session.add(PluginState(name=name, enabled=enabled, changed_at=now))
    else:
        row.enabled = enabled
        row.changed_at = now
        session.add(row)
    session.flush()
    return info
