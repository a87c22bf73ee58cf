"""The ``shop`` command for operators."""

from __future__ import annotations

import importlib
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import click
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.accounts.erasure import erase_customer
from shop.accounts.tokens import create_token, list_tokens, revoke_tokens
from shop.app import template_environment
from shop.backoffice.operators import create_operator, totp_uri
from shop.clock import Clock
from shop.db import alembic_config, make_engine, migrate, reader, session_scope
from shop.demo import seed_demo
from shop.errors import ShopError
from shop.i18n import LOCALES, Translator
from shop.jobs.progress import Progress
from shop.jobs.retry import BusyRetry, StillBusy
from shop.licences.keys import (
    Grant,
    InvalidLicenceKey,
    InvalidSigningKey,
    derived_test_key,
    generate_signing_key_b64,
    is_test_key,
    load_public_key,
    load_signing_key,
    verify_key,
)
from shop.licences.verify import describe as describe_verification
from shop.licences.verify import is_test_file, verify_file
from shop.orders.lifecycle import expire_due
from shop.orders.models import NEEDS_ACTION, Order
from shop.orders.notifications import mail_credit_notes, notify, send_due_mail
from shop.payments import testmode
from shop.payments.closing import close_provider_payments
from shop.payments.received import Context
from shop.payments.renewal_charges import charge_renewals, reconcile_charges
from shop.plugins.context import HookContext
from shop.plugins.dispatch import run_plugin_jobs, tell_plugins
from shop.plugins.jobs import JobContext
from shop.plugins.manager import EnabledPlugins, PluginError, Plugins, get_plugin_manager
from shop.plugins.settings import PluginSettingsInvalid, shown
from shop.plugins.state import (
    EssentialPlugin,
    UnknownPlugin,
    enabled_names,
    enabled_view,
    set_enabled,
)
from shop.settings import Settings
from shop.subscriptions.imports import describe, import_csv
from shop.subscriptions.renewals import (
    BATCH,
    count_due,
    count_uninvoiced,
    invoice_renewals,
    run_renewals,
)
from shop.web.idempotency import purge_expired


def _settings() -> Settings:
    """The shop's settings and every installed plugin's, from the environment."""
    try:
        return _plugins().configure(Settings.from_env())
    except PluginSettingsInvalid as exc:
        raise click.ClickException(f"plugin settings: {exc}") from exc


def _clock(settings: Settings) -> Clock:
    return Clock.from_setting(settings.clock, settings.timezone)


def _plugins() -> Plugins:
    try:
        return Plugins(get_plugin_manager())
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """Run and operate the licence shop."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes; default 1 on SQLite (one writer anyway), one per CPU on PostgreSQL.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="A line per request on stdout (behind a proxy that logs, turn it off).",
)
@click.option(
    "--test-payments",
    is_flag=True,
    help="Test mode: card and PayPal go to fake providers on 127.0.0.1; no money moves.",
)
def serve(host: str, port: int, workers: int | None, access_log: bool, test_payments: bool) -> None:
    """Run the shop; on an empty database, create the schema and the demo catalog."""
    import uvicorn

    from shop.app import create_app

    settings = _settings()
    engine = make_engine(settings.database_url)
    empty = not inspect(engine).has_table("alembic_version")
    migrate(settings.database_url)
    if empty:
        with session_scope(engine) as session:
            seed_demo(session, _clock(settings).now())
        click.echo("Created the database with the demo catalog.")
    if test_payments:
        settings = _start_test_mode(settings, engine, f"http://{host}:{port}")
    else:
        with session_scope(engine) as session:
            was = testmode.switch_off(session)
        if was is not None:
            click.echo("Test mode is off: card and PayPal use the configured keys again.")
    sqlite = engine.dialect.name == "sqlite"
    engine.dispose()
    workers = workers or (1 if sqlite else os.cpu_count() or 1)
    click.echo(f"Serving the shop at http://{host}:{port}/ with {workers} worker(s)")
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", access_log=access_log
        )
        return
    # Each worker process builds its own app from the environment: hand it these settings.
    os.environ.update(settings.to_env())
    os.environ.update(_plugins().settings_env(settings))
    uvicorn.run(
        "shop.app:create_app",
        factory=True,
        workers=workers,
        # A worker imports and builds the whole app before it answers uvicorn's health
        # check; on a loaded machine that takes longer than uvicorn's 5 s, and it would kill
        # and restart workers in a loop.
        timeout_worker_healthcheck=60,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


def _start_test_mode(settings: Settings, engine: Engine, shop_url: str) -> Settings:
    """Start the fake providers and put the database in test mode with them, so every
    ``shop`` process of it (``shop jobs run`` too) uses them while they listen."""
    try:
        # Not a dependency of the shop: the fakes are their own distribution (testing/).
        fakes = importlib.import_module("shop_fakes.demo").start_fake_providers(shop_url)
    except ImportError:
        raise click.ClickException("test mode needs the shop-fakes package: make install") from None
    with session_scope(engine) as session:
        testmode.switch_on(session, fakes.plugin_values, fakes.listening, _clock(settings).now())
        mode = testmode.read(session)
    assert mode is not None
    click.echo(mode.describe())
    click.echo(
        "Pay with card 4242 4242 4242 4242 or any PayPal test login. Licence keys are test "
        "keys, not valid for production."
    )
    return testmode.apply(settings, mode)


def _test_mode_settings(settings: Settings) -> Settings:
    """``settings`` in the database's test mode, if it is in one (said on stderr)."""
    mode = testmode.stored(settings.database_url)
    if mode is None:
        return settings
    click.echo(mode.describe(), err=True)
    if gone := mode.not_listening():
        where = ", ".join(f"the fake {name} ({url})" for name, url in gone.items())
        click.echo(
            f"Test mode: nothing listens at {where}: the `shop serve --test-payments` that "
            "started them has stopped. Card renewals are not charged meanwhile (each charge "
            "stays unsettled and is asked again on the next run). A new `shop serve "
            "--test-payments` starts fresh fakes that know none of the saved test cards; a "
            "plain `shop serve` leaves test mode.",
            err=True,
        )
    return testmode.apply(settings, mode)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate(_settings().database_url)
    click.echo("Database is up to date.")


@db.command("revision")
@click.argument("message")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(_settings().database_url), message, autogenerate=True)


@main.group()
def plugins() -> None:
    """List, enable and disable plugins."""


@plugins.command("list")
def plugins_list() -> None:
    """Every installed plugin and whether it is on."""
    settings, installed = _test_mode_settings(_settings()), _plugins()
    with session_scope(make_engine(settings.database_url)) as session:
        on = enabled_names(session, installed)
    for info in installed.infos.values():
        state = "enabled " if info.name in on else "disabled"
        origin = "built-in" if info.builtin else (info.distribution or "registered")
        click.echo(f"{info.name:<20} {state}  {origin:<16} {info.description}")
        for setting in installed.declared_settings.get(info.name, []):
            value = shown(setting, settings.plugin(info.name).get(setting.name))
            click.echo(f"{'':<20} {setting.variable(info.name)} = {value}")
        if missing := installed.missing_settings(info.name, settings):
            click.echo(f"{'':<20} not configured, stays out of checkout: set {', '.join(missing)}")


def _toggle(name: str, enabled: bool) -> None:
    settings, installed = _settings(), _plugins()
    try:
        with session_scope(make_engine(settings.database_url)) as session:
            set_enabled(session, installed, name, enabled, _clock(settings).now())
    except UnknownPlugin:
        raise click.ClickException(
            f"no plugin is called {name!r} (see: shop plugins list)"
        ) from None
    except EssentialPlugin:
        raise click.ClickException(f"the plugin {name!r} is essential and stays enabled") from None
    click.echo(f"{name} {'enabled' if enabled else 'disabled'}.")


@plugins.command("enable")
@click.argument("name")
def plugins_enable(name: str) -> None:
    """Switch a plugin on."""
    _toggle(name, True)


@plugins.command("disable")
@click.argument("name")
def plugins_disable(name: str) -> None:
    """Switch a plugin off; its products, currency or method vanish at once."""
    _toggle(name, False)


@main.group()
def jobs() -> None:
    """Work that falls due with time."""


@jobs.command("run")
def jobs_run() -> None:
    """Run everything due at the clock's now: renewals and pending cancellations, expiries
    of unpaid renewals, quotes, unpaid orders and trials, then the outbox. Safe to run twice
    or in parallel; a batch that meets a busy database is rolled back and done again."""
    settings = _test_mode_settings(_settings())
    if settings.jobs_batch is not None and settings.jobs_batch < 1:
        raise click.ClickException("SHOP_JOBS_BATCH must be at least 1")
    clock = _clock(settings)
    installed = _plugins()
    engine = make_engine(settings.database_url, wait_seconds=settings.jobs_lock_wait)
    retry = BusyRetry(engine, on_retry=lambda retrying: click.echo(retrying.describe(), err=True))
    # Mails use the templates of the plugins enabled when the run starts.
    with session_scope(reader(engine)) as session:
        on = frozenset(enabled_names(session, installed))
    templates = template_environment(settings, installed.folders("templates"), lambda: on)
    templates.globals["payment_methods"] = installed.everything.payment_methods
    now, today = clock.now(), clock.today()
    started = time.monotonic()

    def enabled_for(session: Session) -> EnabledPlugins:
        return enabled_view(session, installed, settings)

    def enabled_now() -> EnabledPlugins:
        with session_scope(reader(engine)) as session:
            return enabled_for(session)

    # Plugins hear of the events of each committed batch (shop_event).
    tell_plugins(engine, enabled_now, HookContext(settings=settings, clock=clock))
    # The credit notes of expiring orders are mailed to their buyers.
    mail_credit_notes(engine, templates, settings)

    def invoice(session: Session, enabled: EnabledPlugins, order: Order) -> None:
        notify(session, templates, enabled, settings, order, now)

    def context_for(session: Session) -> Context:
        return Context(enabled_for(session), settings, templates, now, today)

    try:
        # First what a killed run left: charges whose outcome was never recorded (R21).
        charges = reconcile_charges(engine, context_for, retry=retry)
        with Progress("Renewals", retry(lambda session: count_due(session, today))) as renewals:
            report = run_renewals(
                engine,
                enabled_for,
                today,
                now,
                timedelta(days=settings.grace_days),
                on_batch=renewals.advance,
                batch=settings.jobs_batch or BATCH,
                retry=retry,
            )
        with Progress("Charges") as charging:
            charges = charge_renewals(
                engine, context_for, on_batch=charging.advance, retry=retry, report=charges
            )
        with Progress("Invoices", retry(count_uninvoiced)) as invoicing:
            invoiced = invoice_renewals(
                engine, enabled_for, invoice, now, on_batch=invoicing.advance, retry=retry
            )
        with Progress("Expiries") as expiring:
            expiry = retry(lambda session: expire_due(session, now))
            expiring.advance(expiry.quotes + expiry.orders + expiry.trials)
        methods = installed.everything.payment_methods
        voided = close_provider_payments(engine, methods, settings, now, retry=retry)
        forgotten = retry(lambda session: purge_expired(session, now))
    except StillBusy as exc:
        raise click.ClickException(
            f"{exc}. Nothing half-done was kept; run `shop jobs run` again."
        ) from None
    click.echo(
        f"Renewed {report.renewed} subscription(s), ended {report.cancelled} cancelled one(s), "
        f"expired {report.expired} unpaid one(s); {invoiced} invoice(s) written."
    )
    click.echo(
        f"Charged {charges.charged} renewal(s) to a saved card; {charges.failed} declined; "
        f"{charges.reconciled} interrupted charge(s) reconciled, {charges.unsettled} still "
        "unsettled (asked again next run, never invoiced meanwhile)."
    )
    click.echo(f"Cancelled {voided} open card or PayPal payment(s) of closed orders.")
    click.echo(
        f"Expired {expiry.quotes} quote(s), {expiry.orders} unpaid order(s), "
        f"{expiry.trials} trial(s); forgot {forgotten} idempotency key(s) older than a day."
    )
    if settings.smtp_url:
        mail = send_due_mail(engine, installed, settings, clock)
        click.echo(
            f"Sent {mail.sent} e-mail(s); {mail.retrying} to be retried, {mail.failed} given up."
        )
    # Then each enabled plugin's own due work (shop_jobs), e.g. outgoing webhooks.
    jobs = JobContext(engine=engine, settings=settings, clock=clock, now=now, retry=retry)
    try:
        for line in run_plugin_jobs(enabled_now(), jobs):
            click.echo(line)
    except StillBusy as exc:
        raise click.ClickException(f"{exc}; run `shop jobs run` again.") from None
    seconds = time.monotonic() - started
    rate = report.renewed / seconds if seconds > 0 else 0.0
    click.echo(f"Done in {seconds:.1f} s ({rate:,.0f} renewals/s overall).")
    engine.dispose()


@main.group()
def orders() -> None:
    """Orders an operator must look at."""


@orders.command("attention")
def orders_attention() -> None:
    """List the orders flagged for the operator (money kept but not applied, ...), the
    longest waiting first; clear one with POST /api/v1/admin/orders/NUMBER/resolve."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            flagged = session.exec(
                select(Order)
                .where(text(NEEDS_ACTION))
                .order_by(col(Order.needs_action_since), col(Order.id))
            ).all()
            for order in flagged:
                since = order.needs_action_since.isoformat() if order.needs_action_since else ""
                click.echo(
                    f"{order.number}\t{order.needs_action}\tsince {since}\t{order.status}\t"
                    f"paid {order.paid_amount} of {order.total} {order.currency}\t{order.email}"
                )
            click.echo(f"{len(flagged)} order(s) need action.")
    finally:
        engine.dispose()


@main.group()
def customer() -> None:
    """A customer's personal data (GDPR)."""


@customer.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def customer_erase(email: str, yes: bool) -> None:
    """Erase EMAIL's personal data; invoices stay until their retention date. Refused
    while a subscription runs, a licence is in use or an order is open."""
    if not yes:
        click.confirm(f"Erase the personal data of {email}? This cannot be undone", abort=True)
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            report = erase_customer(
                session,
                email,
                _clock(settings).now(),
                settings,
                actor="cli",
                plugins=_plugins().everything,
            )
    except ShopError as error:
        raise click.ClickException(error.detail % error.params) from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{name} {count}" for name, count in report.counts().items() if count)
    click.echo(f"Erased as {report.pseudonym}: {counts or 'nothing left to change'}")
    for kept in report.kept:
        click.echo(
            f"kept: invoice {kept.invoice_number} (order {kept.order_number}) until {kept.until}"
        )


@main.group()
def admin() -> None:
    """Operator access."""


@admin.command("token")
@click.argument("name")
@click.option(
    "--days",
    type=click.IntRange(1, 36_500),
    default=None,
    help="How long the token works (default: SHOP_API_TOKEN_DAYS, 365).",
)
def admin_token(name: str, days: int | None) -> None:
    """Create an operator API token for NAME and print it (shown only once)."""
    settings = _settings()
    with session_scope(make_engine(settings.database_url)) as session:
        token = create_token(
            session, name, _clock(settings).now(), days=days or settings.api_token_days
        )
    click.echo(token)


@admin.command("create")
@click.argument("email")
@click.password_option(help="The operator's password (asked twice when not given).")
@click.option(
    "--locale", type=click.Choice(LOCALES), default="en", help="The back office's language."
)
@click.option("--totp", is_flag=True, help="Also ask for a code from an authenticator app.")
def admin_create(email: str, password: str, locale: str, totp: bool) -> None:
    """Create a back-office operator who logs in at /admin (password hashed with argon2)."""
    settings = _settings()
    try:
        with session_scope(make_engine(settings.database_url)) as session:
            operator = create_operator(
                session, email, password, _clock(settings).now(), locale=locale, with_totp=totp
            )
            uri = totp_uri(operator, settings.shop_name)
    except ShopError as error:
        raise click.ClickException(error.detail % error.params) from None
    click.echo(f"Operator {operator.email} created; log in at {settings.public_url}/admin")
    if uri:
        click.echo(f"Add this to your authenticator app: {uri}")


@admin.group("tokens")
def admin_tokens() -> None:
    """Operator API tokens: list them, revoke one."""


def _moment(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


@admin_tokens.command("list")
def admin_tokens_list() -> None:
    """Every token: id, name, created, last used, expires, and whether it still works."""
    settings = _settings()
    now = _clock(settings).now()
    with session_scope(make_engine(settings.database_url)) as session:
        rows = list_tokens(session)
        click.echo("id\tname\tcreated\tlast used\texpires\tstate")
        for row in rows:
            state = (
                "revoked"
                if row.revoked_at is not None
                else ("expired" if not row.valid_at(now) else "valid")
            )
            click.echo(
                f"{row.id}\t{row.name}\t{_moment(row.created_at)}\t{_moment(row.last_used_at)}"
                f"\t{_moment(row.expires_at) if row.expires_at else 'never'}\t{state}"
            )


@admin_tokens.command("revoke")
@click.argument("id_or_name")
def admin_tokens_revoke(id_or_name: str) -> None:
    """Revoke the token with this id, or every token of this name."""
    settings = _settings()
    with session_scope(make_engine(settings.database_url)) as session:
        revoked = revoke_tokens(session, id_or_name, _clock(settings).now())
    if not revoked:
        raise click.ClickException(f"no valid token has the id or name {id_or_name!r}")
    for row in revoked:
        click.echo(f"revoked token {row.id} ({row.name})")


@admin.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["de", "nl", "en"]), default="en")
def admin_import(file: Path, lang: str) -> None:
    """Import existing customers' subscriptions and licences from a CSV file, all or
    nothing (columns: email,name,organisation,country,currency,payment_method,items,
    term_start,term_end,status,licence_key; items as sku:quantity;sku:quantity)."""
    settings = _settings()
    installed = _plugins()
    t = Translator.for_settings(settings, lang)
    text = file.read_text(encoding="utf-8-sig")
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            report = import_csv(
                session,
                text,
                enabled=enabled_view(session, installed, settings),
                settings=settings,
                now=_clock(settings).now(),
                actor=os.environ.get("USER", "cli"),
            )
    finally:
        engine.dispose()
    for done in report.imported:
        click.echo(
            f"line {done.line}: {done.email}: licence {done.licence_id}, "
            f"subscription {done.subscription_id}"
        )
    for problem in report.problems:
        message = describe(problem, t)
        click.echo(f"line {problem.line}: {problem.field}: {problem.code}: {message}", err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s): nothing was imported.", err=True)
        sys.exit(1)
    click.echo(f"{len(report.imported)} subscription(s) imported.")


@main.group()
def licence() -> None:
    """Licence keys (R6) and licence files (activations): check offline, make a signing key."""


def _grant_lines(grant: Grant) -> list[str]:
    """What a key grants, one "label: value" line each."""
    paid_until = "-" if grant.paid_until is None else f"{grant.paid_until} (exclusive)"
    lines = [
        ("licence id", str(grant.licence_id)),
        ("e-mail", grant.email),
        ("product", grant.product),
        *(("quantity", f"{sku} = {n}") for sku, n in grant.quantities.items()),
        ("status", grant.status),
        ("paid until", paid_until),
        ("issued at", grant.issued_at.isoformat()),
    ]
    if grant.support is not None:
        lines.append(("support", grant.support))
    return [f"{label + ':':<12} {value}" for label, value in lines]


@licence.command("verify")
@click.argument("key")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key to check against; default: the configured signing key's.",
)
def licence_verify(key: str, public_key_file: Path | None) -> None:
    """Check KEY offline and print what it grants ("-" reads the key from stdin)."""
    if key == "-":
        key = sys.stdin.read()
    signing_key = None
    try:
        if public_key_file is not None:
            public_key = load_public_key(public_key_file.read_text(encoding="utf-8"))
        else:
            signing_key = load_signing_key(_settings(), create=False)
            public_key = signing_key.public_key()
    except InvalidSigningKey as exc:
        raise click.ClickException(str(exc)) from None
    try:
        grant = verify_key(key, public_key)
    except InvalidLicenceKey as exc:
        if not is_test_key(key):
            click.echo(f"invalid licence key: {exc}", err=True)
            sys.exit(1)
        # A key issued in test mode: never valid for production, but say what it is.
        try:
            if signing_key is None:  # only the production public key at hand
                raise exc
            grant = verify_key(key, derived_test_key(signing_key).public_key())
        except InvalidLicenceKey:
            click.echo(
                f"invalid licence key: {exc} (it says it is a TEST KEY, issued in test mode: "
                "not valid for production)",
                err=True,
            )
            sys.exit(1)
    if grant.test:
        click.echo("TEST KEY — not valid for production (issued in test mode, no money moved)")
    for line in _grant_lines(grant):
        click.echo(line)
    if grant.test:
        sys.exit(1)


@licence.command("verify-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--fingerprint", help="This installation's fingerprint: the file must be for it.")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key to check against; default: the configured signing key's.",
)
@click.option(
    "--release-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The running version's release day: a perpetual licence covers versions released "
    "before its maintenance ended.",
)
def licence_verify_file(
    file: str,
    fingerprint: str | None,
    public_key_file: Path | None,
    release_date: datetime | None,
) -> None:
    """Check a licence file (an activation) offline: signature, fingerprint, expiry; print
    what it grants and any warnings. Exit code 0 valid (warnings included), 1 invalid."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    signing_key = None
    try:
        if public_key_file is not None:
            public_key = load_public_key(public_key_file.read_text(encoding="utf-8"))
        else:
            signing_key = load_signing_key(_settings(), create=False)
            public_key = signing_key.public_key()
    except InvalidSigningKey as exc:
        raise click.ClickException(str(exc)) from None
    now = _clock(Settings.from_env()).now()  # SHOP_CLOCK holds here too
    released = release_date.date() if release_date else None
    result = verify_file(text, public_key, fingerprint=fingerprint, now=now, release_date=released)
    if not result.signature_ok and signing_key is not None and is_test_file(text):
        # A file issued in test mode: never valid for production, but say what it is.
        test_public = derived_test_key(signing_key).public_key()
        result = verify_file(
            text, test_public, fingerprint=fingerprint, now=now, release_date=released
        )
        click.echo("TEST FILE — not valid for production (issued in test mode)")
    for line in describe_verification(result):
        click.echo(line, err=line.startswith("invalid"))
    if not result.valid:
        sys.exit(1)


@licence.command("keygen")
def licence_keygen() -> None:
    """Print a new private key for SHOP_LICENCE_SIGNING_KEY."""
    click.echo(generate_signing_key_b64())
    click.echo(
        "Keep this secret: whoever holds it can issue licence keys. "
        "Set it as SHOP_LICENCE_SIGNING_KEY.",
        err=True,
    )


# Plugins add their own commands (``shop_commands``), like Datasette's ``register_commands``.
try:
    get_plugin_manager().hook.shop_commands(cli=main)
except PluginError as exc:  # reported by the command that needs the plugins
    click.echo(f"plugins: {exc}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
