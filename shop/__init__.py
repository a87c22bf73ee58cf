"""A subscription licence shop engine as a plugin framework.

``hookimpl`` is loaded on first use, so that ``shop.licences.verify`` (which the vendor's
software may import on its own, with only ``cryptography``) pulls in nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shop.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]


def __getattr__(name: str) -> Any:
    if name == "hookimpl":
        from shop.plugins.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'shop' has no attribute {name!r}")
