"""`shop jobs run` says what it has done and how fast: in a log, a line every few seconds
and a summary per step; the rates come from the wall clock (here a fake one)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from shop.cli import main
from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.jobs.progress import Progress
from shop.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_few_seconds_and_a_summary_with_the_rate() -> None:
    clock, lines = FakeClock(), []
    with Progress(
        "Renewals", 10_000, echo=lines.append, terminal=False, clock=clock, every=5
    ) as progress:
        clock.now += 2
        progress.advance(2_000)
        assert lines == []  # not yet five seconds
        clock.now += 4
        progress.advance(4_000)
        clock.now += 4
        progress.advance(4_000)
    assert lines == [
        "Renewals: 6,000/10,000 done, 1,000/s",
        "Renewals: 10,000 done in 10.0 s (1,000/s)",
    ]


def test_a_step_without_a_known_total_counts_what_it_did() -> None:
    clock, lines = FakeClock(), []
    with Progress("Charges", echo=lines.append, terminal=False, clock=clock) as progress:
        clock.now += 0.5
        progress.advance(0)
    assert lines == ["Charges: 0 done in 0.5 s (0/s)"]


def test_jobs_run_reports_each_step_and_the_overall_rate(seeded: Settings) -> None:
    engine = make_engine(seeded.database_url)
    insert_due_subscriptions(engine, 30)
    engine.dispose()
    env = {
        "SHOP_DATABASE_URL": seeded.database_url,
        "SHOP_CLOCK": "2026-01-01T06:00:00+01:00",
        "SHOP_LICENCE_SIGNING_KEY": seeded.licence_signing_key or "",
        "SHOP_JOBS_BATCH": "7",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for step, count in (("Renewals", 30), ("Charges", 0), ("Invoices", 30), ("Expiries", 0)):
        assert re.search(rf"^{step}: {count} done in [\d.]+ s \([\d,]+/s\)$", result.output, re.M)
    assert re.search(r"^Done in [\d.]+ s \([\d,]+ renewals/s overall\)\.$", result.output, re.M)
    assert "Renewed 30 subscription(s)" in result.output


def test_jobs_run_refuses_a_batch_size_below_one(seeded: Settings) -> None:
    env = {"SHOP_DATABASE_URL": seeded.database_url, "SHOP_JOBS_BATCH": "-5"}
    result = CliRunner().invoke(main, ["jobs", "run"], env=env)
    assert result.exit_code != 0
    assert "SHOP_JOBS_BATCH must be at least 1" in result.output
