"""Outgoing webhooks: lifecycle events POSTed, signed, to the endpoints operators register.

Endpoints and deliveries are this plugin's own tables (``migrations/``). Each stored event
(``shop.plugins.events``) an endpoint subscribed to is delivered from a durable outbox by
``shop jobs run``, at least once, with backoff, signed ``Shop-Signature: t=…,v1=…`` like
Stripe's (``signature``); the operator API lists the delivery log and replays
(``api``), and ``shop webhooks replay EVENT_ID`` does so from the command line.
"""

from __future__ import annotations

from typing import Any

import click

from shop.plugins.hookspecs import hookimpl
from shop.plugins.jobs import JobContext
from shop.plugins.webhooks_out import models  # noqa: F401  (its tables)
from shop.plugins.webhooks_out.delivery import deliver_due, replay_event


@hookimpl
def shop_routes() -> list[Any]:
    from shop.plugins.webhooks_out.api import webhooks_router

    return [webhooks_router]


@hookimpl
def shop_jobs(context: JobContext) -> str | None:
    """Deliver what is due; one line for the report of ``shop jobs run``."""
    report = deliver_due(context.retry, context.clock.now)
    return report.line()


@hookimpl
def shop_commands(cli: click.Group) -> None:
    @cli.group()
    def webhooks() -> None:
        """Outgoing webhooks (plugin webhooks_out)."""

    @webhooks.command("replay")
    @click.argument("event_id")
    def webhooks_replay(event_id: str) -> None:
        """Send EVENT_ID again to every endpoint it went to, at the next `shop jobs run`."""
        from shop.cli import _clock, _settings
        from shop.db import make_engine, session_scope

        settings = _settings()
        engine = make_engine(settings.database_url)
        try:
            with session_scope(engine) as session:
                count = replay_event(session, event_id, _clock(settings).now())
        finally:
            engine.dispose()
        if not count:
            raise click.ClickException(f"no delivery of the event {event_id!r}")
        click.echo(f"{count} delivery(ies) of {event_id} will be sent at the next jobs run.")
