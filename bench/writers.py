"""Load without loss: 64 writers POST distinct checkouts at a SQLite-backed shop for 60 s.

    .venv/bin/python bench/writers.py [--writers 64] [--seconds 60]      (or: make bench-writers)

Starts `shop serve` on a fresh SQLite file, drives POST /api/v1/orders with wrk (every
request a new e-mail; each 201's order number is kept), stops the shop, then checks from
the database and the server's log: no 5xx, no "database is locked", every order a client
got a 201 for is there, and the order numbers have no gap (R8). Prints the verdict; exits 1
when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from diagnose import explain
from load import Measurement, measured, run_wrk
from servers import ServerFailed, scratch_database, start_shop


@dataclass
class WritersResult:
    writers: int
    seconds: float
    measurement: Measurement | None
    failure: str | None = None
    server_errors: int = 0  # answers 500-599
    locked_in_log: int = 0  # "database is locked" lines in the server's log
    acknowledged: int = 0  # 201 answers
    missing: list[int] = field(default_factory=list)  # acknowledged, not in the database
    duplicated: list[int] = field(default_factory=list)  # one number acknowledged twice
    stored: int = 0
    gaps: list[int] = field(default_factory=list)  # numbers absent between first and last
    unacknowledged: int = 0  # stored, but the client had no 201 (cut off at the end)
    limit: str = ""  # what bounded the run (bench/diagnose.py)
    diagnosis: list[str] = field(default_factory=list)

    @property
    def checks(self) -> dict[str, bool]:
        return {
            "orders were acknowledged (201)": self.acknowledged > 0,
            "zero 5xx": self.measurement is not None and self.server_errors == 0,
            "zero errors of any kind": self.measurement is not None
            and self.measurement.errors == 0,
            'zero "database is locked" in the log': self.locked_in_log == 0,
            "every 201 order is in the database": not self.missing,
            "order numbers gapless, none acknowledged twice": not self.gaps and not self.duplicated,
        }

    @property
    def passed(self) -> bool:
        return self.failure is None and all(self.checks.values())


def _stored_numbers(database_url: str) -> list[int]:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return [n for (n,) in connection.execute("SELECT number FROM shop_order ORDER BY number")]


def run_writers(folder: Path, writers: int = 64, seconds: float = 60) -> WritersResult:
    """The whole check, on a scratch SQLite database in ``folder``."""
    result = WritersResult(writers, seconds, None)
    with scratch_database("sqlite", folder, "") as url:
        try:
            server = start_shop(url, folder, workers=1)
        except ServerFailed as error:
            result.failure = str(error)
            return result
        try:
            tag = f"writers-{uuid.uuid4().hex[:8]}"
            result.measurement = measured(
                server.cpu_seconds,
                lambda: run_wrk(
                    server.base_url + "/api/v1/orders",
                    "checkout",
                    clients=writers,
                    seconds=seconds,
                    args=[tag, "numbers"],
                ),
            )
            result.limit, result.diagnosis = explain(server, result.measurement, "/en/")
        finally:
            server.stop()  # every transaction has ended before we count
        log = server.log_text()
        result.locked_in_log = log.lower().count("database is locked")
        stored = _stored_numbers(url)
    m = result.measurement
    result.server_errors = sum(
        n for status, n in m.error_detail.items() if status.isdigit() and status.startswith("5")
    )
    acknowledged = [n for n in m.samples if isinstance(n, int)]
    result.acknowledged = len(acknowledged)
    result.duplicated = sorted(n for n, times in Counter(acknowledged).items() if times > 1)
    present = set(stored)
    result.missing = sorted(set(acknowledged) - present)
    result.stored = len(stored)
    if stored:
        result.gaps = sorted(set(range(stored[0], stored[-1] + 1)) - present)[:100]
    result.unacknowledged = len(present - set(acknowledged))
    return result


def summary(result: WritersResult) -> str:
    if result.failure:
        return f"did not run: {result.failure}"
    m = result.measurement
    assert m is not None
    lines = [
        f"{result.writers} writers for {m.seconds:.0f} s: {m.rate:.1f} orders/s, "
        f"p50 {m.p50_ms or 0:.0f} ms, p99 {m.p99_ms or 0:.0f} ms, "
        f"errors {m.errors} {m.error_detail}",
        f"201 answers {result.acknowledged}, orders stored {result.stored}, "
        f"stored without a 201 (cut off at the end) {result.unacknowledged}",
    ]
    for name, ok in result.checks.items():
        lines.append(f"  {'ok    ' if ok else 'FAILED'} {name}")
    lines += [f"  limit: {result.limit}", *(f"  {fact}" for fact in result.diagnosis)]
    if result.missing:
        lines.append(f"  missing numbers (first 20): {result.missing[:20]}")
    if result.gaps:
        lines.append(f"  gaps (first 20): {result.gaps[:20]}")
    if result.duplicated:
        lines.append(f"  numbers acknowledged twice (first 20): {result.duplicated[:20]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--folder", type=Path, default=None, help="where the logs go")
    args = parser.parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = args.folder or Path(__file__).resolve().parent / ".build" / "writers" / stamp
    result = run_writers(folder, args.writers, args.seconds)
    print(summary(result))
    print(f"RESULT {json.dumps({'passed': result.passed, 'checks': result.checks})}")
    print(f"server log: {folder / 'shop.log'}")
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
