"""The one clock (SHOP_CLOCK) and settings from the environment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shop.clock import Clock, InvalidClock
from shop.settings import Settings


def test_shop_clock_freezes_now() -> None:
    clock = Clock.from_setting("2025-04-01T09:00:00+00:00", "Europe/Berlin")
    assert clock.now() == datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
    assert clock.now() == clock.now()


def test_r22_days_are_counted_in_the_shops_time_zone() -> None:
    late_evening_utc = Clock.from_setting("2025-03-31T23:30:00+00:00", "Europe/Berlin")
    assert late_evening_utc.today() == date(2025, 4, 1)  # already April in Berlin


def test_a_naive_clock_is_read_in_the_shops_time_zone() -> None:
    clock = Clock.from_setting("2025-01-01T00:30", "Europe/Berlin")
    assert clock.now() == datetime(2024, 12, 31, 23, 30, tzinfo=UTC)


def test_an_unreadable_clock_is_refused_clearly() -> None:
    with pytest.raises(InvalidClock, match="SHOP_CLOCK"):
        Clock.from_setting("next tuesday", "UTC")


def test_an_unfrozen_clock_runs() -> None:
    clock = Clock.from_setting(None, "UTC")
    assert clock.frozen_at is None
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SHOP_DATABASE_URL": "postgresql://x@h/db",
            "SHOP_CLOCK": "2025-04-01",
            "SHOP_SECRET_KEY": "s3cr3t-value",
            "SHOP_NAME": "Acme",
            "SHOP_SMTP_TIMEOUT": "2.5",
        }
    )
    assert settings.database_url == "postgresql://x@h/db"
    assert settings.clock == "2025-04-01"
    assert settings.secret_key == "s3cr3t-value"
    assert settings.shop_name == "Acme"
    assert settings.smtp_timeout == 2.5 and Settings.from_env({}).smtp_timeout == 30
    assert "s3cr3t-value" not in repr(settings)  # the secret stays out of logs
    assert Settings.from_env({}).database_url == "sqlite:///shop.db"


def test_settings_pass_to_another_process_through_the_environment() -> None:
    settings = Settings(
        database_url="postgresql://x@h/db",
        seller_address=("Hauptstraße 1", "10115 Berlin"),
        payments_test_mode=True,
        grace_days=3,
    )
    assert Settings.from_env(settings.to_env()) == settings
