"""How fast the shop applies Stripe webhooks, each delivered twice (R13): N card orders,
2N signed `payment_intent.succeeded` deliveries from C threads, wall time and rate.

    .venv/bin/python bench/webhooks.py --count 200 --concurrency 8 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Serves the real app with uvicorn and the fake Stripe on 127.0.0.1, places the orders
through the API, then delivers the events. Prints what it measured and how many payments
were stored (N if every event was applied once); nothing is asserted.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import uvicorn
from renewals import drop_scratch, scratch_database
from shop_fakes.stripe import FakeStripe
from sqlalchemy import func, select

from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, migrate, session_scope
from shop.demo import seed_demo
from shop.licences.keys import generate_signing_key_b64
from shop.orders.models import Payment
from shop.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database", default="sqlite:///")
    args = parser.parse_args()

    url, scratch = scratch_database(args.database)
    migrate(url)
    fake = FakeStripe().start()
    settings = Settings(
        database_url=url,
        licence_signing_key=generate_signing_key_b64(),
    ).with_plugin_values(
        {
            "card": {
                "secret_key": fake.secret_key,
                "publishable_key": fake.publishable_key,
                "webhook_secret": fake.webhook_secret,
                "api_base": fake.base_url,
            }
        }
    )
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_demo(session, Clock.from_setting(None, settings.timezone).now())

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = replace(settings, public_url=base)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    with httpx.Client(base_url=base, timeout=60) as http:
        events = []
        for n in range(args.count):
            order = http.post(
                "/api/v1/orders",
                json={
                    "email": f"buyer{n}@example.com",
                    "name": "Bench",
                    "country": "DE",
                    "currency": "EUR",
                    "payment_method": "card",
                    "items": [{"sku": "base-yearly", "quantity": 1}],
                },
            ).json()["order"]
            intent_id = order["payment"]["client_secret"].split("_secret_")[0]
            intent = {**fake.payment_intents[intent_id], "status": "succeeded"}
            intent["amount_received"] = intent["amount"]
            body = fake.event("payment_intent.succeeded", intent)
            events.append((body, {"Stripe-Signature": fake.sign(body)}))

        deliveries = events + events  # every event arrives twice
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            statuses = list(
                pool.map(
                    lambda e: http.post("/webhooks/stripe", content=e[0], headers=e[1]).status_code,
                    deliveries,
                )
            )
        elapsed = time.monotonic() - started

    with engine.connect() as connection:
        payments = connection.execute(select(func.count()).select_from(Payment)).scalar()
    print(
        f"{engine.dialect.name}: {len(deliveries)} deliveries of {args.count} events "
        f"from {args.concurrency} threads in {elapsed:.1f} s "
        f"({len(deliveries) / elapsed:.0f}/s); answers {sorted(set(statuses))}; "
        f"{payments} payments stored"
    )
    server.should_exit = True
    fake.stop()
    engine.dispose()
    time.sleep(0.5)  # the server's connections close as it exits
    drop_scratch(args.database, scratch)


if __name__ == "__main__":
    main()
