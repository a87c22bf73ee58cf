"""`make bench`: the shop measured from outside, against references measured in the same run.

    .venv/bin/python bench/run.py                     # everything: what `make bench` runs
    BENCH_QUICK=1 .venv/bin/python bench/run.py       # short runs and small sizes
    .venv/bin/python bench/run.py --only pages,checkout --databases sqlite

Every row starts its server afresh on a new scratch database (SQLite file, or PostgreSQL
database dropped afterwards) on a free port, warms it up, drives it over HTTP from another
process (wrk; locust for the HTML journeys), stops it and looks at what happened. The
references run the same way: the bare Litestar app (bench/bare_app.py) and a django-oscar
shop built from PyPI (bench/oscar/). Renewals call bench/renewals.py as a subprocess, the
64-writer run is bench/writers.py. The report is written to bench/results.md after every
row, so an interrupted run still leaves one. Every run is bounded in time.

Settings (environment variables; the defaults are the full run, BENCH_QUICK=1 the quick):
    BENCH_QUICK=1            4 s rows (journeys 10 s), short warm-ups, renewals "500 5000",
                             10 s writers, 200 webhook events
    BENCH_SECONDS=12         measured seconds per row       BENCH_WARMUP=3    warm-up seconds
    BENCH_JOURNEY_SECONDS=30 the same for journey rows      BENCH_JOURNEY_WARMUP=10
    BENCH_CLIENTS=32         concurrent clients             BENCH_PG_WORKERS=2
    RENEWALS="10000 100000"  renewal sizes                  RENEWALS_TIMEOUT=600 (s per run)
    RENEWALS_SKIP_HOPELESS=0 also run a size that the smaller one projects past 2 × the timeout
    BENCH_WRITERS_SECONDS=60                                BENCH_WEBHOOK_EVENTS=1000
    BENCH_DATABASES="sqlite postgresql"                     BENCH_ONLY=pages,checkout,...
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
Groups for BENCH_ONLY / --only: pages, checkout, journey, webhooks, oscar, writers, renewals.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from diagnose import explain, first_exception
from load import Measurement, measured, run_locust, run_wrk
from machine import facts
from oscar_build import OscarBuild
from oscar_build import build as build_oscar
from report import Check, Row, render
from servers import (
    Server,
    ServerFailed,
    scratch_database,
    shop_supports_workers,
    start_bare,
    start_oscar,
    start_shop,
)
from shop_fakes.stripe import FakeStripe
from sqlalchemy import text
from tools import ensure_locust, ensure_wrk
from writers import run_writers

from shop.db import make_engine

HERE = Path(__file__).resolve().parent
GROUPS = ("pages", "checkout", "journey", "webhooks", "oscar", "writers", "renewals")
DB_LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CHECKOUT = "/api/v1/orders"


@dataclass(frozen=True)
class Config:
    quick: bool
    seconds: float
    warmup: float
    journey_seconds: float
    journey_warmup: float
    clients: int
    databases: tuple[str, ...]
    postgres_url: str
    pg_workers: int
    renewal_sizes: tuple[int, ...]
    renewal_runners: int
    renewal_timeout: float
    renewal_skip_hopeless: bool
    webhook_events: int
    webhook_max_seconds: float
    writers: int
    writer_seconds: float
    groups: tuple[str, ...]
    out: Path

    @classmethod
    def from_env(cls, args: argparse.Namespace) -> Config:
        env = os.environ
        quick = args.quick or env.get("BENCH_QUICK", "") not in ("", "0")

        def setting(name: str, full: str, fast: str) -> str:
            return env.get(name) or (fast if quick else full)

        only = args.only or env.get("BENCH_ONLY") or ",".join(GROUPS)
        groups = tuple(g.strip() for g in only.split(",") if g.strip())
        unknown = set(groups) - set(GROUPS)
        if unknown:
            sys.exit(f"unknown group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
        databases = args.databases or env.get("BENCH_DATABASES") or "sqlite postgresql"
        return cls(
            quick=quick,
            seconds=float(setting("BENCH_SECONDS", "12", "4")),
            warmup=float(setting("BENCH_WARMUP", "3", "1")),
            # A journey is many requests: at 32 clients one takes seconds on django-oscar,
            # so journeys get a longer warm-up and window to count enough of them.
            journey_seconds=float(setting("BENCH_JOURNEY_SECONDS", "30", "10")),
            journey_warmup=float(setting("BENCH_JOURNEY_WARMUP", "10", "5")),
            clients=int(setting("BENCH_CLIENTS", "32", "32")),
            databases=tuple(databases.replace(",", " ").split()),
            postgres_url=setting(
                "BENCH_POSTGRES_URL", *["postgresql://postgres@127.0.0.1:5432/postgres"] * 2
            ),
            pg_workers=int(setting("BENCH_PG_WORKERS", "2", "2")),
            renewal_sizes=tuple(
                sorted(int(n) for n in setting("RENEWALS", "10000 100000", "500 5000").split())
            ),
            renewal_runners=4,
            renewal_timeout=float(setting("RENEWALS_TIMEOUT", "600", "120")),
            renewal_skip_hopeless=setting("RENEWALS_SKIP_HOPELESS", "1", "1") != "0",
            webhook_events=int(setting("BENCH_WEBHOOK_EVENTS", "1000", "200")),
            webhook_max_seconds=float(setting("BENCH_WEBHOOK_SECONDS", "90", "30")),
            writers=int(setting("BENCH_WRITERS", "64", "64")),
            writer_seconds=float(setting("BENCH_WRITERS_SECONDS", "60", "10")),
            groups=groups,
            out=Path(args.out or env.get("BENCH_OUT") or HERE / "results.md"),
        )


class Bench:
    """One run: its configuration, its folder, the rows measured so far."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.folder = HERE / ".build" / "runs" / time.strftime("%Y%m%d-%H%M%S")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rows: list[Row] = []
        self.facts = facts(config.postgres_url)
        self.workers_flag = shop_supports_workers()
        self.workers = {
            "sqlite": 1,
            "postgresql": config.pg_workers if self.workers_flag else 1,
        }
        self.locust: Path | None = None
        self.oscar: OscarBuild | None = None
        self.started = time.monotonic()

    # -- rows over HTTP ------------------------------------------------------------------

    def http_row(
        self,
        row: Row,
        db: str,
        start: Callable[[str, Path], Server],
        drive: Callable[[Server, str, Path, Row], Measurement],
        probe: str = "/en/",
    ) -> None:
        """Start a server on a fresh database, drive it, explain the result, stop it."""
        folder = self.folder / f"{row.key}-{db}"
        print(f"- {row.label} ...", end=" ", flush=True)
        try:
            with scratch_database(db, folder, self.config.postgres_url) as url:
                server = start(url, folder)
                row.workers = server.workers
                try:
                    row.measurement = drive(server, url, folder, row)
                    row.limit, row.diagnosis = explain(server, row.measurement, probe)
                finally:
                    server.stop()
        except ServerFailed as error:
            row.failure = str(error)
        except Exception as error:  # one broken row must not end the whole run
            row.failure = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        self.add(row)

    def wrk_drive(
        self, path: str, script: str = "get"
    ) -> Callable[[Server, str, Path, Row], Measurement]:
        """Warm up, then measure, wrk on one path (checkout: a fresh e-mail per request)."""
        config = self.config

        def drive(server: Server, _url: str, _folder: Path, _row: Row) -> Measurement:
            url = server.base_url + path

            def tagged() -> list[str]:
                return [uuid.uuid4().hex[:10]] if script == "checkout" else []

            if config.warmup:
                run_wrk(url, script, config.clients, config.warmup, args=tagged())
            return measured(
                server.cpu_seconds,
                lambda: run_wrk(url, script, config.clients, config.seconds, args=tagged()),
            )

        return drive

    def journey_drive(
        self, user: str, env: dict[str, str] | None = None
    ) -> Callable[[Server, str, Path, Row], Measurement]:
        config = self.config
        assert self.locust is not None
        locust = self.locust

        def drive(server: Server, _url: str, folder: Path, _row: Row) -> Measurement:
            return measured(
                server.cpu_seconds,
                lambda: run_locust(
                    server.base_url,
                    user,
                    config.clients,
                    config.journey_warmup,
                    config.journey_seconds,
                    folder,
                    locust,
                    env,
                ),
            )

        return drive

    def shop(
        self, db: str, extra_env: dict[str, str] | None = None
    ) -> Callable[[str, Path], Server]:
        return lambda url, folder: start_shop(url, folder, self.workers[db], extra_env)

    def bare(self, db: str) -> Callable[[str, Path], Server]:
        return lambda url, folder: start_bare(url, folder, self.workers[db])

    def row(
        self, key: str, what: str, db: str, unit: str = "req/s", reference: bool = False
    ) -> Row:
        return Row(key, what, DB_LABEL.get(db, db), unit, reference=reference)

    # -- groups --------------------------------------------------------------------------

    def references(self, db: str) -> None:
        """The bare Litestar app on the same database and with as many processes."""
        groups = self.config.groups
        if "pages" in groups:
            row = self.row("bare-page", "Bare Litestar page GET /en/", db, reference=True)
            self.http_row(row, db, self.bare(db), self.wrk_drive("/en/"))
            row = self.row(
                "bare-api", "Bare Litestar JSON GET /api/v1/products", db, reference=True
            )
            self.http_row(row, db, self.bare(db), self.wrk_drive("/api/v1/products"))
        if "checkout" in groups:
            row = self.row(
                "bare-insert", "Bare Litestar insert POST /api/v1/orders", db, reference=True
            )
            self.http_row(row, db, self.bare(db), self.wrk_drive(CHECKOUT, "checkout"))

    def pages(self, db: str) -> None:
        for key, what, path in (
            ("catalog", "Catalog page GET /en/", "/en/"),
            ("product", "Product page GET /en/products/base-yearly", "/en/products/base-yearly"),
            (
                "api",
                "Products API GET /api/v1/products",
                "/api/v1/products?currency=EUR&country=DE",
            ),
        ):
            self.http_row(self.row(key, what, db), db, self.shop(db), self.wrk_drive(path))

    def checkout(self, db: str) -> None:
        row = self.row("checkout", "Checkout POST /api/v1/orders (bank transfer)", db)
        self.http_row(row, db, self.shop(db), self.wrk_drive(CHECKOUT, "checkout"))

    def journey(self, db: str) -> None:
        row = self.row(
            "journey", "Buyer journey, HTML pages (catalog → order page)", db, "journeys/s"
        )
        self.http_row(row, db, self.shop(db), self.journey_drive("ShopBuyer"))

    def webhooks(self, db: str) -> None:
        fake = FakeStripe()
        fake.start()
        try:
            env = {
                "SHOP_STRIPE_SECRET_KEY": fake.secret_key,
                "SHOP_STRIPE_PUBLISHABLE_KEY": fake.publishable_key,
                "SHOP_STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
                "SHOP_STRIPE_API_BASE": fake.base_url,
            }
            row = self.row("webhooks", "Verified Stripe webhooks POST /webhooks/stripe", db)
            row.unit = "webhooks/s"
            self.http_row(row, db, self.shop(db, env), self.webhook_drive(fake))
        finally:
            fake.stop()

    def webhook_drive(self, fake: FakeStripe) -> Callable[[Server, str, Path, Row], Measurement]:
        config = self.config

        def drive(server: Server, url: str, folder: Path, row: Row) -> Measurement:
            events, placing = place_card_orders(server.base_url, fake, config.webhook_events)
            row.facts.append(
                f"{len(events)} card orders placed one by one through the API in {placing:.0f} s"
                " (also the warm-up); each signed `payment_intent.succeeded` delivered twice,"
                " the copies by different connections"
            )
            deliveries, done = folder / "deliveries.tsv", folder / "threads-done"
            # Signed now: Stripe's signatures are only accepted for a few minutes.
            with deliveries.open("w") as file:
                for body in events + events:
                    file.write(f"{fake.sign(body)}\t{body.decode()}\n")
            done.write_text("")
            threads = min(config.clients, max(1, 2 * len(events)))

            def all_done() -> bool:
                return len(done.read_text().split()) >= threads

            measurement = measured(
                server.cpu_seconds,
                lambda: run_wrk(
                    server.base_url + "/webhooks/stripe",
                    "webhooks",
                    threads,
                    config.webhook_max_seconds,
                    args=[str(deliveries), str(done), str(threads)],
                    stop_when=all_done,
                    use_active_time=True,
                ),
            )
            if not all_done():
                measurement.notes.append(
                    f"not every delivery was answered within {config.webhook_max_seconds:.0f} s"
                )
            stored = count_rows(url, "payment")
            row.facts.append(f"payments stored: {stored} for {len(events)} events (R13: one each)")
            if stored != len(events):
                measurement.errors += abs(len(events) - stored)
                measurement.error_detail["payments stored ≠ events"] = abs(len(events) - stored)
            return measurement

        return drive

    def oscar_rows(self) -> None:
        self.oscar = build_oscar()
        oscar = self.oscar

        def start(_url: str, folder: Path) -> Server:
            return start_oscar(oscar.gunicorn, oscar.project, oscar.template_db, folder)

        product = oscar.product_url
        row = self.row(
            "oscar-product", f"django-oscar product page GET {product}", "sqlite", reference=True
        )
        self.http_row(row, "sqlite", start, self.wrk_drive(product), probe=product)
        row = self.row(
            "oscar-journey",
            "django-oscar buyer journey (product → thank-you)",
            "sqlite",
            "journeys/s",
            reference=True,
        )
        env = {"BENCH_OSCAR_PRODUCT": product, "BENCH_OSCAR_PRODUCT_ID": str(oscar.product_id)}
        self.http_row(row, "sqlite", start, self.journey_drive("OscarBuyer", env), probe=product)

    def writers_row(self) -> None:
        config = self.config
        row = self.row(
            "writers",
            f"Load without loss: {config.writers} writers × {config.writer_seconds:.0f} s"
            " POST /api/v1/orders",
            "sqlite",
            "orders/s",
        )
        print(f"- {row.label} ...", end=" ", flush=True)
        result = run_writers(self.folder / "writers-sqlite", config.writers, config.writer_seconds)
        row.workers = 1
        row.measurement, row.failure = result.measurement, result.failure
        row.limit, row.diagnosis = result.limit, result.diagnosis
        if result.measurement:
            row.facts += [
                f"201 answers: {result.acknowledged}; orders in the database: {result.stored}; "
                "stored without a 201 (answer cut off when the run ended): "
                f"{result.unacknowledged}",
                f'5xx answers: {result.server_errors}; "database is locked" in the log: '
                f"{result.locked_in_log}; acknowledged but missing: {len(result.missing)}; "
                f"gaps in the numbers: {len(result.gaps)}; numbers acknowledged twice: "
                f"{len(result.duplicated)}",
            ]
        failed = [name for name, ok in result.checks.items() if not ok]
        row.checks.append(
            Check(
                target='0 errors, zero 5xx, zero "database is locked", every 201 stored,'
                " gapless numbers",
                met=None if result.failure else not failed,
                why=f"failed: {', '.join(failed)}" if failed else "",
            )
        )
        self.add(row)

    def renewals(self, db: str) -> None:
        config = self.config
        for count in config.renewal_sizes:
            row = self.row(f"renewals-{count}", f"`shop jobs run`: {count:,} due subscriptions", db)
            row.unit, row.clients = "renewals/s", f"{config.renewal_runners} runners"
            print(f"- {row.label} ...", end=" ", flush=True)
            smaller = [
                r for r in self.rows if r.key.startswith("renewals-") and r.database == row.database
            ]
            if any(r.measurement is None for r in smaller):
                row.failure = "skipped: a smaller size did not finish"
                self.add(row)
                continue
            projected = max((count / r.rate for r in smaller if r.rate), default=0.0)
            if config.renewal_skip_hopeless and projected > 2 * config.renewal_timeout:
                row.failure = (
                    f"skipped: at the rate of the smaller size it would need about "
                    f"{projected:.0f} s, more than twice the {config.renewal_timeout:.0f} s limit"
                    " (a projection, not a measurement; RENEWALS_SKIP_HOPELESS=0 runs it anyway)"
                )
                self.add(row)
                continue
            url = "sqlite:///" if db == "sqlite" else config.postgres_url
            row.measurement, row.failure, row.facts = run_renewals(
                count, config.renewal_runners, url, config.renewal_timeout
            )
            self.add(row)

    # -- bookkeeping ---------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self.rows.append(row)
        m = row.measurement
        print(
            f"{m.rate:.1f} {row.unit}, {m.errors} errors"
            if m
            else f"no measurement: {row.failure}",
            flush=True,
        )
        self.publish(complete=False)

    def publish(self, complete: bool) -> None:
        evaluate(self.rows, self.config)
        facts = {
            **self.facts,
            "mode": "quick (BENCH_QUICK=1)" if self.config.quick else "full",
            "shop worker processes": (
                f"SQLite {self.workers['sqlite']}, PostgreSQL {self.workers['postgresql']}"
                + ("" if self.workers_flag else " (`shop serve` has no --workers option yet)")
            ),
            "run took": f"{(time.monotonic() - self.started) / 60:.1f} min so far"
            if not complete
            else f"{(time.monotonic() - self.started) / 60:.1f} min",
            "logs": f"`{self.folder.relative_to(HERE.parent)}/` (not committed)",
        }
        if self.oscar is not None:
            facts["django-oscar"] = self.oscar.version
        render(self.config.out, self.rows, facts, setup_text(self), DEFINITIONS, complete)


def place_card_orders(base_url: str, fake: FakeStripe, count: int) -> tuple[list[bytes], float]:
    """``count`` card orders through the API, one at a time, and for each the body of the
    `payment_intent.succeeded` event Stripe would send. Stops early at the first failure or
    after 5 minutes, so a stuck shop cannot hang the run."""
    started = time.monotonic()
    events: list[bytes] = []
    intents = fake.payment_intents
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for n in range(count):
            if time.monotonic() - started > 300:
                break
            try:
                answer = http.post(
                    CHECKOUT,
                    json={
                        "email": f"card-{uuid.uuid4().hex[:10]}-{n}@bench.example",
                        "name": "Bench Buyer",
                        "country": "DE",
                        "currency": "EUR",
                        "payment_method": "card",
                        "items": [{"sku": "base-yearly", "quantity": 1}],
                    },
                )
            except httpx.HTTPError:
                break
            if answer.status_code != 201:
                break
            secret = answer.json()["order"]["payment"]["client_secret"]
            intent = {**intents[secret.split("_secret_")[0]], "status": "succeeded"}
            intent["amount_received"] = intent["amount"]
            events.append(fake.event("payment_intent.succeeded", intent))
    return events, time.monotonic() - started


def count_rows(database_url: str, table: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    finally:
        engine.dispose()


def run_renewals(
    count: int, runners: int, database: str, timeout: float
) -> tuple[Measurement | None, str | None, list[str]]:
    """bench/renewals.py as a subprocess (its internals change in parallel); its last line
    `RESULT {json}` is the measurement. On timeout, SIGINT lets it drop its database."""
    argv = [
        sys.executable,
        str(HERE / "renewals.py"),
        "--count",
        str(count),
        "--workers",
        str(runners),
        "--database",
        database,
    ]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        return None, f"did not finish within {timeout:.0f} s (including creating the data)", []
    line = next((x for x in reversed(out.splitlines()) if x.startswith("RESULT ")), None)
    if line is None:
        tail = " | ".join(out.strip().splitlines()[-5:])
        return None, f"renewals.py exited {process.returncode} without a RESULT line: {tail}", []
    result = json.loads(line.removeprefix("RESULT "))
    codes = result["exit_codes"]
    failed = sum(1 for code in codes if code != 0)
    m = Measurement(
        "shop jobs run",
        runners,
        float(result["seconds"]),
        count,  # as renewals.py measured it; failed runners are counted as errors
        None,
        None,
        failed,
        {"runner exit codes": failed} if failed else {},
    )
    facts = [
        f"runner exit codes {codes}; creating the {count:,} subscriptions took "
        f"{result.get('setup_seconds', 0):.0f} s (not counted)"
    ]
    if failed and (error := first_exception(out)) is not None:
        facts.append(f"first exception a runner printed: `{error}`")
    return m, None, facts


# -- targets -------------------------------------------------------------------------------


def _find(rows: list[Row], key: str, database: str) -> Row | None:
    return next((r for r in rows if r.key == key and r.database == database), None)


def _ratio_check(row: Row, reference: Row | None, minimum: float, target: str) -> Check:
    check = Check(target=target)
    if reference is None:
        check.why = "its reference was not measured in this run"
        return check
    check.reference = reference.label
    check.reference_rate = reference.rate
    if row.measurement is None:
        check.met, check.why = False, row.failure or "not measured"
        return check
    if not reference.rate:
        check.why = f"the reference measured nothing ({reference.failure or 'rate 0'})"
        return check
    check.ratio = row.measurement.rate / reference.rate
    problems = []
    if check.ratio < minimum:
        problems.append(f"ratio {check.ratio:.2f} < {minimum:g}")
    if row.measurement.errors:
        problems.append(f"{row.measurement.errors} errors")
    check.met = not problems
    check.why = "; ".join(problems + ([row.limit] if row.limit else []))
    return check


def _absolute_check(row: Row, minimum: float, target: str) -> Check:
    m = row.measurement
    if m is None:
        return Check(target=target, met=False, why=row.failure or "not measured")
    problems = [f"{m.rate:.0f} < {minimum:g}"] if m.rate < minimum else []
    if m.errors:
        problems.append(f"{m.errors} errors")
    why = "; ".join(problems + ([row.limit] if row.limit else []))
    return Check(target=target, met=not problems, why=why)


def evaluate(rows: list[Row], config: Config) -> None:
    """Attach the issue's targets to the shop's rows (again after every new row)."""
    for row in rows:
        if row.key != "writers":
            row.checks = []
        db = row.database
        if row.key in ("catalog", "product"):
            row.checks.append(
                _ratio_check(
                    row, _find(rows, "bare-page", db), 0.5, "≥ 50 % of the bare page, 0 errors"
                )
            )
        if row.key == "product" and db == "SQLite":
            row.checks.append(
                _ratio_check(
                    row, _find(rows, "oscar-product", "SQLite"), 20, "≥ 20× django-oscar, 0 errors"
                )
            )
        if row.key == "api":
            check = _ratio_check(
                row, _find(rows, "bare-api", db), 0.0, "0 errors (no ratio target in the issue)"
            )
            row.checks.append(check)
        if row.key == "checkout":
            check = _ratio_check(
                row,
                _find(rows, "bare-insert", db),
                0.5,
                "≥ 50 % of the bare insert, p99 ≤ 100 ms, 0 errors",
            )
            p99 = row.measurement.p99_ms if row.measurement else None
            if row.measurement and (p99 is None or p99 > 100):
                check.met = False if check.met is not None else None
                slow = "no answer to take a p99 of" if p99 is None else f"p99 {p99:.0f} ms > 100 ms"
                check.why = f"{slow}; {check.why}"
            row.checks.append(check)
        if row.key == "journey" and db == "SQLite":
            row.checks.append(
                _ratio_check(
                    row, _find(rows, "oscar-journey", "SQLite"), 20, "≥ 20× django-oscar, 0 errors"
                )
            )
        if row.key == "webhooks":
            row.checks.append(_absolute_check(row, 500, "≥ 500 verified webhooks/s, 0 errors"))
        if row.key.startswith("renewals-"):
            _renewal_checks(row, rows, config)
        if not row.reference and not row.checks:  # "zero errors in every row"
            m = row.measurement
            met = None if m is None else m.errors == 0 and m.ok > 0
            problems = [f"{m.errors if m else 0} errors", row.limit] if not met else []
            why = row.failure or "; ".join(p for p in problems if p)
            row.checks.append(Check(target="0 errors", met=met, why=why))


def _renewal_checks(row: Row, rows: list[Row], config: Config) -> None:
    count = int(row.key.split("-")[1])
    m = row.measurement
    if count == 100_000 and row.database == "PostgreSQL":
        target = "100,000 in under 60 s with 4 runners"
        if m is None:
            row.checks.append(Check(target=target, met=False, why=row.failure or ""))
        else:
            fast = m.seconds < 60 and not m.errors
            why = "" if fast else f"{m.seconds:.0f} s, {m.errors} failed runners"
            row.checks.append(Check(target=target, met=fast, why=why))
    smallest = min(config.renewal_sizes)
    if count == smallest:
        return  # its only target is "0 errors", added for every row without one
    base = _find(rows, f"renewals-{smallest}", row.database)
    target = f"time grows linearly: t({count:,}) / t({smallest:,}) ≈ {count / smallest:g} (≤ ×1.25)"
    if base is None or base.measurement is None or m is None:
        row.checks.append(Check(target=target, why=row.failure or "a size did not finish"))
        return
    growth = m.seconds / base.measurement.seconds
    linear = growth <= 1.25 * count / smallest
    why = [f"time grew {growth:.1f}× for {count / smallest:g}× the subscriptions"]
    if m.errors:
        why.append(f"{m.errors} runners failed")
    check = Check(
        target=target,
        reference=base.label,
        reference_rate=base.measurement.rate,
        shown_ratio=f"time ×{growth:.1f}",
        met=linear and not m.errors,
        why="; ".join(why),
    )
    row.checks.append(check)


DEFINITIONS = [
    "- **rate** counts only answers with status 2xx/3xx (a journey: only journeys whose every"
    " step answered as a browser expects), divided by the measured seconds. Webhooks: deliveries"
    " answered 2xx divided by the time from the first delivery to the last answer. Renewals:"
    " subscriptions divided by the wall time of the 4 `shop jobs run` processes.",
    "- **p50 / p99**: latency percentiles of single requests as wrk reports them; for journeys,"
    " of whole journeys (first request to last answer), computed from every journey.",
    "- **errors**: answers other than 2xx/3xx, connection errors (connect, read, write),"
    " answers that took more than 10 s, requests still unanswered at the end after waiting"
    " more than half the run (or 10 s), and row-specific losses (payments not stored, runners"
    " that failed). wrk runs one connection per thread so that each thread times its request.",
    "- **ratio**: the shop's rate divided by its reference's rate measured in this run on the"
    " same database and with the same number of server processes (django-oscar: 2 gunicorn"
    " workers). Renewals: the larger size's rate divided by the smallest's (1.0 = linear).",
    "- **limit**: from facts gathered during the row: CPU used by the server's processes, the"
    " load tool and the rest of the machine (from /proc), whether the server still answered a"
    " single request afterwards, and what its log shows.",
    "- Every row starts its server on a fresh scratch database and stops it afterwards; each"
    " HTTP row has a warm-up (not counted) before its measured run.",
]


def setup_text(bench: Bench) -> list[str]:
    config = bench.config
    pg_workers = bench.workers["postgresql"]
    return [
        f"- {config.clients} clients, {config.warmup:g} s warm-up then {config.seconds:g} s"
        f" measured per HTTP row (journeys: {config.journey_warmup:g} s, then"
        f" {config.journey_seconds:g} s); load from separate processes: wrk (pages, API, checkout,"
        " webhooks) and locust's FastHttpUser (journeys: wrk's Lua sees only one Set-Cookie per"
        " answer, and a journey needs the session, CSRF and basket cookies).",
        "- The shop: `shop serve` with production settings (no `--test-payments`, random"
        " SHOP_SECRET_KEY and signing key), an empty database that it migrates and seeds;"
        f" SQLite 1 process, PostgreSQL {pg_workers} process(es).",
        "- Bare Litestar reference (`bench/bare_app.py`): the shop's products from its plugins,"
        " one Jinja2 page of the same size (~27 kB), the products as JSON, and a plain-SQL"
        " insert of one order and its lines; uvicorn with the shop's process count.",
        "- django-oscar reference (`bench/oscar_build.py`, project in `bench/oscar/`): built"
        " from PyPI, SQLite in WAL mode, DEBUG"
        " off, gunicorn with 2 sync workers, one product in stock, anonymous checkout, free"
        " shipping (Oscar's only default method), and Oscar's default payment step, which takes"
        " no payment: the preview's *Place order* submits the order. Static files not served.",
        f"- Renewals: `bench/renewals.py --workers {config.renewal_runners}` for"
        f" {', '.join(f'{n:,}' for n in config.renewal_sizes)} due subscriptions, each run"
        f" stopped after {config.renewal_timeout:.0f} s.",
        f"- Webhooks: up to {config.webhook_events} card orders, every event delivered twice by"
        f" {config.clients} connections.",
    ]


@contextmanager
def interrupted_report(bench: Bench) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        bench.publish(complete=False)
        print(f"\ninterrupted; partial report in {bench.config.out}")
        sys.exit(130)


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per probe otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="like BENCH_QUICK=1")
    parser.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    parser.add_argument("--databases", help='"sqlite postgresql" (default both)')
    parser.add_argument("--out", help="where results.md goes (default bench/results.md)")
    config = Config.from_env(parser.parse_args())
    ensure_wrk()
    bench = Bench(config)
    if "journey" in config.groups or "oscar" in config.groups:
        bench.locust = ensure_locust()
    print(f"Benchmark ({'quick' if config.quick else 'full'}), logs in {bench.folder}", flush=True)
    groups = config.groups
    with interrupted_report(bench):
        for db in config.databases:
            bench.references(db)
            if "pages" in groups:
                bench.pages(db)
            if "checkout" in groups:
                bench.checkout(db)
            if "journey" in groups:
                bench.journey(db)
            if "webhooks" in groups:
                bench.webhooks(db)
            if db == "sqlite" and "oscar" in groups:
                bench.oscar_rows()  # soon after the SQLite rows it is compared with
        if "oscar" in groups and "sqlite" not in config.databases:
            bench.oscar_rows()
        if "writers" in groups:
            bench.writers_row()
        if "renewals" in groups:
            for db in config.databases:
                bench.renewals(db)
        bench.publish(complete=True)
    print(f"Wrote {config.out}")


if __name__ == "__main__":
    main()
