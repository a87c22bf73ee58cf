"""How long a checkout takes and what its mail costs the database: N bank-transfer orders
placed through the API from C threads, then the outbox's bytes per mail.

    .venv/bin/python bench/checkout.py --count 200 --concurrency 4 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Serves the real app with uvicorn, without SMTP (the mails stay in the outbox), so what is
measured is the checkout's own work. Prints what it measured; nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import uvicorn
from renewals import drop_scratch, scratch_database
from sqlalchemy import func, select

from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, migrate, session_scope
from shop.demo import seed_demo
from shop.licences.keys import generate_signing_key_b64
from shop.mail.outbox import OutboxMessage
from shop.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database", default="sqlite:///")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    url, scratch = scratch_database(args.database)
    migrate(url)
    settings = Settings(database_url=url, licence_signing_key=generate_signing_key_b64())
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_demo(session, Clock.from_setting(None, settings.timezone).now())

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    def checkout(n: int) -> tuple[int, float]:
        started = time.monotonic()
        answer = http.post(
            "/api/v1/orders",
            json={
                "email": f"buyer{n}@example.com",
                "name": "Bench",
                "country": "DE",
                "currency": "EUR",
                "payment_method": "bank_transfer",
                "items": [{"sku": "base-yearly", "quantity": 1}],
            },
        )
        return answer.status_code, time.monotonic() - started

    with httpx.Client(base_url=base, timeout=60) as http:
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(checkout, range(args.count)))
        elapsed = time.monotonic() - started

    mail_bytes = (
        func.length(OutboxMessage.text_body)
        + func.coalesce(func.length(OutboxMessage.html_body), 0)
        + func.coalesce(func.length(OutboxMessage.attachment), 0)
    )
    with engine.connect() as connection:
        mails, stored = connection.execute(
            select(func.count(), func.sum(mail_bytes)).select_from(OutboxMessage)
        ).one()
    times = sorted(seconds for _, seconds in results)
    print(
        f"{engine.dialect.name}: {args.count} checkouts from {args.concurrency} threads in "
        f"{elapsed:.1f} s ({args.count / elapsed:.1f}/s); per checkout median "
        f"{statistics.median(times) * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f} "
        f"ms; answers {sorted({status for status, _ in results})}; {mails} mails, "
        f"{(stored or 0) / max(mails, 1) / 1024:.1f} KiB stored per mail"
    )
    server.should_exit = True
    engine.dispose()
    time.sleep(0.5)  # the server's connections close as it exits
    drop_scratch(args.database, scratch)


if __name__ == "__main__":
    main()
