"""A customer's copy of their data (Art. 15 and 20 GDPR), as one JSON document.

It holds what the shop keeps about one (normalised) address and nothing of anyone else
(R35): the licences, subscriptions and orders the account shows, the address's contact
roles, the software instances of its licences, its cancellation and withdrawal
declarations, its e-mail address changes and the mails sent to it (subject and date).
Amounts are decimal strings, times ISO 8601, so the document reads the same anywhere.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from shop.accounts.contacts import LicenceContact
from shop.accounts.links import AddressLink, LinkPurpose
from shop.accounts.visibility import visible_licences, visible_orders, visible_subscriptions
from shop.cancellations.models import CancellationRequest
from shop.licences.models import Activation, Licence
from shop.mail.outbox import OutboxMessage
from shop.money import quantize
from shop.orders.consents import statements_of
from shop.orders.models import CreditNote, Order, OrderLine, Payment
from shop.orders.numbers import CREDIT_NOTE_NUMBERS, printed_number
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.models import Subscription

FORMAT = "licence-shop-export/1"


def _value(value: Any, currency: str | None = None) -> Any:
    """A stored value as JSON has it: an amount as a decimal string with the currency's
    minor digits (as the API writes it), dates and times ISO 8601."""
    if isinstance(value, Decimal):
        return str(quantize(value, currency) if currency else value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _fields(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    currency = getattr(row, "currency", None)
    return {name: _value(getattr(row, name), currency) for name in names}


ORDER_FIELDS = (
    "number",
    "quote_number",
    "invoice_number",
    "invoice_issued_at",
    "status",
    "kind",
    "email",
    "name",
    "organisation",
    "street",
    "postcode",
    "city",
    "region",
    "country",
    "tax_number",
    "po_number",
    "reseller_customer_name",
    "reseller_customer_email",
    "locale",
    "currency",
    "total",
    "paid_amount",
    "payment_method",
    "created_at",
    "valid_until",
    "paid_at",
    "closed_at",
    "licence_id",
    "subscription_id",
)
LINE_FIELDS = ("position", "sku", "name", "kind", "quantity", "unit_price", "total")
PAYMENT_FIELDS = ("amount", "currency", "method", "reference", "created_at", "detail")
LICENCE_FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "status",
    "product",
    "quantities",
    "trial_ends_at",
    "paid_until",
    "key",
    "support",
    "created_at",
    "updated_at",
)
ACTIVATION_FIELDS: tuple[str, ...] = (
    "id",
    "fingerprint",
    "name",
    "activated_at",
    "last_check_in_at",
    "deactivated_at",
    "deactivated_by",
)
SUBSCRIPTION_FIELDS: tuple[str, ...] = (
    "id",
    "licence_id",
    "email",
    "name",
    "organisation",
    "country",
    "locale",
    "payment_method",
    "status",
    "items",
    "currency",
    "recurring_total",
    "billing_period_months",
    "term_start",
    "term_end",
    "scheduled_items",
    "created_at",
)
DECLARATION_FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "email",
    "reference",
    "contract",
    "mode",
    "reason",
    "wanted_end",
    "receipt_email",
    "received_at",
    "ends_on",
    "outcome",
)


def _order(session: Session, order: Order) -> dict[str, Any]:
    lines = session.exec(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.position))
    )
    payments = session.exec(
        select(Payment).where(Payment.order_id == order.id).order_by(col(Payment.id))
    )
    return {
        **_fields(order, ORDER_FIELDS),
        "lines": [
            {name: _value(getattr(line, name), order.currency) for name in LINE_FIELDS}
            for line in lines
        ],
        "payments": [_fields(payment, PAYMENT_FIELDS) for payment in payments],
        "credit_notes": [
            {
                "number": printed_number(CREDIT_NOTE_NUMBERS, note.number),
                "issued_at": _value(note.issued_at),
                "amount": _value(note.amount, note.currency),
                "currency": note.currency,
                "reason": note.reason,
                "retained_until": _value(note.retained_until),
            }
            for note in session.exec(
                select(CreditNote)
                .where(CreditNote.order_id == order.id)
                .order_by(col(CreditNote.number))
            )
        ],
        # The §356(5) BGB statements, in the words shown at checkout.
        "statements": [
            {"kind": s.kind, "text": s.text, "locale": s.locale, "given_at": _value(s.given_at)}
            for s in statements_of(session, order)
        ],
    }


def _licence(session: Session, licence: Licence, email: str) -> dict[str, Any]:
    activations = session.exec(
        select(Activation)
        .where(Activation.licence_id == licence.id)
        .order_by(col(Activation.activated_at), col(Activation.id))
    )
    return {
        **_fields(licence, LICENCE_FIELDS),
        "role": "licensee" if licence.email == email else "contact",
        "activations": [_fields(a, ACTIVATION_FIELDS) for a in activations],
    }


def export_data(
    session: Session, email: str, now: datetime, plugins: EnabledPlugins | None = None
) -> dict[str, Any]:
    """Everything the shop holds about ``email`` (normalised), as a JSON-able document;
    with ``plugins`` (every installed one) what each keeps too (``shop_customer_data``)."""
    contacts = session.exec(
        select(LicenceContact).where(LicenceContact.email == email).order_by(col(LicenceContact.id))
    )
    subscriptions: list[Subscription] = visible_subscriptions(session, email)
    declarations = session.exec(
        select(CancellationRequest)
        .where(
            or_(
                col(CancellationRequest.email) == email,
                col(CancellationRequest.receipt_email) == email,
            )
        )
        .order_by(col(CancellationRequest.id))
    )
    changes = session.exec(
        select(AddressLink)
        .where(
            AddressLink.purpose == LinkPurpose.EMAIL.value,
            col(AddressLink.used_at).is_not(None),
            or_(col(AddressLink.email) == email, col(AddressLink.account) == email),
        )
        .order_by(col(AddressLink.id))
    )
    mails = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(col(OutboxMessage.id))
    )
    return {
        "format": FORMAT,
        "exported_at": _value(now),
        "email": email,
        "contact_roles": [
            {
                "licence_id": c.licence_id,
                "role": c.role,
                "primary": c.is_primary,
                "since": _value(c.created_at),
            }
            for c in contacts
        ],
        "licences": [
            _licence(session, licence, email) for licence in visible_licences(session, email)
        ],
        "subscriptions": [_fields(s, SUBSCRIPTION_FIELDS) for s in subscriptions],
        "orders": [_order(session, order) for order in reversed(visible_orders(session, email))],
        "cancellations_and_withdrawals": [_fields(d, DECLARATION_FIELDS) for d in declarations],
        "email_changes": [
            {"from": link.account, "to": link.email, "at": _value(link.used_at)} for link in changes
        ],
        "emails": [
            {
                "subject": m.subject,
                "kind": m.kind,
                "created_at": _value(m.created_at),
                "sent_at": _value(m.sent_at),
            }
            for m in mails
        ],
        "plugins": {
            name: data
            for name, data in (
                plugins.each("shop_customer_data", session=session, email=email) if plugins else {}
            ).items()
            if data
        },
    }


def export_json(
    session: Session, email: str, now: datetime, plugins: EnabledPlugins | None = None
) -> bytes:
    data = export_data(session, email, now, plugins)
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def export_filename(now: datetime) -> str:
    return f"my-data-{now.date().isoformat()}.json"
