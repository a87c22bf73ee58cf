"""How fast `shop jobs run` renews: N due subscriptions, W runner processes, wall time.

    .venv/bin/python bench/renewals.py --count 1000 --workers 4 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Creates a scratch database (PostgreSQL) or file (SQLite), fills it with the demo catalog's
due subscriptions, runs the real `shop` command in W processes at once and prints the
time and rate. Nothing is asserted: this measures, the tests check correctness.

The last line is ``RESULT {json}`` for harnesses: count, workers, database (``sqlite`` or
``postgresql``), seconds, rate (renewals/s), exit_codes, and steps: each step's longest
time over the runners, read from their progress summaries ("Renewals: … done in 3.1 s").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from shop.db import make_engine, migrate
from shop.demo import insert_due_subscriptions
from shop.licences.keys import generate_signing_key_b64

SHOP = Path(sys.executable).parent / "shop"
STEP = re.compile(r"^(\w+): [\d,]+ done in ([\d.]+) s", re.MULTILINE)


def scratch_database(base: str) -> tuple[str, str | None]:
    """A fresh database URL (and the name to drop afterwards, for PostgreSQL)."""
    url = make_url(base)
    if url.get_backend_name() == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", None
    name = f"shop_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", default="sqlite:///")
    args = parser.parse_args()

    url, dropped = scratch_database(args.database)
    try:
        prepared = time.perf_counter()
        migrate(url)
        engine = make_engine(url)
        insert_due_subscriptions(engine, args.count)
        engine.dispose()
        setup_seconds = time.perf_counter() - prepared
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHOP_")},
            "SHOP_DATABASE_URL": url,
            "SHOP_CLOCK": "2026-01-01T06:00:00+01:00",
            "SHOP_LICENCE_SIGNING_KEY": generate_signing_key_b64(),
        }
        outputs = [Path(tempfile.mkstemp(suffix=".txt")[1]) for _ in range(args.workers)]
        started = time.perf_counter()
        runners = []
        for output in outputs:
            with output.open("wb") as sink:
                command = [str(SHOP), "jobs", "run"]
                runners.append(subprocess.Popen(command, env=env, stdout=sink))
        codes = [runner.wait() for runner in runners]
        elapsed = time.perf_counter() - started
        steps: dict[str, float] = {}
        for output in outputs:
            for label, seconds in STEP.findall(output.read_text()):
                steps[label] = max(steps.get(label, 0.0), float(seconds))
            output.unlink()
        kind = make_url(url).get_backend_name()
        print(
            f"{args.count} subscriptions, {args.workers} runner(s), {kind}: "
            f"{elapsed:.1f} s, {args.count / elapsed:.1f} renewals/s, exit codes {codes}; "
            + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in steps.items())
        )
        # One machine-readable line last, for bench/run.py.
        result = {
            "count": args.count,
            "workers": args.workers,
            "database": kind,
            "seconds": round(elapsed, 3),
            "rate": round(args.count / elapsed, 1),
            "exit_codes": codes,
            "setup_seconds": round(setup_seconds, 3),
            "steps": steps,
        }
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        drop_scratch(args.database, dropped)


def drop_scratch(base: str, name: str | None) -> None:
    """Drop the scratch PostgreSQL database ``name`` (SQLite files stay in /tmp)."""
    if name:
        admin = make_url(base).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
