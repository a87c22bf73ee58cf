"""bench/results.md from the rows of one run: the machine, the table, ratios and targets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from load import Measurement

NOISY_PERCENT = 50  # of one core: other work on the machine during a row, marked †


@dataclass
class Check:
    """One target of the issue applied to one row."""

    target: str
    reference: str | None = None  # the reference row's label
    reference_rate: float | None = None
    ratio: float | None = None
    shown_ratio: str | None = None  # instead of the ratio, e.g. "time ×9.8" for renewals
    met: bool | None = None  # None: could not be evaluated (see why)
    why: str = ""  # what limits it, or why it was not evaluated


@dataclass
class Row:
    key: str  # what the targets refer to: "catalog", "bare-page", "renewals-100000", ...
    what: str
    database: str  # "SQLite" or "PostgreSQL"
    unit: str  # "req/s", "journeys/s", "webhooks/s", "renewals/s", "orders/s"
    workers: int | None = None  # server processes
    clients: str = ""  # shown instead of the measurement's clients when set (runners)
    measurement: Measurement | None = None
    failure: str | None = None  # why there is no measurement
    reference: bool = False
    diagnosis: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    limit: str = ""  # one sentence: what bounded this row

    @property
    def label(self) -> str:
        return f"{self.what} ({self.database})"

    @property
    def noisy(self) -> bool:
        """Whether other work on the machine used half a core or more during the row."""
        m = self.measurement
        if m is None or not m.usage.wall:
            return False
        usage = m.usage
        return usage.percent(usage.machine - usage.server - usage.tool) >= NOISY_PERCENT

    @property
    def rate(self) -> float | None:
        return self.measurement.rate if self.measurement else None


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.0f} %" if value < 10 else f"{value:.1f}×"


def _met(check: Check) -> str:
    return {True: "**met**", False: "**missed**", None: "not evaluated"}[check.met]


def _measurement_cells(row: Row) -> list[str]:
    m = row.measurement
    if m is None:
        return [row.clients or "—", "—", "—", "—", "—", "—"]
    errors = str(m.errors) if m.errors == 0 else f"**{m.errors}**"
    noisy = " †" if row.noisy else ""
    return [
        row.clients or str(m.clients),
        f"{m.seconds:.1f}",
        f"{_num(m.rate)} {row.unit}{noisy}",
        _num(m.p50_ms),
        _num(m.p99_ms),
        errors,
    ]


def _table(rows: Iterable[Row], with_checks: bool) -> list[str]:
    head = ["What", "DB", "clients", "s", "rate", "p50 ms", "p99 ms", "errors"]
    if with_checks:
        head += ["reference", "ref. rate", "ratio", "target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.what, row.database, *_measurement_cells(row)]
        if row.measurement is None and row.failure:
            short = row.failure if len(row.failure) <= 70 else row.failure[:67] + "…"
            cells[3] = f"did not run: {short} (see details)"
        checks = row.checks if with_checks else []
        if with_checks and not checks:
            checks = [Check(target="—")]
        for index, check in enumerate(checks or [None]):
            line = cells if index == 0 else ["″", "″", *["″"] * 6]
            if check is not None:
                line = [
                    *line,
                    check.reference or "—",
                    _num(check.reference_rate),
                    check.shown_ratio or _ratio(check.ratio),
                    check.target,
                    _met(check) if check.target != "—" else "—",
                ]
            lines.append("| " + " | ".join(line) + " |")
    return lines


LIMITS = Path(__file__).with_name("limits.md")


def render(
    path: Path,
    rows: list[Row],
    facts: dict[str, str],
    setup: list[str],
    definitions: list[str],
    complete: bool,
) -> None:
    """Write results.md; called after every row, so an interrupted run still reports."""
    shop_rows = [r for r in rows if not r.reference]
    references = [r for r in rows if r.reference]
    checks = [(row, c) for row in shop_rows for c in row.checks]
    met = sum(1 for _, c in checks if c.met)
    missed = [(row, c) for row, c in checks if c.met is False]
    unknown = [(row, c) for row, c in checks if c.met is None]
    out = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`). The machine is shared and noisy: read the",
        "**ratios** (each to a reference measured in the same run, on the same machine), not",
        "the absolute numbers.",
        "",
    ]
    if not complete:
        out += ["> **This run did not finish**: the rows below are those measured so far.", ""]
    out += ["## Machine and run", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in facts.items()]
    out += ["", *setup, ""]
    out += [
        "## Targets",
        "",
        f"{met} of {len(checks)} targets met, {len(missed)} missed, {len(unknown)} not evaluated.",
        "",
    ]
    for row, check in checks:
        verdict = {True: "met", False: "MISSED", None: "not evaluated"}[check.met]
        reason = f" — {check.why}" if check.why and check.met is not True else ""
        out.append(f"- **{verdict}**: {row.label}: {check.target}{reason}")
    if LIMITS.exists():  # what the profiles say about the missed targets, kept by hand
        out += ["", LIMITS.read_text().strip()]
    out += ["", "## The shop", ""]
    out += _table(shop_rows, with_checks=True)
    out += ["", "## The references (same run)", ""]
    out += _table(references, with_checks=False)
    out += [
        "",
        f"† other work on the machine (not the server, not the load tool) used {NOISY_PERCENT} %"
        " of a core or more during this row: its numbers, and ratios built on them, are less"
        " reliable (see the row's CPU line below).",
    ]
    out += ["", "## Details per row", ""]
    for row in rows:
        out.append(
            f"- **{row.label}**" + (f", {row.workers} server process(es)" if row.workers else "")
        )
        if row.failure:
            out.append(f"  - did not run: {row.failure}")
        for fact in row.facts:
            out.append(f"  - {fact}")
        if row.measurement and row.measurement.error_detail:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(row.measurement.error_detail.items()))
            out.append(f"  - errors: {detail}")
        if row.limit:
            out.append(f"  - limit: {row.limit}")
        for line in row.diagnosis:
            out.append(f"  - {line}")
        for note in row.measurement.notes if row.measurement else []:
            out.append(f"  - note: {note}")
    out += ["", "## How it is measured", "", *definitions, ""]
    path.write_text("\n".join(out))
