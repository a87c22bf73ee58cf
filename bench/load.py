"""The load tools: wrk (with the Lua scripts in bench/wrk/) and locust (bench/locust/).

Each run gives a Measurement: how many units (requests, journeys, deliveries) were answered
well per second, their latency, and every error counted (answers other than 2xx/3xx,
refused or broken connections, timeouts). Every run is bounded in time: a server that
never answers gives a row of zeros and errors, never a hung benchmark.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WRK_DIR = HERE / "wrk"
LOCUSTFILE = HERE / "locust" / "journeys.py"
REQUEST_TIMEOUT_S = 10  # an answer slower than this counts as an error ("late")


@dataclass
class Usage:
    """CPU seconds used during a measurement: the server, the load tool, the whole machine."""

    wall: float = 0.0
    server: float = 0.0
    tool: float = 0.0
    machine: float = 0.0

    def percent(self, seconds: float) -> float:
        return 100.0 * seconds / self.wall if self.wall else 0.0


@dataclass
class Measurement:
    tool: str
    clients: int
    seconds: float  # the measured window
    ok: int  # units answered well (2xx/3xx; a whole journey)
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    error_detail: dict[str, int] = field(default_factory=dict)
    samples: list[Any] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(server_cpu: Callable[[], float], run: Callable[[], Measurement]) -> Measurement:
    """Run a load tool and note who used the CPU meanwhile (the tool is a waited child)."""
    before = (time.monotonic(), server_cpu(), _children_cpu(), machine_busy_seconds())
    measurement = run()
    after = (time.monotonic(), server_cpu(), _children_cpu(), machine_busy_seconds())
    measurement.usage = Usage(*(b - a for a, b in zip(before, after, strict=True)))
    return measurement


def _ok(status: str) -> bool:
    return status.isdigit() and 200 <= int(status) < 400


def run_wrk(
    url: str,
    script: str,
    clients: int,
    seconds: float,
    args: list[str] | None = None,
    stop_when: Callable[[], bool] | None = None,
    use_active_time: bool = False,
) -> Measurement:
    """wrk for ``seconds`` with bench/wrk/<script>.lua; its done() prints BENCH_JSON.

    ``stop_when`` ends the run early (SIGINT: wrk stops and reports) once it returns True;
    ``use_active_time`` divides by the time from the first request to the last answer
    instead of wrk's whole duration (for runs with a fixed amount of work).
    """
    # One connection per thread: a thread then knows how long its request has waited, which
    # counts answers that never came (a stuck server) as errors, not as silence.
    argv = [
        "wrk",
        f"-t{clients}",
        f"-c{clients}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT_S}s",
        "-s",
        str(WRK_DIR / f"{script}.lua"),
        url,
    ]
    if args:
        argv += ["--", *args]
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), "BENCH_TIMEOUT_S": str(REQUEST_TIMEOUT_S)}
    out, err, notes = _run_bounded(argv, env, seconds + 30, stop_when)
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        return Measurement(
            "wrk", clients, seconds, 0, None, None, 1, {"wrk failed": 1}, notes=[*notes, err[-300:]]
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = data["statuses"] if isinstance(data["statuses"], dict) else {}
    errors = {s: n for s, n in statuses.items() if not _ok(s)}
    if "late" in errors:
        errors[f"answered after more than {REQUEST_TIMEOUT_S} s"] = errors.pop("late")
    for kind in ("connect", "read", "write"):
        if data["errors"].get(kind):
            errors[f"{kind} errors"] = data["errors"][kind]
    if data.get("unanswered"):
        errors["no answer by the end of the run"] = data["unanswered"]
    ok = sum(n for s, n in statuses.items() if _ok(s))
    window = (data["active_us"] if use_active_time else data["duration_us"]) / 1e6
    latency = data["latency_us"] if isinstance(data["latency_us"], dict) else {}
    return Measurement(
        "wrk",
        clients,
        window,
        ok,
        latency["p50"] / 1000 if "p50" in latency else None,
        latency["p99"] / 1000 if "p99" in latency else None,
        sum(errors.values()),
        errors,
        samples=data["samples"],
        notes=notes,
    )


def _run_bounded(
    argv: list[str], env: dict[str, str], limit: float, stop_when: Callable[[], bool] | None
) -> tuple[str, str, list[str]]:
    """Run wrk, SIGINT it early when ``stop_when()`` or after ``limit`` s (it then reports),
    kill it if even that fails; its stdout, stderr and what went wrong."""
    notes = []
    # Files, not pipes: done() may print more than a pipe holds while nobody reads it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + limit
        interrupted = False
        while process.poll() is None and time.monotonic() < deadline:
            if stop_when is not None and not interrupted and stop_when():
                process.send_signal(signal.SIGINT)
                interrupted = True
            time.sleep(0.1)
        if process.poll() is None:  # wrk itself stuck: ask it to report, then end it
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                notes.append("wrk did not stop and was killed")
        out.seek(0)
        err.seek(0)
        return out.read().decode(errors="replace"), err.read().decode(errors="replace"), notes


def run_locust(
    base_url: str,
    user_class: str,
    clients: int,
    warmup: float,
    seconds: float,
    out_dir: Path,
    locust: Path,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Locust journeys for ``warmup + seconds``; journeys that end in the last ``seconds``
    are the measurement (a journey is one unit: its time from first request to last answer)."""
    out = out_dir / f"journeys-{user_class}.json"
    out.unlink(missing_ok=True)
    total = warmup + seconds
    argv = [
        str(locust),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(clients),
        "--spawn-rate",
        str(clients),
        "--run-time",
        f"{max(1, round(total))}s",
        "--host",
        base_url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    run_env = {**os.environ, **(env or {}), "BENCH_JOURNEY_OUT": str(out)}
    log = out_dir / f"locust-{user_class}.log"
    notes = []
    with log.open("wb") as sink:
        try:
            subprocess.run(argv, env=run_env, stdout=sink, stderr=sink, timeout=total + 60)
        except subprocess.TimeoutExpired:
            notes.append("locust did not stop in time and was killed")
    if not out.exists():
        return Measurement(
            "locust", clients, seconds, 0, None, None, 1, {"locust failed": 1}, notes=notes
        )
    data = json.loads(out.read_text())
    start, end = warmup, warmup + seconds
    window = [j for j in data["journeys"] if start <= j["end"] < end]
    good = sorted(j["end"] - j["start"] for j in window if j["ok"])
    errors: dict[str, int] = {}
    for journey in window:
        if not journey["ok"]:
            errors[journey["why"]] = errors.get(journey["why"], 0) + 1
    # Journeys cut off by the end of the run: those whose request had waited long for its
    # answer are errors (a stuck server answers nothing, so nothing else would show it).
    patience = min(REQUEST_TIMEOUT_S, seconds / 2)
    stuck = [sent for sent in data.get("unfinished", []) if end - sent > patience]
    if stuck:
        errors["no answer by the end of the run"] = len(stuck)
    if len(data.get("unfinished", [])) > len(stuck):
        notes.append(f"{len(data['unfinished']) - len(stuck)} journeys under way at the end")
    if data["journeys"] and max(j["end"] for j in data["journeys"]) < end - 1:
        notes.append("no journey ended in the last second: the run stopped early or stalled")
    return Measurement(
        "locust",
        clients,
        seconds,
        len(good),
        _percentile(good, 50) * 1000 if good else None,
        _percentile(good, 99) * 1000 if good else None,
        sum(errors.values()),
        errors,
        notes=notes,
    )


def _percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of an ascending list."""
    rank = max(1, round(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
