"""After commit, each committed event goes to the enabled plugins' ``shop_event`` hook.

In-process and best effort: a plugin's exception is logged and stops neither the other
plugins nor the request, job or webhook whose transaction committed. What must reach the
outside world for sure is delivered from a durable outbox instead (``webhooks_out``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from shop.jobs.retry import StillBusy
from shop.plugins import events as shop_events
from shop.plugins.context import HookContext
from shop.plugins.events import Event
from shop.plugins.jobs import JobContext
from shop.plugins.manager import EnabledPlugins

log = logging.getLogger("shop")


def call_shop_event(enabled: EnabledPlugins, context: HookContext, event: Event) -> int:
    """Call every enabled plugin's ``shop_event`` with ``event``; how many failed."""
    failed = 0
    arguments = {"context": context, "event": event}
    for impl in enabled.hookimpls("shop_event"):
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception:
            failed += 1
            log.exception(
                "plugin %s failed on event %s (%s)", impl.plugin_name, event.id, event.type
            )
    return failed


def tell_plugins(
    engine: Engine, enabled_now: Callable[[], EnabledPlugins], context: HookContext
) -> None:
    """Bind ``engine``: after each commit through it, its events go to the plugins enabled
    then (``enabled_now`` reads that state in a session of its own; after commit the
    committing session has none to lend)."""

    def tell(committed: list[Event]) -> None:
        enabled = enabled_now()
        for event in committed:
            call_shop_event(enabled, context, event)

    shop_events.listen(engine, tell)


def run_plugin_jobs(enabled: EnabledPlugins, context: JobContext) -> list[str]:
    """Each enabled plugin's ``shop_jobs``, one after another; the lines of their reports.
    A plugin that fails is reported and logged, and the others still run."""
    lines = []
    for impl in enabled.hookimpls("shop_jobs"):
        try:
            line = impl.function(**{name: context for name in impl.argnames})
        except StillBusy:
            raise  # the core's own answer to a busy database: run again later
        except Exception as error:
            log.exception("plugin %s failed in shop jobs run", impl.plugin_name)
            line = f"{impl.plugin_name}: failed ({type(error).__name__}: {error})"
        if line:
            lines.append(str(line))
    return lines
