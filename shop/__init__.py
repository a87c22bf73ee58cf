"""A subscription licence shop engine as a plugin framework."""

from shop.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
