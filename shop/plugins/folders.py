"""The folders a plugin package brings by convention: ``locales``, ``templates``,
``migrations`` next to its ``__init__.py`` (see ``shop.plugins.hookspecs``)."""

from __future__ import annotations

from pathlib import Path

import pluggy

FOLDERS = ("locales", "templates", "migrations")


def plugin_folder(plugin: object, name: str) -> Path | None:
    """The plugin's folder ``name`` if it is a package that has one."""
    paths = getattr(plugin, "__path__", None)
    for path in paths or ():
        folder = Path(path) / name
        if folder.is_dir():
            return folder
    return None


def folders(pm: pluggy.PluginManager, name: str) -> dict[str, Path]:
    """Plugin name -> its folder ``name``, for every installed plugin that has one."""
    found = {}
    for plugin_name, plugin in pm.list_name_plugin():
        folder = plugin_folder(plugin, name)
        if folder is not None:
            found[plugin_name] = folder
    return found
