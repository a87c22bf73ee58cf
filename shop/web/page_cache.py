"""What every buyer with the same choices sees alike, rendered once.

The catalog, the product pages and the products API depend only on the language, the
currency and billing country, the enabled plugins and the exchange rates. Rendering them
(hundreds of translated strings and formatted prices) is most of their cost, so each is
kept by those inputs; the one per-buyer part of a page, the CSRF token of its forms, is
filled in for every request. What is kept must not be changed by its users.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from markupsafe import Markup

# Stands for the CSRF field while a page is rendered for everyone.
CSRF_FIELD = Markup("<!--shop:csrf-field-->")
LIMIT = 1024  # renders kept; the shop has a few hundred (pages × languages × currencies)
V = TypeVar("V")


class PageCache:
    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._kept: dict[Hashable, Any] = {}

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """What ``make`` gives for ``key``, made the first time it is asked for."""
        if key in self._kept:
            kept: V = self._kept[key]
            return kept
        value = make()
        old = self._kept if len(self._kept) < self._limit else {}
        self._kept = {**old, key: value}  # a new dict: concurrent readers stay safe
        return value

    def page(self, key: Hashable, render: Callable[[], str], csrf_token: str) -> str:
        """The page for ``key`` with the buyer's CSRF token in its forms."""
        field = f'<input type="hidden" name="_csrf_token" value="{html.escape(csrf_token)}" />'
        return self.get(key, render).replace(CSRF_FIELD, field)
