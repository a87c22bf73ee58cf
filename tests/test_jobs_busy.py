"""A job runner that meets a busy SQLite database rolls its batch back, pauses and does it
again, instead of failing; it gives up only when nobody gets anything done.

The lock is held by a third connection (``sqlite3``, ``BEGIN IMMEDIATE``) and released from
the runner's own report of a retry, so nothing here waits for a guessed amount of time."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from test_renewals_parallel import SHOP, assert_renewed_once, renewed_by, runner_env

from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.jobs.retry import BusyRetry, Patience, Retrying, StillBusy
from shop.orders.numbers import next_numbers
from shop.settings import Settings

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


class WriteLock:
    """SQLite's write lock, held by a connection of its own until released."""

    def __init__(self, url: str) -> None:
        self.connection = sqlite3.connect(sqlite_path(url), isolation_level=None)
        self.connection.execute("CREATE TABLE IF NOT EXISTS work_done (n INTEGER)")
        self.connection.execute("BEGIN IMMEDIATE")

    def commit_and_take_again(self) -> None:
        """Get something done (a commit other connections can see) and hold on again."""
        self.connection.execute("INSERT INTO work_done VALUES (1)")
        self.connection.execute("COMMIT")
        self.connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.release()
        self.connection.close()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, wait_seconds=0.05)  # each try fails fast while locked
    yield engine
    engine.dispose()


@pytest.fixture
def lock(database_url: str) -> Iterator[WriteLock]:
    held = WriteLock(database_url)
    yield held
    held.close()


def last_number(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT last FROM number_sequence WHERE name = 'order'")
            ).scalar_one()
        )


@sqlite_only
def test_a_batch_that_meets_the_lock_is_done_again_once_it_is_free(
    engine: Engine, lock: WriteLock
) -> None:
    reports: list[Retrying] = []

    def on_retry(retrying: Retrying) -> None:
        reports.append(retrying)
        lock.release()

    retry = BusyRetry(engine, on_retry=on_retry, sleep=lambda seconds: None)
    numbers = retry(lambda session: list(next_numbers(session, 3)))
    assert numbers == [1, 2, 3]
    assert last_number(engine) == 3  # done once
    assert [r.attempt for r in reports] == [1]
    assert "database is locked" in reports[0].describe()


@sqlite_only
def test_a_try_that_fails_half_way_leaves_nothing_behind(engine: Engine, database_url: str) -> None:
    tries: list[list[int]] = []

    def work(session: Session) -> list[int]:
        numbers = list(next_numbers(session, 3))
        tries.append(numbers)
        if len(tries) == 1:  # a write this try cannot make: another connection is busy
            with other.begin() as connection:
                connection.execute(text("UPDATE number_sequence SET last = last"))
        return numbers

    other = make_engine(database_url, wait_seconds=0.05)  # a second writer, this try's lock
    retry = BusyRetry(engine, sleep=lambda seconds: None)
    assert retry(work) == [1, 2, 3]
    other.dispose()
    assert tries == [[1, 2, 3], [1, 2, 3]]  # the failed try's numbers came back (R8)
    assert last_number(engine) == 3


@sqlite_only
def test_a_runner_gives_up_when_nobody_gets_anything_done(engine: Engine, lock: WriteLock) -> None:
    pauses: list[float] = []
    retry = BusyRetry(engine, Patience(attempts=3), sleep=pauses.append, jitter=lambda: 0.0)
    with pytest.raises(StillBusy, match="3 tries"):
        retry(lambda session: list(next_numbers(session, 1)))
    assert pauses == [0.125, 0.25]  # doubling, halved by the (least) jitter
    lock.release()
    assert last_number(engine) == 0


@sqlite_only
def test_a_runner_keeps_queuing_while_other_connections_commit(
    engine: Engine, lock: WriteLock
) -> None:
    """Behind busy peers a runner waits longer than its patience: it is not stuck."""
    waited: list[float] = []

    def pause(seconds: float) -> None:
        waited.append(seconds)
        if len(waited) < 6:
            lock.commit_and_take_again()
        else:
            lock.release()

    retry = BusyRetry(engine, Patience(attempts=2), sleep=pause)
    assert retry(lambda session: list(next_numbers(session, 1))) == [1]
    assert len(waited) == 6  # three times its patience, and never gave up


@sqlite_only
def test_an_error_that_is_not_about_a_busy_database_is_not_retried(engine: Engine) -> None:
    retries: list[Retrying] = []
    retry = BusyRetry(engine, on_retry=retries.append, sleep=lambda seconds: None)
    with pytest.raises(OperationalError, match="no such table"):
        retry(lambda session: session.execute(text("SELECT * FROM no_such_table")))
    assert retries == []


@sqlite_only
def test_two_runners_wait_out_a_held_write_lock_and_renew_everything_once(
    seeded: Settings,
) -> None:
    subscriptions = 200
    engine = make_engine(seeded.database_url)
    insert_due_subscriptions(engine, subscriptions)
    lock = WriteLock(seeded.database_url)
    env = runner_env(seeded, SHOP_JOBS_LOCK_WAIT="2")
    runners = [
        subprocess.Popen(
            [str(SHOP), "jobs", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outputs: list[list[str]] = [[] for _ in runners]
    retried, heard = threading.Event(), threading.Event()  # heard: a retry, or an end

    def read(runner: subprocess.Popen[str], lines: list[str]) -> None:
        assert runner.stdout is not None
        for line in runner.stdout:
            lines.append(line)
            if "database busy" in line:
                retried.set()
                heard.set()
        heard.set()

    readers = [
        threading.Thread(target=read, args=(runner, lines), daemon=True)
        for runner, lines in zip(runners, outputs, strict=True)
    ]
    for reader in readers:
        reader.start()
    try:
        assert heard.wait(timeout=120), "the runners neither retried nor ended"
        assert retried.is_set(), f"a runner ended without retrying: {outputs}"
        lock.release()
        for runner in runners:
            runner.wait(timeout=600)
        for reader in readers:
            reader.join(timeout=60)
        texts = ["".join(lines) for lines in outputs]
        assert [runner.returncode for runner in runners] == [0, 0], texts
        assert sum(renewed_by(output) for output in texts) == subscriptions
        assert_renewed_once(engine, subscriptions)
    finally:
        lock.close()
        for runner in runners:
            if runner.poll() is None:
                runner.kill()
        engine.dispose()
