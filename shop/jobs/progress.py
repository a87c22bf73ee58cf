"""What a job step has done and how fast: a bar in a terminal, a line now and then in a log.

Rates are measured on the monotonic wall clock, not the shop's clock: the shop's clock may
be frozen (``SHOP_CLOCK``) while the work still takes real time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import click

LOG_EVERY = 5.0  # seconds between progress lines when the output is not a terminal


class Progress:
    """Counts a step's work (``advance``) out of ``total`` if known, and says how fast it
    went; as a context manager it ends with a summary line."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        echo: Callable[[str], None] = click.echo,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = LOG_EVERY,
    ) -> None:
        self.label, self.total, self.done = label, total, 0
        self._echo, self._clock, self._every = echo, clock, every
        self._started = self._logged = clock()
        self._finished: float | None = None
        terminal = sys.stdout.isatty() if terminal is None else terminal
        self._bar: Any = None
        if terminal and total:
            self._bar = click.progressbar(
                length=total,
                label=label,
                show_pos=True,
                item_show_func=lambda _item: self.rate_text(),
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, error, traceback)
        self._finished = self._clock()
        if kind is None:
            self._echo(self.summary())

    def advance(self, done: int) -> None:
        self.done += done
        if self._bar is not None:
            self._bar.update(done)
        elif self._clock() - self._logged >= self._every:
            self._logged = self._clock()
            self._echo(self.line())

    @property
    def seconds(self) -> float:
        end = self._finished if self._finished is not None else self._clock()
        return end - self._started

    @property
    def rate(self) -> float:
        """Work done per second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def rate_text(self) -> str:
        return f"{self.rate:,.0f}/s"

    def line(self) -> str:
        """Where the step stands, for a log: ``Renewals: 2,000/10,000 done, 950/s``."""
        of = f"/{self.total:,}" if self.total is not None else ""
        return f"{self.label}: {self.done:,}{of} done, {self.rate_text()}"

    def summary(self) -> str:
        return f"{self.label}: {self.done:,} done in {self.seconds:.1f} s ({self.rate_text()})"
