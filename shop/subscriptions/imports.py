"""Importing existing customers: their licence and subscription as they run today (R33).

Legacy packages 1-5 were sold before 2023; their subscribers come over with their term,
items and status. One function checks and creates one row (``import_subscription``), used
by the API (``POST /api/v1/admin/subscriptions``) and by the CSV import (``import_csv``,
``shop admin import FILE.csv``, the back office's upload). Both are all-or-nothing: a
problem anywhere saves nothing, and the CSV report lists every line at fault.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from shop.catalog.pricing import NotSold, unit_price
from shop.catalog.products import N_, Kind, Product
from shop.catalog.rates import current_rates
from shop.catalog.service import parse_country
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.keys import InvalidLicenceKey, is_test_key, load_signing_key, verify_key
from shop.licences.models import Licence, LicenceStatus, check_email, normalise_email
from shop.licences.service import find_licence, licence_exists, sign_licence
from shop.orders.cart import CartItem, check_items
from shop.orders.pipeline import recurring_price
from shop.plugins.context import Customer
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.service import price_of, record_event
from shop.subscriptions.terms import add_months

log = logging.getLogger("shop")

COLUMNS = (
    "email",
    "name",
    "organisation",
    "country",
    "currency",
    "payment_method",
    "items",
    "term_start",
    "term_end",
    "status",
    "licence_key",
)
REQUIRED = tuple(c for c in COLUMNS if c not in ("organisation", "licence_key"))
# What an imported subscription may be: it runs, runs out, waits for a renewal's payment,
# or has ended. "pending" (a first payment outstanding) is no state to import.
IMPORTABLE = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PENDING_CANCEL,
    SubscriptionStatus.ON_HOLD,
    SubscriptionStatus.CANCELLED,
    SubscriptionStatus.EXPIRED,
)
LOCALES = {"DE": "de", "AT": "de", "CH": "de", "LI": "de", "NL": "nl", "BE": "nl", "SR": "nl"}
IMPORTED = "imported"


@dataclass(frozen=True)
class ImportProblem:
    """What is wrong on one line: ``message`` is a message id, translated with ``params``."""

    line: int
    field: str
    code: str
    message: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)


def describe(problem: ImportProblem, t: Translator) -> str:
    """A problem as the operator reads it, in ``t``'s language."""
    return t.gettext(problem.message, **problem.params)


@dataclass(frozen=True)
class Imported:
    """One imported line: its licence and subscription."""

    line: int
    email: str
    licence_id: int
    subscription_id: int


@dataclass
class ImportReport:
    ok: bool
    imported: list[Imported] = dataclass_field(default_factory=list)
    problems: list[ImportProblem] = dataclass_field(default_factory=list)


class ImportInvalid(ValueError):
    """Everything wrong with one row, each error naming its field."""

    def __init__(self, errors: list[ShopError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = errors


class _Rollback(Exception):
    """Undo the whole import's savepoint."""


def _invalid(
    field_name: str, message: str, code: str = "validation_error", **params: Any
) -> ShopError:
    return ShopError(422, code, message, **params).on_field(field_name)


def _text(raw: Mapping[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(name, N_("Please fill in this field."))
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise _invalid(name, N_("Use at most %(limit)s characters."), limit=limit)
    return value.strip()


def _date(raw: Mapping[str, Any], name: str) -> date:
    text = _text(raw, name, 10, required=True) or ""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid(
            name, N_("“%(value)s” is not a date (write it as YYYY-MM-DD)."), value=text
        ) from None


def parse_items_text(text: str) -> list[dict[str, Any]]:
    """``package-3:1;additional-persons:5`` as items (a bare sku counts 1)."""
    items: list[dict[str, Any]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        sku, _, quantity = part.strip().partition(":")
        try:
            number = int(quantity.strip()) if quantity.strip() else 1
        except ValueError:
            raise _invalid(
                "items",
                N_("Write items as sku:quantity separated by “;” (e.g. %(example)s)."),
                example="package-3:1",
            ) from None
        items.append({"sku": sku.strip(), "quantity": number})
    return items


def _items(enabled: EnabledPlugins, raw: Any) -> tuple[Product, dict[str, int]]:
    """One subscription product and its add-ons, with their quantities (R18: totals)."""
    if not isinstance(raw, list) or not raw:
        raise _invalid("items", N_("Choose at least one product."))
    cart: list[CartItem] = []
    for entry in raw:
        sku = entry.get("sku") if isinstance(entry, Mapping) else None
        quantity = entry.get("quantity", 1) if isinstance(entry, Mapping) else None
        if not isinstance(sku, str) or not sku:
            raise _invalid("items", N_("Each item needs a sku and a quantity."))
        cart.append(CartItem(sku, quantity))  # type: ignore[arg-type]  # checked below
    check_items(cart)
    products = []
    for item in cart:
        product = enabled.products.get(item.sku)
        if product is None:
            raise _invalid(
                "items",
                N_("There is no product “%(sku)s” for sale."),
                "unknown_product",
                sku=item.sku,
            )
        products.append(product)
    mains = [p for p in products if p.kind != Kind.ADDON]
    if len(mains) != 1 or not mains[0].billing_period_months:
        raise _invalid("items", N_("Import exactly one subscription product, with its add-ons."))
    main = mains[0]
    for product in products:
        if product.kind == Kind.ADDON and product.sku not in main.addons:
            raise _invalid(
                "items",
                N_("“%(addon)s” cannot be added to “%(sku)s”."),
                addon=product.sku,
                sku=main.sku,
            )
    return main, {item.sku: int(item.quantity) for item in cart}


@dataclass(frozen=True)
class ImportRow:
    """One checked row, ready to be created."""

    email: str
    name: str
    organisation: str | None
    country: str
    currency: str
    payment_method: str
    main: Product
    quantities: dict[str, int]
    term_start: date
    term_end: date
    status: SubscriptionStatus
    licence_key: str | None
    locale: str


def check_row(
    session: Session, raw: Mapping[str, Any], *, enabled: EnabledPlugins, settings: Settings
) -> ImportRow:
    """Read one import row; raises ``ImportInvalid`` with every field at fault."""
    errors: list[ShopError] = []
    values: dict[str, Any] = {}

    def take(name: str, read: Any) -> None:
        try:
            values[name] = read()
        except ShopError as error:
            errors.append(error)

    take("email", lambda: normalise_email(check_email(_text(raw, "email", 320, True))))
    take("name", lambda: _text(raw, "name", 200, required=True))
    take("organisation", lambda: _text(raw, "organisation", 200, required=False))
    take("country", lambda: _country(raw))
    take("currency", lambda: (_text(raw, "currency", 3, required=True) or "").upper())
    take("payment_method", lambda: _text(raw, "payment_method", 32, required=True))
    take("items", lambda: _items(enabled, raw.get("items")))
    take("term_start", lambda: _date(raw, "term_start"))
    take("term_end", lambda: _date(raw, "term_end"))
    take("status", lambda: _status(raw))
    take("licence_key", lambda: _text(raw, "licence_key", 4000, required=False))
    take("locale", lambda: _locale(raw, values.get("country")))
    before = len(errors)
    if "currency" in values:
        take("currency", lambda: _currency(enabled, values, session))
    if "payment_method" in values and "currency" in values and len(errors) == before:
        take(
            "payment_method", lambda: _method(enabled, values["payment_method"], values["currency"])
        )
    start, end = values.get("term_start"), values.get("term_end")
    if start is not None and end is not None and end <= start:
        errors.append(_invalid("term_end", N_("The term must end after it starts.")))
    if "email" in values and find_licence(session, values["email"]) is not None:
        errors.append(licence_exists(values["email"]))
    if values.get("licence_key") and "email" in values:
        take("licence_key", lambda: _key(values["licence_key"], values["email"], settings))
    if errors:
        raise ImportInvalid(errors)
    main, quantities = values.pop("items")
    return ImportRow(main=main, quantities=quantities, **values)


def _country(raw: Mapping[str, Any]) -> str:
    code = parse_country(_text(raw, "country", 2, required=True))
    assert code is not None  # required
    return code


def _status(raw: Mapping[str, Any]) -> SubscriptionStatus:
    text = (_text(raw, "status", 16, required=True) or "").lower()
    if text not in {s.value for s in IMPORTABLE}:
        raise _invalid(
            "status",
            N_("“%(value)s” is no status to import (one of: %(allowed)s)."),
            value=text,
            allowed=", ".join(s.value for s in IMPORTABLE),
        )
    return SubscriptionStatus(text)


def _locale(raw: Mapping[str, Any], country: str | None) -> str:
    text = _text(raw, "locale", 5, required=False)
    if text is not None and text.lower() in ("de", "nl", "en"):
        return text.lower()
    return LOCALES.get(country or "", "en")


def _currency(enabled: EnabledPlugins, values: dict[str, Any], session: Session) -> str:
    code = str(values["currency"])
    currency = enabled.currencies.get(code)
    if currency is None:
        raise _invalid(
            "currency",
            N_("The shop does not sell in “%(currency)s”."),
            "currency_unknown",
            currency=code,
        )
    country = values.get("country")
    if "country" in values and not currency.allowed_for(country):
        raise _invalid(
            "currency",
            N_("%(currency)s is not offered to customers billed in %(country)s."),
            "currency_not_allowed",
            currency=code,
            country=country,
        )
    if "items" in values:
        rates = current_rates(session)
        for sku in values["items"][1]:
            product = enabled.products[sku]
            if isinstance(unit_price(product, currency, country, rates), NotSold):
                raise _invalid(
                    "currency",
                    N_("“%(sku)s” cannot be bought in %(currency)s."),
                    "currency_not_allowed",
                    sku=sku,
                    currency=code,
                )
    return code


def _method(enabled: EnabledPlugins, code: str, currency: str) -> str:
    method = enabled.payment_methods.get(code)
    if method is None:
        raise _invalid(
            "payment_method", N_("Payment by “%(method)s” is not available."), method=code
        )
    if not method.accepts(currency):
        raise _invalid(
            "payment_method",
            N_("This payment method does not take %(currency)s."),
            "method_not_available",
            currency=currency,
        )
    return code


def _key(key: str, email: str, settings: Settings) -> str:
    """A licence key brought along: signed by this shop (not a test key), for this e-mail."""
    refused = _invalid(
        "licence_key",
        N_("This licence key was not issued by this shop for %(email)s."),
        email=email,
    )
    if is_test_key(key):
        raise refused
    try:
        grant = verify_key(key, load_signing_key(settings, create=False).public_key())
    except (InvalidLicenceKey, ValueError):
        raise refused from None
    if grant.test or normalise_email(grant.email) != email:
        raise refused
    return key


def create_imported(
    session: Session,
    row: ImportRow,
    *,
    enabled: EnabledPlugins,
    settings: Settings,
    now: datetime,
    actor: str,
) -> tuple[Licence, Subscription]:
    """The licence (R1: the unique index decides), the subscription priced like a renewal
    (R21, R28, R29) and its history's first event."""
    ended = row.status == SubscriptionStatus.EXPIRED
    licence = Licence(
        email=row.email,
        status=LicenceStatus.EXPIRED if ended else LicenceStatus.ACTIVE,
        product=row.main.sku,
        quantities=dict(row.quantities),
        paid_until=row.term_end,
        support=row.main.support.name if row.main.support else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(licence)
    except IntegrityError:
        raise licence_exists(row.email) from None
    licence.key = row.licence_key or sign_licence(licence, settings, now)
    session.add(licence)
    months = row.main.billing_period_months or 12  # checked: a subscription product
    # Later terms follow the imported one: anchored on its start when it is a whole term,
    # else on its end (R22).
    anchor = row.term_start if add_months(row.term_start, months) == row.term_end else row.term_end
    assert licence.id is not None
    subscription = Subscription(
        token=secrets.token_urlsafe(24),
        licence_id=licence.id,
        email=row.email,
        name=row.name,
        organisation=row.organisation,
        country=row.country,
        locale=row.locale,
        payment_method=row.payment_method,
        status=row.status,
        items=[{"sku": sku, "quantity": q} for sku, q in row.quantities.items()],
        currency=row.currency,
        recurring_total=Decimal(0),
        billing_period_months=months,
        anchor=anchor,
        term_start=row.term_start,
        term_end=row.term_end,
        on_hold_since=now if row.status == SubscriptionStatus.ON_HOLD else None,
        created_at=now,
        updated_at=now,
    )
    rates = current_rates(session)
    rows = [
        {
            "sku": sku,
            "quantity": q,
            "total": price_of(enabled, subscription, {sku: q}, rates).amount,
        }
        for sku, q in row.quantities.items()
    ]
    subscription.recurring_total = recurring_price(
        session, enabled, Customer(row.email, row.country, row.name), row.currency, rows, now
    ).amount
    session.add(subscription)
    session.flush()
    record_event(session, subscription, "operator", row.status, IMPORTED, now)
    session.flush()
    log.info("imported %s (subscription %s) by %s", row.email, subscription.id, actor)
    return licence, subscription


def import_subscription(
    session: Session,
    raw: Mapping[str, Any],
    *,
    enabled: EnabledPlugins,
    settings: Settings,
    now: datetime,
    actor: str,
) -> tuple[Licence, Subscription]:
    """Check and create one row; raises ``ImportInvalid`` (every field at fault) or a
    ``ShopError`` (R1: the address took a licence meanwhile)."""
    row = check_row(session, raw, enabled=enabled, settings=settings)
    return create_imported(session, row, enabled=enabled, settings=settings, now=now, actor=actor)


def _problems(line: int, errors: list[ShopError]) -> list[ImportProblem]:
    return [ImportProblem(line, e.field or "", e.code, e.detail, dict(e.params)) for e in errors]


def import_csv(
    session: Session,
    text: str,
    *,
    enabled: EnabledPlugins,
    settings: Settings,
    now: datetime,
    actor: str,
) -> ImportReport:
    """Import every line of a CSV file (header: ``COLUMNS``), or none: with any problem
    nothing is saved and the report lists every line at fault (line 1 is the header)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return ImportReport(
            ok=False,
            problems=[
                ImportProblem(
                    1,
                    name,
                    "validation_error",
                    N_("The file has no column “%(column)s”."),
                    {"column": name},
                )
                for name in missing
            ],
        )
    reader.fieldnames = header
    report = ImportReport(ok=True)
    seen: dict[str, int] = {}
    try:
        with session.begin_nested():
            for raw in reader:
                line = reader.line_num
                values = {k: v for k, v in raw.items() if k is not None}
                if not any((v or "").strip() for v in values.values() if isinstance(v, str)):
                    continue  # an empty line
                email = normalise_email(str(values.get("email") or ""))
                try:
                    values["items"] = parse_items_text(values.get("items") or "")
                    row = check_row(session, values, enabled=enabled, settings=settings)
                    seen[row.email] = line
                    licence, subscription = create_imported(
                        session, row, enabled=enabled, settings=settings, now=now, actor=actor
                    )
                except ImportInvalid as invalid:
                    errors = [  # R1 between two lines of the file: name the first one
                        _clash(email, seen[email])
                        if e.code == "licence_exists" and email in seen
                        else e
                        for e in invalid.errors
                    ]
                    report.problems.extend(_problems(line, errors))
                    seen.setdefault(email, line)
                    continue
                except ShopError as error:
                    report.problems.extend(_problems(line, [error]))
                    continue
                assert licence.id is not None and subscription.id is not None
                report.imported.append(Imported(line, row.email, licence.id, subscription.id))
            if not report.imported and not report.problems:
                report.problems.append(
                    ImportProblem(
                        2, "", "validation_error", N_("The file has no lines to import."), {}
                    )
                )
            if report.problems:
                raise _Rollback
    except _Rollback:
        report.ok = False
        report.imported = []
    return report


def _clash(email: str, first_line: int) -> ShopError:
    return _invalid(
        "email",
        N_("%(email)s appears on line %(line)s already: one licence per e-mail address."),
        "licence_exists",
        email=email,
        line=first_line,
    )
