"""The edge: security headers on every answer, nothing stored that shows an order, a key, a
subscription or operator data, and cookies a script cannot read (and only over TLS behind
https://). The page tests in tests/browser/ prove the CSP lets the real pages work."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings

ORDER = {
    "email": "edge@example.com",
    "name": "Edge Buyer",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}],
}


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def directives(header: str | None) -> set[str]:
    return {part.strip() for part in (header or "").split(",")}


def policy(header: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parsed}


def assert_hardened(answer: Any) -> None:
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    assert answer.headers.get("x-content-type-options") == "nosniff", where
    assert answer.headers.get("x-frame-options") == "DENY", where
    assert answer.headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    csp = policy(answer.headers.get("content-security-policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("default-src") == ["'self'"], where


def test_every_kind_of_answer_carries_the_security_headers(client: TestClient) -> None:
    page = client.get("/en/products/base-yearly")
    answers = [
        page,
        client.get("/", follow_redirects=False),  # a redirect
        client.get("/api/v1/products"),
        client.get("/static/shop.css"),
        client.get("/de/products/no-such-product"),  # an error page
        client.get("/api/v1/orders/no-such-token"),  # problem+json
        client.post("/api/v1/orders", content=b"{not json"),  # a 4xx from Litestar itself
        client.delete("/api/v1/products"),  # 405
        client.post("/en/cart/add", data={"sku": "base-yearly"}),  # CSRF refusal, 403
        client.get("/.well-known/licence-public-key.pem"),
        client.get("/schema/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [
        200,
        302,
        200,
        200,
        404,
        404,
        400,
        405,
        403,
        200,
        200,
    ]
    for answer in answers:
        assert_hardened(answer)


def test_the_shops_pages_allow_no_inline_code_and_no_foreign_script(client: TestClient) -> None:
    csp = policy(client.get("/en/").headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]  # no card configured: no Stripe either
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-src"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]


def test_the_api_viewers_at_schema_get_their_own_looser_policy(client: TestClient) -> None:
    """Swagger UI and friends come from CDNs with inline start-up code; the shop's pages
    do not share their allowance."""
    viewer = client.get("/schema/swagger")
    assert viewer.status_code == 200
    assert_hardened(viewer)
    assert "'unsafe-inline'" in policy(viewer.headers["content-security-policy"])["script-src"]
    shop_page = policy(client.get("/en/").headers["content-security-policy"])
    assert "'unsafe-inline'" not in shop_page["script-src"]


def static_csp(settings: Settings) -> dict[str, list[str]]:
    """The policy an app with ``settings`` sends (a static file: no database needed)."""
    with TestClient(create_app(settings)) as client:
        return policy(client.get("/static/shop.css").headers["content-security-policy"])


def test_stripes_own_stripe_js_gets_exactly_what_stripes_csp_guide_lists(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        secret_key="test",
    ).with_plugin_values(
        {
            "card": {
                "secret_key": "sk_live_x",
                "publishable_key": "pk_live_x",
                "webhook_secret": "whsec_x",
            }
        }
    )
    csp = static_csp(settings)
    assert csp["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert csp["frame-src"] == [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    ]
    assert csp["connect-src"] == ["'self'", "https://api.stripe.com"]


def test_test_mode_allows_the_fake_stripes_origin_and_no_stripe_com(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        secret_key="test",
    ).with_plugin_values(
        {
            "card": {
                "secret_key": "sk_test_x",
                "publishable_key": "pk_test_x",
                "webhook_secret": "whsec_x",
                "api_base": "http://127.0.0.1:41234",
                "js_url": "http://127.0.0.1:41234/v3/",
            }
        }
    )
    csp = static_csp(settings)
    assert csp["script-src"] == ["'self'", "http://127.0.0.1:41234"]
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:41234"]
    assert not any("stripe.com" in value for values in csp.values() for value in values)


INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_no_page_template_holds_inline_script_style_or_handlers() -> None:
    """The CSP refuses inline code; a template that brought some back would break its page
    (mail templates are not pages: mail clients need inline styles)."""
    templates = Path(Settings().templates_dir)
    pages = [templates / "base.html", *sorted((templates / "pages").glob("*.html"))]
    found = {p.name: INLINE.findall(p.read_text()) for p in pages}
    assert {name: hits for name, hits in found.items() if hits} == {}


# Caching ---------------------------------------------------------------------------------


def paid_subscription(client: TestClient, admin: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A paid yearly subscription: its order (with the key) and the subscription's token."""
    order = client.post("/api/v1/orders", json=ORDER).json()["order"]
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    page = client.get(f"/en/orders/{order['token']}").text
    token = re.search(r'/en/subscriptions/([\w-]+)"', page)
    assert token, "the paid order links to its subscription"
    return order, token.group(1)


def test_nothing_showing_an_order_key_subscription_or_operator_data_is_stored(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/orders", json={**ORDER, "email": "second@example.com"})
    order, subscription = paid_subscription(client, admin)
    order_page = client.get(f"/de/orders/{order['token']}")
    assert "LS1." in order_page.text  # the licence key is on it
    product_page = client.get("/en/products/cloud-starter")
    trial_page = client.post(
        "/en/trial",
        data={
            "sku": "cloud-starter",
            "email": "t@example.com",
            "_csrf_token": csrf_token(product_page.text),
        },
    )
    assert "LS1." not in trial_page.text  # the key goes to the address (R1)
    [mail] = [
        m
        for m in client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
        if m["to"] == "t@example.com" and m["kind"] == "trial_link"
    ]
    link = re.search(r"https?://[^/\s]+(/en/trial/\S+)", mail["text"])
    assert link
    confirm = client.get(link.group(1))
    key_page = client.post(f"{link.group(1)}/key", data={"_csrf_token": csrf_token(confirm.text)})
    assert "LS1." in key_page.text
    answers = [
        created,
        order_page,
        trial_page,
        confirm,
        key_page,
        client.get(f"/api/v1/orders/{order['token']}"),
        client.get(f"/api/v1/orders/{order['token']}/document.pdf"),
        client.post(
            "/api/v1/trials", json={"email": "api-trial@example.com", "sku": "cloud-starter"}
        ),
        client.get(f"/api/v1/subscriptions/{order['subscription_id']}", headers=admin),
        client.get(f"/en/subscriptions/{subscription}"),
        client.get(f"/en/subscriptions/{subscription}/switch"),
        client.get("/api/v1/admin/orders", headers=admin),
        client.get("/api/v1/admin/licences", headers=admin),
        client.get("/api/v1/admin/outbox", headers=admin),
        client.get("/api/v1/admin/plugins", headers=admin),
        client.get("/en/cart"),
        client.get(f"/api/v1/orders/{order['token']}x"),  # an error answer too
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [
        *(201, 200, 201, 200, 200, 200, 200, 201, 200, 200, 200, 200, 200, 200, 200, 200, 404)
    ]
    for answer in answers:
        assert answer.headers.get("cache-control") == "no-store", answer.request.url.path


def test_the_catalog_may_be_kept_but_is_checked_again_on_every_use(client: TestClient) -> None:
    """Catalog pages set the language and currency cookies and follow them, and a plugin
    switched off must vanish at once: private (no shared cache) and no-cache."""
    for path in ("/en/", "/de/products/base-yearly", "/api/v1/products?currency=EUR"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert directives(answer.headers.get("cache-control")) == {"private", "no-cache"}, path


def test_static_files_and_the_public_key_are_cached_for_an_hour(client: TestClient) -> None:
    for path in ("/static/shop.css", "/static/switch.js", "/.well-known/licence-public-key.pem"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert directives(answer.headers.get("cache-control")) == {"public", "max-age=3600"}, path


# Cookies -----------------------------------------------------------------------------------


def set_cookies(answer: Any) -> dict[str, str]:
    """Each Set-Cookie of ``answer`` by cookie name, with its attributes lower-cased."""
    cookies = {}
    for header in answer.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = header.lower()
    return cookies


def session_and_csrf_cookies(settings: Settings, base_url: str) -> dict[str, str]:
    with TestClient(create_app(settings), base_url=base_url) as client:
        page = client.get("/en/products/base-yearly")
        added = client.post(
            "/en/cart/add",
            data={"sku": "base-yearly", "_csrf_token": csrf_token(page.text)},
            follow_redirects=False,
        )
        assert added.status_code in (302, 303), "the form works with an HttpOnly CSRF cookie"
        cookies = {**set_cookies(page), **set_cookies(added)}
    return {name: cookies[name] for name in ("shop_csrf", "session")}


def test_behind_https_the_session_and_csrf_cookies_are_secure_and_http_only(
    seeded: Settings,
) -> None:
    settings = replace(seeded, public_url="https://shop.example.com")
    for name, cookie in session_and_csrf_cookies(settings, "https://testserver.local").items():
        assert "; secure" in cookie, name
        assert "; httponly" in cookie, name
        assert "; samesite=lax" in cookie, name


def test_over_plain_http_the_cookies_are_http_only_but_not_secure(seeded: Settings) -> None:
    """A browser would drop a Secure cookie on http://, and the shop would lose the cart."""
    for name, cookie in session_and_csrf_cookies(seeded, "http://testserver.local").items():
        assert "; secure" not in cookie, name
        assert "; httponly" in cookie, name
        assert "; samesite=lax" in cookie, name


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, False),
        ({"SHOP_PUBLIC_URL": "https://shop.example.com"}, True),
        ({"SHOP_PUBLIC_URL": "https://shop.example.com", "SHOP_COOKIE_SECURE": "0"}, False),
        ({"SHOP_PUBLIC_URL": "http://10.0.0.5:8000", "SHOP_COOKIE_SECURE": "1"}, True),
    ],
)
def test_secure_cookies_follow_the_public_url_unless_set(env: dict[str, str], secure: bool) -> None:
    assert Settings.from_env(env).secure_cookies is secure
