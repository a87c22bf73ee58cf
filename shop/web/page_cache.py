"""Pages that every buyer with the same choices sees alike, rendered once.

The catalog and the product pages depend only on the language, the currency and billing
country, the enabled plugins and the exchange rates. Rendering them (hundreds of translated
strings and formatted prices) is most of their cost, so each is kept by those inputs; the
one per-buyer part, the CSRF token of their forms, is filled in for every request.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable

from markupsafe import Markup

# Stands for the CSRF field while a page is rendered for everyone.
CSRF_FIELD = Markup("<!--shop:csrf-field-->")
LIMIT = 1024  # pages kept; the catalog has a few hundred (pages × languages × currencies)


class PageCache:
    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._pages: dict[Hashable, str] = {}

    def page(self, key: Hashable, render: Callable[[], str], csrf_token: str) -> str:
        """The page for ``key`` (rendered by ``render`` the first time), with the buyer's
        CSRF token in its forms."""
        page = self._pages.get(key)
        if page is None:
            page = render()
            kept = self._pages if len(self._pages) < self._limit else {}
            self._pages = {**kept, key: page}  # a new dict: concurrent readers stay safe
        field = f'<input type="hidden" name="_csrf_token" value="{html.escape(csrf_token)}" />'
        return page.replace(CSRF_FIELD, field)
