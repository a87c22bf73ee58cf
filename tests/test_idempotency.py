"""``Idempotency-Key`` (API.md, any POST): the same key and body replay the first answer,
another body is 422, and a twin sent at the same moment waits for the first and replays
its answer instead of ordering twice; on SQLite and PostgreSQL.

The functions run in the caller's transaction, as the request's ``@transaction`` wrapper
will call them: ``claim`` first, ``remember`` before the commit.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop.cli import main
from shop.db import make_engine, session_scope
from shop.errors import ShopError
from shop.i18n import Translator
from shop.orders.models import IdempotencyKey
from shop.settings import Settings
from shop.web.idempotency import (
    StoredAnswer,
    body_fingerprint,
    claim,
    purge_expired,
    remember,
    scope_of,
)

NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
KEY = "5f1c9a0e-order-retry"
SCOPE = scope_of("POST", "/api/v1/orders")
BODY = b'{"email": "ana@example.com", "items": [{"sku": "base-yearly", "quantity": 1}]}'
OTHER_BODY = b'{"email": "ana@example.com", "items": [{"sku": "base-yearly", "quantity": 2}]}'
ANSWER = {"order": {"number": 7, "total": {"amount": Decimal("490.00"), "currency": "EUR"}}}
ANSWER_JSON = {"order": {"number": 7, "total": {"amount": "490.00", "currency": "EUR"}}}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def first_request(engine: Engine, key: str = KEY, body: bytes = BODY, at: datetime = NOW) -> None:
    """A request that claims ``key``, answers 201 and commits."""
    with session_scope(engine) as session:
        assert claim(session, key, SCOPE, body_fingerprint(body), at) is None
        remember(session, key, SCOPE, 201, ANSWER)


def retry(
    engine: Engine, key: str = KEY, body: bytes = BODY, at: datetime = NOW, scope: str = SCOPE
) -> StoredAnswer | None:
    with session_scope(engine) as session:
        return claim(session, key, scope, body_fingerprint(body), at)


def stored_keys(engine: Engine) -> list[tuple[str, str, int | None, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(IdempotencyKey).order_by(IdempotencyKey.id)).all()
        return [(row.scope, row.key, row.status, row.body) for row in rows]


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer(engine: Engine) -> None:
    first_request(engine)
    assert retry(engine, at=NOW + timedelta(hours=1)) == StoredAnswer(201, ANSWER_JSON)
    assert retry(engine, at=NOW + timedelta(hours=2)) == StoredAnswer(201, ANSWER_JSON)
    assert stored_keys(engine) == [(SCOPE, KEY, 201, ANSWER_JSON)]


def test_the_routes_default_status_is_kept_as_none(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert claim(session, KEY, SCOPE, body_fingerprint(b""), NOW) is None
        remember(session, KEY, SCOPE, None, {"ok": True})
    assert retry(engine, body=b"") == StoredAnswer(None, {"ok": True})


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(engine: Engine) -> None:
    first_request(engine)
    with pytest.raises(ShopError) as refused:
        retry(engine, body=OTHER_BODY)
    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")
    assert refused.value.field == "Idempotency-Key"
    assert retry(engine) == StoredAnswer(201, ANSWER_JSON)  # the first answer still stands


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_the_refusals_are_translated(engine: Engine, lang: str) -> None:
    t = Translator.for_locale(Settings().locales_dir, lang)
    first_request(engine)
    refusals = []
    for key, body in ((KEY, OTHER_BODY), ("", BODY)):
        with pytest.raises(ShopError) as refused:
            retry(engine, key=key, body=body)
        refusals.append(refused.value)
    for error in refusals:
        assert t.gettext(error.title) != error.title
        assert t.gettext(error.detail) != error.detail


def test_a_key_is_unique_per_path_and_per_operator(engine: Engine) -> None:
    first_request(engine)
    trials = scope_of("POST", "/api/v1/trials")
    assert retry(engine, body=OTHER_BODY, scope=trials) is None
    alice = scope_of("POST", "/api/v1/admin/orders/1/payments", "alice")
    bob = scope_of("POST", "/api/v1/admin/orders/1/payments", "bob")
    assert retry(engine, scope=alice) is None
    assert retry(engine, scope=bob) is None  # bob never sees alice's answer
    assert len(stored_keys(engine)) == 4


def test_a_request_that_failed_leaves_its_key_free(engine: Engine) -> None:
    """The handler raised, the transaction rolled back: nothing was ordered, so the retry
    runs afresh (and is not told "already used")."""
    with pytest.raises(ShopError), session_scope(engine) as session:
        assert claim(session, KEY, SCOPE, body_fingerprint(BODY), NOW) is None
        raise ShopError(409, "licence_exists", "taken")
    assert stored_keys(engine) == []
    assert retry(engine, body=OTHER_BODY) is None


def test_keys_are_forgotten_after_24_hours_by_the_shops_clock(engine: Engine) -> None:
    first_request(engine)
    almost = NOW + timedelta(hours=23, minutes=59)
    assert retry(engine, at=almost) == StoredAnswer(201, ANSWER_JSON)
    # A day later the key is new again, even with another body.
    day_later = NOW + timedelta(hours=24)
    with session_scope(engine) as session:
        assert claim(session, KEY, SCOPE, body_fingerprint(OTHER_BODY), day_later) is None
        remember(session, KEY, SCOPE, 200, {"second": True})
    assert stored_keys(engine) == [(SCOPE, KEY, 200, {"second": True})]


def test_purge_removes_only_keys_older_than_24_hours(engine: Engine) -> None:
    first_request(engine, key="old", at=NOW - timedelta(hours=25))
    first_request(engine, key="fresh", at=NOW - timedelta(hours=1))
    with session_scope(engine) as session:
        assert purge_expired(session, NOW) == 1
    assert [key for _, key, _, _ in stored_keys(engine)] == ["fresh"]


@pytest.mark.parametrize("bad", ["", "x" * 256, "clé", "line\nbreak", "tab\tkey"])
def test_a_malformed_key_is_a_validation_error_on_the_header(engine: Engine, bad: str) -> None:
    with pytest.raises(ShopError) as refused:
        retry(engine, key=bad)
    assert (refused.value.status, refused.value.code) == (422, "validation_error")
    assert refused.value.field == "Idempotency-Key"
    assert stored_keys(engine) == []


@pytest.mark.parametrize(
    "good", ["k", "x" * 255, "a b ~!{}", "550e8400-e29b-41d4-a716-446655440000"]
)
def test_printable_ascii_keys_up_to_255_characters_are_taken(engine: Engine, good: str) -> None:
    first_request(engine, key=good)
    assert retry(engine, key=good) == StoredAnswer(201, ANSWER_JSON)


# Two requests with one key at the same moment ------------------------------------------


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll another thread's state (not the clock's business: no shop logic waits here)."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.01)


def blocked_in_the_database(engine: Engine, thread: threading.Thread) -> Callable[[], bool]:
    """Whether ``thread`` waits for the other transaction: on PostgreSQL a backend waiting
    for a lock; on SQLite the thread inside its BEGIN IMMEDIATE (the one writer at a time)."""
    if engine.dialect.name == "postgresql":

        def waiting() -> bool:
            with engine.connect() as connection:
                count = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                return bool(count)

        return waiting

    def in_begin() -> bool:
        frame = sys._current_frames().get(thread.ident or -1)
        while frame is not None:
            code = frame.f_code
            if code.co_name == "begin" and code.co_filename.endswith(os.path.join("shop", "db.py")):
                return True
            frame = frame.f_back
        return False

    return in_begin


def twins(engine: Engine, first_commits: bool) -> tuple[StoredAnswer | None, StoredAnswer | None]:
    """The first request claims the key and holds its transaction open; the twin claims
    the same key meanwhile and must wait; then the first commits (or fails)."""
    claimed, finish = threading.Event(), threading.Event()
    twin_thread: list[threading.Thread] = []

    def first() -> StoredAnswer | None:
        with session_scope(engine) as session:
            answer = claim(session, KEY, SCOPE, body_fingerprint(BODY), NOW)
            claimed.set()
            assert finish.wait(30)
            if not first_commits:
                raise RuntimeError("the worker failed before answering")
            remember(session, KEY, SCOPE, 201, ANSWER)
            return answer

    def twin() -> StoredAnswer | None:
        twin_thread.append(threading.current_thread())
        assert claimed.wait(30)
        with session_scope(engine) as session:
            answer = claim(session, KEY, SCOPE, body_fingerprint(BODY), NOW)
            if answer is None:
                remember(session, KEY, SCOPE, 201, {"order": "the twin's"})
            return answer

    with ThreadPoolExecutor(max_workers=2) as pool:
        first_result = pool.submit(first)
        twin_result = pool.submit(twin)
        wait_until(lambda: bool(twin_thread), "the twin runs")
        wait_until(blocked_in_the_database(engine, twin_thread[0]), "the twin waits")
        finish.set()
        if first_commits:
            return first_result.result(), twin_result.result()
        with pytest.raises(RuntimeError):
            first_result.result()
        return None, twin_result.result()


def test_a_concurrent_twin_waits_for_the_first_and_replays_its_answer(engine: Engine) -> None:
    first, twin = twins(engine, first_commits=True)
    assert first is None
    assert twin == StoredAnswer(201, ANSWER_JSON)
    assert stored_keys(engine) == [(SCOPE, KEY, 201, ANSWER_JSON)]  # one row, one answer


def test_when_the_first_fails_its_waiting_twin_goes_ahead_as_the_first(engine: Engine) -> None:
    _, twin = twins(engine, first_commits=False)
    assert twin is None
    assert stored_keys(engine) == [(SCOPE, KEY, 201, {"order": "the twin's"})]


def test_remembering_an_unclaimed_key_fails_loudly(engine: Engine) -> None:
    """``remember`` without ``claim`` is a wiring mistake: it fails loudly."""
    with pytest.raises(LookupError), session_scope(engine) as session:
        remember(session, KEY, SCOPE, 201, ANSWER)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(IdempotencyKey)).one() == 0


def test_shop_jobs_run_forgets_the_keys_older_than_a_day(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    first_request(engine, key="yesterday", at=NOW - timedelta(hours=30))
    first_request(engine, key="this morning", at=NOW - timedelta(hours=3))
    env = {
        "SHOP_DATABASE_URL": database_url,
        "SHOP_CLOCK": NOW.isoformat(),
        "SHOP_LICENCE_KEY_FILE": str(tmp_path / "key.pem"),
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "forgot 1 idempotency key(s)" in result.output
    assert [key for _, key, _, _ in stored_keys(engine)] == ["this morning"]
