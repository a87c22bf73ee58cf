"""The headers every answer carries (pages, API, errors, static files): what a page may
load and who may frame it, how much of its address leaves in ``Referer``, and that nothing
is stored by a browser or proxy unless its route says so.

Order and subscription addresses carry their token, and order pages show licence keys, so
the defaults are the strict ones: a route that may be cached (the catalog, static files)
says so with Litestar's ``cache_control``; every other answer is ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.types import Message, Scope

from shop.payments.methods import ContentSources, EmbedsProviderScript
from shop.plugins.manager import Plugins
from shop.settings import Settings

# Catalog and product pages (and the products API) may be kept, but checked again on every
# use: they follow cookies, the language and the enabled plugins, which change at once.
REVALIDATE = CacheControlHeader(private=True, no_cache=True)
# Static files and the licence public key are the same for everyone. The files are not
# fingerprinted: an hour bounds how long an old card.js can linger after a deploy.
PUBLIC = CacheControlHeader(public=True, max_age=3600)

API_DOCS = "/schema"

# Another origin learns at most the shop's origin, never a path with its order token;
# same-origin requests keep the full Referer, and Origin headers stay intact (with
# no-referrer a form POST would send "Origin: null").
REFERRER_POLICY = "strict-origin-when-cross-origin"

# Litestar's API viewers at /schema (Swagger UI, ReDoc, …) load their code from CDNs and
# start it with inline scripts. They show only the public API description and use no
# cookie, so they get their own, looser policy instead of loosening the shop's.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https:; "
    "style-src 'self' 'unsafe-inline' https:; img-src 'self' data: https:; "
    "font-src 'self' https:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
)


def content_security_policy(sources: Iterable[ContentSources]) -> str:
    """The shop's policy: its own scripts and styles only (no inline code), plus what the
    payment methods' scripts need; never framed, forms only to the shop itself."""
    scripts, connections = ["'self'"], ["'self'"]
    frames: list[str] = []
    for source in sources:
        scripts += source.scripts
        frames += source.frames
        connections += source.connections
    directives = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": ["'self'"],
        "frame-src": frames or ["'none'"],
        "connect-src": connections,
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    return "; ".join(
        f"{name} {' '.join(dict.fromkeys(values))}" for name, values in directives.items()
    )


def security_headers(settings: Settings, plugins: Plugins) -> Callable[[Message, Scope], None]:
    """A before-send hook adding the headers; the policy is built once, from the installed
    payment methods that are configured (their keys are settings: a change means a restart)."""
    methods = plugins.enabled((), settings).payment_methods.values()
    policy = content_security_policy(
        m.content_sources(settings) for m in methods if isinstance(m, EmbedsProviderScript)
    )
    common = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": REFERRER_POLICY,
    }
    shop_headers = {**common, "Content-Security-Policy": policy}
    docs_headers = {**common, "Content-Security-Policy": DOCS_POLICY}

    def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope["path"]
        docs = path == API_DOCS or path.startswith(API_DOCS + "/")
        headers = MutableScopeHeaders.from_message(message)
        for name, value in (docs_headers if docs else shop_headers).items():
            headers[name] = value
        if "cache-control" not in headers:
            headers["Cache-Control"] = "no-store"

    return add_security_headers
