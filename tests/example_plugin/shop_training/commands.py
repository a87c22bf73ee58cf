"""``shop training …``: the operator schedules course dates from the command line."""

from __future__ import annotations

from datetime import date

import click

from shop.db import make_engine, session_scope
from shop.settings import Settings
from shop_training.models import add_session, upcoming
from shop_training.pricing import COURSE_SKUS


@click.group("training")
def training() -> None:
    """Training courses: the dates they run on."""


@training.command("add")
@click.argument("starts_on", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--place", default="Online", show_default=True)
@click.option("--seats", default=6, show_default=True, type=click.IntRange(min=1))
@click.option("--sku", default=sorted(COURSE_SKUS)[0], show_default=True)
def add(starts_on: click.DateTime, place: str, seats: int, sku: str) -> None:
    """Schedule a course on STARTS_ON (YYYY-MM-DD)."""
    day = starts_on.date()  # type: ignore[attr-defined]
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        add_session(session, sku, day, place, seats)
    engine.dispose()
    click.echo(f"Scheduled {sku} on {day.isoformat()} ({place}, {seats} seats).")


@training.command("list")
def list_sessions() -> None:
    """The dates from today on."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    from shop.clock import Clock

    today: date = Clock.from_setting(settings.clock, settings.timezone).today()
    with session_scope(engine) as session:
        for s in upcoming(session, today):
            click.echo(f"{s.starts_on.isoformat()}  {s.sku}  {s.place}  {s.seats} seats")
    engine.dispose()
