"""The plugin's own table: the dates its courses run on and the seats each has.

Declared with SQLModel like the core's tables; created by the revisions in ``migrations/``
(its own Alembic history, applied by ``shop db upgrade``)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, Session, SQLModel, col, select


class TrainingSession(SQLModel, table=True):
    __tablename__ = "training_session"

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, index=True)
    starts_on: date
    place: str = Field(max_length=100)  # "Online" or a city
    seats: int


def upcoming(session: Session, today: date) -> list[TrainingSession]:
    """The sessions from ``today`` on, soonest first."""
    query = (
        select(TrainingSession)
        .where(col(TrainingSession.starts_on) >= today)
        .order_by(col(TrainingSession.starts_on), col(TrainingSession.id))
    )
    return list(session.exec(query).all())


def add_session(session: Session, sku: str, starts_on: date, place: str, seats: int) -> None:
    session.add(TrainingSession(sku=sku, starts_on=starts_on, place=place, seats=seats))
    session.flush()
