"""The whole buyer journey through the HTML pages, for locust (bench/load.py starts it).

Why locust and not wrk here: a journey needs every cookie a page sets (session, CSRF,
basket), and wrk's Lua API hands a script only the last of several Set-Cookie headers of a
response. Locust's FastHttpUser keeps a real cookie jar per virtual user, and both shops are
driven by the same tool, so the ratio between them is fair.

Each virtual user buys in a loop; every journey is a new buyer (cookies cleared, a fresh
e-mail). Redirects are followed by hand so that every hop is one request with its status.
A journey counts only if every step answered as a browser would expect; its time is from
the first request to the last answer. At the end the journeys are written as JSON to
BENCH_JOURNEY_OUT for bench/load.py, which keeps those that ended in the measured window.

    ShopBuyer:  catalog -> product -> add to cart -> cart -> checkout -> place -> order page
    OscarBuyer: product -> add to basket -> basket -> guest e-mail -> shipping address ->
                shipping method -> payment details -> preview -> place order -> thank you
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, constant, events, task

RUN = uuid.uuid4().hex[:8]
JOURNEYS: list[dict[str, Any]] = []
UNFINISHED: dict[int, float] = {}  # journeys under way, by user: when their request was sent
STATUSES: Counter[str] = Counter()
STARTED = time.monotonic()
SHOP_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
DJANGO_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class StepFailed(Exception):
    """A step answered other than a browser would expect."""


@events.test_start.add_listener
def _started(**_: Any) -> None:
    global STARTED
    STARTED = time.monotonic()


@events.request.add_listener
def _count(response: Any = None, exception: Any = None, **_: Any) -> None:
    status = getattr(response, "status_code", None)
    STATUSES[str(status) if status else f"error:{type(exception).__name__}"] += 1


@events.test_stop.add_listener
def _write(**_: Any) -> None:
    out = os.environ.get("BENCH_JOURNEY_OUT")
    if out:
        with open(out, "w") as file:
            unfinished = [sent - STARTED for sent in UNFINISHED.values()]
            json.dump(
                {"journeys": JOURNEYS, "unfinished": unfinished, "statuses": dict(STATUSES)}, file
            )


class Buyer(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    network_timeout = 10.0
    connection_timeout = 10.0
    buyers = 0

    def visit(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        """One request, then its redirects as a browser follows them; the last answer."""
        body = urlencode(form) if form is not None else None
        UNFINISHED[id(self)] = time.monotonic()
        response = self.client.request(
            method, path, data=body, headers=FORM if form else None, allow_redirects=False
        )
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            path = response.headers.get("Location") or ""
            UNFINISHED[id(self)] = time.monotonic()
            response = self.client.request("GET", path, allow_redirects=False)
        if response.status_code == 0:  # FastHttpUser's mark of a timeout or a broken connection
            error = getattr(response, "error", None)
            raise StepFailed(f"{method} {path}: no answer ({type(error).__name__})")
        if response.status_code != 200:
            raise StepFailed(f"{method} {path}: {response.status_code}")
        return response

    def token(self, pattern: re.Pattern[str], page: Any) -> str:
        found = pattern.search(page.text or "")
        if found is None:
            raise StepFailed("no CSRF token on the page")
        return found.group(1)

    def email(self) -> str:
        Buyer.buyers += 1
        return f"journey-{RUN}-{Buyer.buyers}@bench.example"

    def journey(self) -> None:
        raise NotImplementedError

    @task
    def buy(self) -> None:
        self.client.cookiejar.clear()  # a new buyer each time
        started = time.monotonic()
        UNFINISHED[id(self)] = started
        failed = None
        try:
            self.journey()
        except StepFailed as error:
            failed = str(error)
        except Exception as error:  # a connection error or timeout ends this journey
            failed = f"{type(error).__name__}: {error}"
        ended = time.monotonic()
        del UNFINISHED[id(self)]
        JOURNEYS.append(
            {
                "start": started - STARTED,
                "end": ended - STARTED,
                "ok": failed is None,
                "why": failed,
            }
        )


class ShopBuyer(Buyer):
    """The licence shop's pages: GET pages, POST forms with Litestar's CSRF token."""

    def journey(self) -> None:
        self.visit("GET", "/en/")
        product = self.visit("GET", "/en/products/base-yearly")
        self.visit(
            "POST",
            "/en/cart/add",
            {"_csrf_token": self.token(SHOP_CSRF, product), "sku": "base-yearly"},
        )  # redirected to the cart
        checkout = self.visit("GET", "/en/checkout")
        order = self.visit(
            "POST",
            "/en/checkout/place",
            {
                "_csrf_token": self.token(SHOP_CSRF, checkout),
                "email": self.email(),
                "name": "Journey Buyer",
                "country": "DE",
                "street": "Musterstraße 1",
                "postcode": "10115",
                "city": "Berlin",
                "consent_immediate_performance": "1",
                "consent_withdrawal_loss": "1",
                "currency": "EUR",
                "payment_method": "bank_transfer",
                "mode": "pay",
            },
        )  # redirected to the order page
        if 'id="order-status"' not in (order.text or ""):
            raise StepFailed("the checkout did not end on the order page")


class OscarBuyer(Buyer):
    """django-oscar's pages as an anonymous guest, with Django's CSRF token."""

    product_url = os.environ.get("BENCH_OSCAR_PRODUCT", "/catalogue/base-package-yearly_1/")
    product_id = os.environ.get("BENCH_OSCAR_PRODUCT_ID", "1")

    def journey(self) -> None:
        product = self.visit("GET", self.product_url)
        self.visit(
            "POST",
            f"/basket/add/{self.product_id}/",
            {"csrfmiddlewaretoken": self.token(DJANGO_CSRF, product), "quantity": "1"},
        )  # redirected to the basket
        gateway = self.visit("GET", "/checkout/")
        address = self.visit(
            "POST",
            "/checkout/",
            {
                "csrfmiddlewaretoken": self.token(DJANGO_CSRF, gateway),
                "username": self.email(),
                "options": "anonymous",
            },
        )  # redirected to the shipping address form
        self.visit(
            "POST",
            "/checkout/shipping-address/",
            {
                "csrfmiddlewaretoken": self.token(DJANGO_CSRF, address),
                "first_name": "Journey",
                "last_name": "Buyer",
                "line1": "Musterstrasse 1",
                "line4": "Berlin",
                "postcode": "10115",
                "country": "DE",
            },
        )  # redirected: shipping method (one, chosen for us) -> payment method -> details
        preview = self.visit("GET", "/checkout/preview/")
        thanks = self.visit(
            "POST",
            "/checkout/preview/",
            {"csrfmiddlewaretoken": self.token(DJANGO_CSRF, preview), "action": "place_order"},
        )  # redirected to the thank-you page
        if "Your order has been placed" not in (thanks.text or ""):
            raise StepFailed("the checkout did not end on the thank-you page")
