"""What limited a row, from facts gathered during it: who used the CPU, whether the server
still answers, and what its log says. Sentences for results.md, not a verdict by hand."""

from __future__ import annotations

import os
import re

from load import Measurement
from servers import Server

CORES = os.cpu_count() or 1
LOG_SIGNS = {
    "database is locked": re.compile(r"database is locked", re.I),
    "pool exhausted (QueuePool limit)": re.compile(r"QueuePool limit", re.I),
    "tracebacks": re.compile(r"^Traceback \(most recent call last\)", re.M),
    "5xx in the access log": re.compile(r'" 5\d\d '),
}


def first_exception(log: str) -> str | None:
    """The exception line that ends the first traceback in a log or a command's output."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            for later in lines[index + 1 :]:
                if later and not later.startswith((" ", "\t", "Traceback")):
                    return later.strip()[:200]
    return None


def explain(server: Server, m: Measurement, probe_path: str) -> tuple[str, list[str]]:
    """(the limit in one sentence, the facts behind it)."""
    usage = m.usage
    shop_cpu, tool_cpu = usage.percent(usage.server), usage.percent(usage.tool)
    busy = usage.percent(usage.machine)
    other = max(0.0, busy - shop_cpu - tool_cpu)
    facts = [
        f"CPU during the measured run (100 % = one core, {CORES} cores): {server.name} "
        f"{shop_cpu:.0f} %, load tool {tool_cpu:.0f} %, everything else on the machine "
        f"{other:.0f} %"
    ]
    answers = server.answers(probe_path)
    if not answers:
        facts.append(f"after the run, {server.name} no longer answered GET {probe_path} within 5 s")
    log = server.log_text()
    signs = {name: len(p.findall(log)) for name, p in LOG_SIGNS.items()}
    found = ", ".join(f"{name}: {n}" for name, n in signs.items() if n)
    if found:
        facts.append(f"server log: {found}")
    if (first := first_exception(log)) is not None:
        facts.append(f"first exception in the log: `{first}`")

    usable = 100.0 * min(server.workers, CORES)
    if m.ok == 0 and shop_cpu < 20:
        limit = (
            f"answered nothing in {m.seconds:.0f} s while using {shop_cpu:.0f} % CPU: it waits "
            "instead of working (a deadlock or an exhausted connection pool; see its log)"
        )
    elif m.ok == 0:
        limit = f"answered nothing in {m.seconds:.0f} s while busy ({shop_cpu:.0f} % CPU)"
    elif shop_cpu >= 0.8 * usable:
        limit = (
            f"CPU-bound: {server.name} used {shop_cpu:.0f} % CPU, about all that its "
            f"{server.workers} process(es) can use"
        )
    elif busy >= 0.9 * 100 * CORES:
        limit = (
            f"the machine was saturated ({busy:.0f} % of {100 * CORES} %): the server, the "
            "load tool and other work competed for the cores"
        )
    else:
        limit = (
            f"neither {server.name}'s processes ({shop_cpu:.0f} % CPU) nor the machine "
            f"({busy:.0f} %) were saturated: time goes to waiting (locks, pool, I/O)"
        )
    if not answers and m.ok:
        limit += "; it stopped answering by the end"
    return limit, facts
