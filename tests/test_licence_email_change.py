"""R2: a licence moves to another e-mail address; its key follows, R1 still holds."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.errors import ShopError
from shop.licences.email_change import change_licence_email
from shop.licences.keys import load_signing_key, verify_key
from shop.licences.models import Licence
from shop.licences.service import find_licence
from shop.settings import Settings


def _trial(client: TestClient[Any], email: str) -> None:
    answer = client.post("/api/v1/trials", json={"email": email, "sku": "cloud-starter"})
    assert answer.status_code == 201, answer.text


def test_r2_licence_moves_to_new_email_with_a_new_key(
    client: TestClient[Any], seeded: Settings
) -> None:
    _trial(client, "old@example.com")
    engine = make_engine(seeded.database_url)
    now = Clock.from_setting(seeded.clock, seeded.timezone).now()
    with session_scope(engine) as session:
        licence = find_licence(session, "old@example.com")
        assert licence is not None
        change_licence_email(session, licence, " New@Example.com ", settings=seeded, now=now)
    with session_scope(engine) as session:
        assert find_licence(session, "old@example.com") is None
        moved = find_licence(session, "new@example.com")
        assert moved is not None and moved.key is not None
        assert (
            verify_key(moved.key, load_signing_key(seeded).public_key()).email == "new@example.com"
        )
    engine.dispose()
    # The old address is free again (R1): it may start its own trial.
    _trial(client, "old@example.com")


def test_r2_r1_an_address_that_holds_a_licence_is_refused(
    client: TestClient[Any], seeded: Settings
) -> None:
    _trial(client, "a@example.com")
    _trial(client, "b@example.com")
    engine = make_engine(seeded.database_url)
    now = Clock.from_setting(seeded.clock, seeded.timezone).now()
    with session_scope(engine) as session:
        licence = find_licence(session, "a@example.com")
        assert licence is not None
        with pytest.raises(ShopError) as refused:
            change_licence_email(session, licence, "B@example.com", settings=seeded, now=now)
        assert refused.value.code == "licence_exists"
    with session_scope(engine) as session:
        emails = sorted(row.email for row in session.exec(select(Licence)).all())
    assert emails == ["a@example.com", "b@example.com"]
    engine.dispose()
