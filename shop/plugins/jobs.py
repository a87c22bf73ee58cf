"""What a plugin's ``shop_jobs`` hook is given: the engine and how to run a transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from shop.clock import Clock
    from shop.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class JobContext:
    """``retry(work)`` runs ``work(session)`` in a transaction of its own and runs it again
    when the database was busy (``shop.jobs.retry``); keep each such transaction short and
    do slow work (HTTP calls) between them, never inside."""

    engine: Engine
    settings: Settings
    clock: Clock
    now: datetime
    retry: Callable[[Callable[[Session], Any]], Any]
