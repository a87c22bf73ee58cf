"""Settings come from the environment (``SHOP_*``); nothing secret lives in the code."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _lines(value: str) -> tuple[str, ...]:
    """A multi-line setting: lines separated by "|" or newlines."""
    return tuple(part.strip() for part in value.replace("|", "\n").splitlines() if part.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///shop.db"
    clock: str | None = None
    timezone: str = "Europe/Berlin"
    # Signs sessions and CSRF tokens. Unset: made once and kept in ``secret_key_file``, so
    # every worker shares it and a restart keeps buyers' carts.
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: Path = Path("shop-secret-key")
    shop_name: str = "Licence Shop"
    default_locale: str = "en"
    locales_dir: Path = ROOT / "locales"
    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"
    debug: bool = False
    # Database connections per process, and as many threads to run handlers on; how long a
    # request waits for a connection or SQLite's write lock before it gets a 503.
    db_pool_size: int = 20
    db_wait_seconds: float = 10.0
    # The largest request body read (bytes); larger ones get a 413. An API body is a few
    # KB, a checkout form less; a megabyte leaves room without letting a client fill memory.
    max_body_bytes: int = 1_000_000
    # Ed25519 private key for licence keys (R6): base64 of the 32 raw bytes. Unset: a key
    # file in the working directory, created on first use (fine for a demo, not production).
    licence_signing_key: str | None = field(default=None, repr=False)
    licence_key_file: Path = Path("licence-signing-key.pem")
    smtp_url: str | None = None  # smtp://host:port; unset: e-mails stay in the outbox
    smtp_timeout: float = 30.0  # seconds a mail server may take for each reply
    mail_from: str = "shop@example.com"
    public_url: str = "http://127.0.0.1:8000"  # links in e-mails and documents
    # Session and CSRF cookies only over TLS; unset: when public_url is https://.
    cookie_secure: bool | None = None
    grace_days: int = 14  # an unpaid renewal expires the subscription after this (R21)
    api_token_days: int = 365  # an operator token made by `shop admin token` expires then
    order_link_days: int = 90  # an order's mailed link works this long after it closed
    link_hours: int = 24  # a link mailed to an address (trial, release) works this long, once
    login_link_minutes: int = 30  # a customer's login link works this long, once (R35)
    # Seconds a `shop jobs run` waits for SQLite's write lock before it rolls its batch
    # back, pauses and tries again (shop.jobs.retry).
    jobs_lock_wait: float = 10.0
    # Subscriptions per renewal batch of `shop jobs run`; unset: the measured default.
    jobs_batch: int | None = None
    # The seller as printed on quotes and invoices, and the offline payment details (R12).
    seller_name: str = "Licence Shop GmbH"
    seller_address: tuple[str, ...] = ("Musterstraße 1", "10115 Berlin")
    # ISO 3166 code: printed in the document's language, the e-invoice's seller country (BT-40)
    seller_country: str = "DE"
    seller_tax_number: str | None = "DE123456788"
    bank_account_holder: str = "Licence Shop GmbH"
    bank_iban: str = "DE02 1203 0000 0000 2020 51"
    bank_bic: str = "BYLADEM1001"
    bank_name: str = "Deutsche Kreditbank Berlin"
    cheque_payee: str = "Licence Shop GmbH"
    # Test mode: card and PayPal go to fake providers, a banner shows on every page, and
    # licence keys are test keys (``shop.licences.keys``). Set by ``shop serve
    # --test-payments`` and kept in the database (``shop.payments.testmode``).
    payments_test_mode: bool = False
    # Rate limits on links by e-mail, operator login, trials and checkout
    # (``shop.web.rate_limits``): e.g. "checkout=off, trial=3/hour"; unset: the defaults.
    rate_limits: str = ""
    # Licence files of activations (issue 14): the software checks in within this many
    # days for a fresh file; past that (or a subscription's paid period) it keeps working
    # for the grace days, with a warning.
    activation_check_in_days: int = 30
    activation_grace_days: int = 14
    # Each plugin's own settings (``shop.plugins.settings``), bound at start by
    # ``Plugins.configure``: plugin name -> setting name -> value.
    plugin_values: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    # The plugins' ``locales`` and ``templates`` folders, looked at before the core's.
    plugin_locales: tuple[Path, ...] = field(default=(), compare=False, repr=False)
    plugin_templates: tuple[Path, ...] = field(default=(), compare=False, repr=False)

    def plugin(self, name: str) -> Mapping[str, Any]:
        """The settings plugin ``name`` declared, with their values (empty if none)."""
        return self.plugin_values.get(name, {})

    def with_plugin_values(self, values: Mapping[str, Mapping[str, Any]]) -> Settings:
        """These settings with some plugins' values set (the others' kept), e.g. the fake
        providers' keys in test mode."""
        merged = {name: dict(own) for name, own in self.plugin_values.items()}
        for name, own in values.items():
            merged[name] = {**merged.get(name, {}), **own}
        return replace(self, plugin_values=merged)

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry ``Secure``: browsers then send them over HTTPS only."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for variable, (name, convert) in ENVIRONMENT.items():
            if raw := env.get(variable):
                values[name] = convert(raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``SHOP_*`` variables that give another process these settings (those that
        differ from the defaults), e.g. the workers of ``shop serve --workers``."""
        defaults = Settings()
        env = {}
        for variable, (name, _convert) in ENVIRONMENT.items():
            value = getattr(self, name)
            if value is None or value == getattr(defaults, name):
                continue
            if isinstance(value, bool):
                env[variable] = "1" if value else "0"
            elif isinstance(value, tuple):
                env[variable] = "|".join(value)
            else:
                env[variable] = str(value)
        return env


def _flag(value: str) -> bool:
    return value.lower() in {"1", "true", "yes"}


ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SHOP_DATABASE_URL": ("database_url", str),
    "SHOP_CLOCK": ("clock", str),
    "SHOP_TIMEZONE": ("timezone", str),
    "SHOP_SECRET_KEY": ("secret_key", str),
    "SHOP_SECRET_KEY_FILE": ("secret_key_file", Path),
    "SHOP_NAME": ("shop_name", str),
    "SHOP_DEBUG": ("debug", _flag),
    "SHOP_DB_POOL_SIZE": ("db_pool_size", int),
    "SHOP_DB_WAIT_SECONDS": ("db_wait_seconds", float),
    "SHOP_MAX_BODY_BYTES": ("max_body_bytes", int),
    "SHOP_LICENCE_SIGNING_KEY": ("licence_signing_key", str),
    "SHOP_LICENCE_KEY_FILE": ("licence_key_file", Path),
    "SHOP_SMTP_URL": ("smtp_url", str),
    "SHOP_SMTP_TIMEOUT": ("smtp_timeout", float),
    "SHOP_MAIL_FROM": ("mail_from", str),
    "SHOP_PUBLIC_URL": ("public_url", lambda v: v.rstrip("/")),
    "SHOP_COOKIE_SECURE": ("cookie_secure", _flag),
    "SHOP_GRACE_DAYS": ("grace_days", int),
    "SHOP_API_TOKEN_DAYS": ("api_token_days", int),
    "SHOP_LINK_HOURS": ("link_hours", int),
    "SHOP_ORDER_LINK_DAYS": ("order_link_days", int),
    "SHOP_LOGIN_LINK_MINUTES": ("login_link_minutes", int),
    "SHOP_JOBS_LOCK_WAIT": ("jobs_lock_wait", float),
    "SHOP_JOBS_BATCH": ("jobs_batch", int),
    "SHOP_SELLER_NAME": ("seller_name", str),
    "SHOP_SELLER_ADDRESS": ("seller_address", _lines),
    "SHOP_SELLER_TAX_NUMBER": ("seller_tax_number", str),
    "SHOP_SELLER_COUNTRY": ("seller_country", lambda v: v.strip().upper()),
    "SHOP_BANK_ACCOUNT_HOLDER": ("bank_account_holder", str),
    "SHOP_BANK_IBAN": ("bank_iban", str),
    "SHOP_BANK_BIC": ("bank_bic", str),
    "SHOP_BANK_NAME": ("bank_name", str),
    "SHOP_CHEQUE_PAYEE": ("cheque_payee", str),
    "SHOP_PAYMENTS_TEST_MODE": ("payments_test_mode", _flag),
    "SHOP_RATE_LIMITS": ("rate_limits", str),
    "SHOP_ACTIVATION_CHECK_IN_DAYS": ("activation_check_in_days", int),
    "SHOP_ACTIVATION_GRACE_DAYS": ("activation_grace_days", int),
}
