"""Operator tokens live for a while (``--days``, SHOP_API_TOKEN_DAYS) and can be revoked;
an expired or revoked token is refused exactly like a wrong one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from click.testing import CliRunner
from litestar.testing import TestClient

from shop.app import create_app
from shop.cli import main
from shop.settings import Settings


def env(settings: Settings, clock: str | None = None) -> dict[str, str]:
    return {
        "SHOP_DATABASE_URL": settings.database_url,
        "SHOP_CLOCK": clock or settings.clock or "",
        "SHOP_LICENCE_SIGNING_KEY": settings.licence_signing_key or "",
    }


def shop_command(settings: Settings, *args: str, clock: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env(settings, clock), catch_exceptions=False)


def plugins_call(settings: Settings, token: str, clock: str | None = None) -> Any:
    at = replace(settings, clock=clock) if clock else settings
    with TestClient(app=create_app(at)) as client:
        return client.get(
            "/api/v1/admin/plugins?lang=de", headers={"Authorization": f"Bearer {token}"}
        )


def test_a_token_expires_after_its_days_like_a_wrong_one(seeded: Settings) -> None:
    made = shop_command(seeded, "admin", "token", "alice", "--days", "2")
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert plugins_call(seeded, token).status_code == 200
    assert plugins_call(seeded, token, "2025-04-03T08:59:00+00:00").status_code == 200
    expired = plugins_call(seeded, token, "2025-04-03T09:00:00+00:00")
    wrong = plugins_call(seeded, "shop_wrong", "2025-04-03T09:00:00+00:00")
    assert expired.status_code == wrong.status_code == 401
    assert expired.json() == wrong.json()
    assert expired.json()["code"] == "unauthorized"


def test_a_token_lasts_the_settings_default_of_365_days(seeded: Settings) -> None:
    token = shop_command(seeded, "admin", "token", "bob").output.strip()
    assert plugins_call(seeded, token, "2026-03-31T09:00:00+00:00").status_code == 200
    assert plugins_call(seeded, token, "2026-04-01T09:00:00+00:00").status_code == 401
    listed = shop_command(seeded, "admin", "tokens", "list").output
    assert "bob" in listed and "2026-04-01T09:00:00+00:00" in listed


def test_tokens_are_listed_with_their_last_use_and_revoked_by_name_or_id(
    seeded: Settings,
) -> None:
    alice = shop_command(seeded, "admin", "token", "alice").output.strip()
    carol = shop_command(seeded, "admin", "token", "carol", "--days", "30").output.strip()
    assert plugins_call(seeded, alice, "2025-04-02T10:00:00+00:00").status_code == 200
    lines = shop_command(seeded, "admin", "tokens", "list").output.splitlines()
    assert lines[0].split("\t") == ["id", "name", "created", "last used", "expires", "state"]
    rows = {line.split("\t")[1]: line.split("\t") for line in lines[1:]}
    assert rows["alice"][2] == "2025-04-01T09:00:00+00:00"
    assert rows["alice"][3] == "2025-04-02T10:00:00+00:00"  # used, read-only call included
    assert rows["carol"][3] == "-" and rows["carol"][4] == "2025-05-01T09:00:00+00:00"
    assert rows["carol"][5] == "valid"

    revoked = shop_command(seeded, "admin", "tokens", "revoke", "alice")
    assert revoked.exit_code == 0 and "revoked token" in revoked.output
    assert plugins_call(seeded, alice).status_code == 401
    assert plugins_call(seeded, carol).status_code == 200
    by_id = shop_command(seeded, "admin", "tokens", "revoke", rows["carol"][0])
    assert by_id.exit_code == 0
    assert plugins_call(seeded, carol).status_code == 401
    after = shop_command(seeded, "admin", "tokens", "list").output
    assert after.count("\trevoked") == 2
    unknown = CliRunner().invoke(main, ["admin", "tokens", "revoke", "nobody"], env=env(seeded))
    assert unknown.exit_code == 1 and "no valid token" in unknown.output


def test_a_revoked_token_cannot_write_either(seeded: Settings) -> None:
    token = shop_command(seeded, "admin", "token", "dave").output.strip()
    shop_command(seeded, "admin", "tokens", "revoke", "dave")
    with TestClient(app=create_app(seeded)) as client:
        answer = client.patch(
            "/api/v1/admin/plugins/usd",
            json={"enabled": False},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 401
