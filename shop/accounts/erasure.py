"""An operator erases a customer (Art. 17 GDPR): their personal data is removed or
pseudonymised, except what tax law makes the shop keep (Art. 17(3)(b)).

Every record of the address gets the same pseudonym, ``erased-<hash>@invalid`` (an HMAC of
the address under the shop's secret, so the records stay linked but the address cannot be
guessed back from it; ``@invalid`` is no address anyone can log in or check out with).
Names, organisations, addresses, tax numbers, payment details, consent texts, declaration
texts, instance names and fingerprints are removed. An order with an invoice whose
retention period (``shop.orders.retention``) is not over keeps what §14 UStG makes an
invoice show (buyer name, organisation, address, tax number, dates, amounts, number) and
the §356(5) statements printed on it; run again after that date, the erasure removes them
too. Login links, pending e-mail changes and the e-mail change history are deleted.

Nothing running is broken silently: while a subscription runs, a licence is in use by an
instance of the software, or an order awaits payment, the erasure is refused with the
reason, and the operator cancels first. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, delete, or_
from sqlmodel import Session, col, select

from shop.accounts.contacts import LicenceContact
from shop.accounts.links import AddressLink
from shop.cancellations.models import CancellationRequest
from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import Activation, ActivationEvent, Licence, normalise_email
from shop.mail.outbox import MailStatus, OutboxMessage
from shop.orders.invoice_lock import release_for_erasure
from shop.orders.models import (
    IdempotencyKey,
    Order,
    OrderConsent,
    OrderNote,
    OrderStatus,
    Payment,
)
from shop.orders.retention import may_erase, retained_until
from shop.plugins.events import StoredEvent, emit
from shop.plugins.manager import EnabledPlugins
from shop.private_files import secret_from_file
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionStatus

PSEUDONYM = re.compile(r"^erased-[0-9a-f]{16}@invalid$")
ERASED = "customer.erased"
# A subscription in one of these is a contract that still runs (a cancelled one until its
# paid term ends): erasing its customer would break it.
RUNNING = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.ON_HOLD,
    SubscriptionStatus.PENDING_CANCEL,
)
OPEN_ORDERS = (OrderStatus.PENDING, OrderStatus.QUOTE)
ERASED_FINGERPRINT = "erased"


def pseudonym_of(email: str, settings: Settings) -> str:
    """The stable pseudonym of a (normalised) address; a pseudonym is its own."""
    if PSEUDONYM.match(email):
        return email
    secret = settings.secret_key or secret_from_file(settings.secret_key_file)
    digest = hmac.new(secret.encode(), b"erasure:" + email.encode(), hashlib.sha256)
    return f"erased-{digest.hexdigest()[:16]}@invalid"


@dataclass(frozen=True)
class KeptInvoice:
    order_number: int
    invoice_number: int
    until: date


@dataclass
class ErasureReport:
    """What an erasure changed, by kind of record; ``kept`` the invoices tax law keeps."""

    pseudonym: str
    orders: int = 0
    licences: int = 0
    contacts: int = 0
    subscriptions: int = 0
    activations: int = 0
    declarations: int = 0
    mails: int = 0
    links: int = 0
    other: int = 0  # events, idempotency answers, notes, statements, payment details
    plugins: int = 0  # what plugins keep (``shop_customer_erase``)
    kept: list[KeptInvoice] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.counts().values())

    @property
    def kept_until(self) -> date | None:
        return max((k.until for k in self.kept), default=None)

    def counts(self) -> dict[str, int]:
        return {
            "orders": self.orders,
            "licences": self.licences,
            "contacts": self.contacts,
            "subscriptions": self.subscriptions,
            "activations": self.activations,
            "declarations": self.declarations,
            "mails": self.mails,
            "links": self.links,
            "other": self.other,
            "plugins": self.plugins,
        }


def _set(row: Any, **values: Any) -> bool:
    """Set the fields that differ; whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _refusal(session: Session, emails: tuple[str, ...], licence_ids: list[int]) -> None:
    """Refuse while a contract runs, software uses a licence, or an order may be paid."""
    subscription = session.exec(
        select(Subscription).where(
            or_(
                col(Subscription.email).in_(emails),
                col(Subscription.licence_id).in_(licence_ids or [-1]),
            ),
            col(Subscription.status).in_([s.value for s in RUNNING]),
        )
    ).first()
    if subscription is not None:
        raise ShopError(
            409,
            "erasure_refused",
            N_(
                "Subscription %(id)s still runs (%(state)s). Cancel it and let it end "
                "before erasing the customer."
            ),
            id=subscription.id,
            state=subscription.status,
        )
    if licence_ids:
        live = session.exec(
            select(Activation).where(
                col(Activation.licence_id).in_(licence_ids),
                col(Activation.deactivated_at).is_(None),
            )
        ).first()
        if live is not None:
            raise ShopError(
                409,
                "erasure_refused",
                N_(
                    "Licence %(id)s is in use by an instance of the software. Free its "
                    "slots before erasing the customer."
                ),
                id=live.licence_id,
            )
    order = session.exec(
        select(Order).where(
            col(Order.email).in_(emails), col(Order.status).in_([s.value for s in OPEN_ORDERS])
        )
    ).first()
    if order is not None:
        raise ShopError(
            409,
            "erasure_refused",
            N_("Order %(number)s is still open. Cancel it before erasing the customer."),
            number=order.number,
        )


def _erase_order(
    session: Session, order: Order, pseudonym: str, today: date, settings: Settings
) -> tuple[bool, KeptInvoice | None]:
    kept = None
    issued = order.invoice_issued_at
    if (
        order.invoice_number is not None
        and issued is not None
        and not may_erase(issued, today, settings.seller_country)
    ):
        until = retained_until(issued, settings.seller_country)
        kept = KeptInvoice(order.number, order.invoice_number, until)
    changed = _set(order, email=pseudonym)
    if kept is None:
        if order.invoice_number is not None:
            release_for_erasure(session, order)  # its retention period is over
        changed |= _set(
            order,
            name="",
            organisation=None,
            street=None,
            postcode=None,
            city=None,
            region=None,
            tax_number=None,
            po_number=None,
            reseller_customer_name=None,
            reseller_customer_email=None,
        )
        for consent in session.exec(select(OrderConsent).where(OrderConsent.order_id == order.id)):
            session.delete(consent)
            changed = True
        for note in session.exec(select(OrderNote).where(OrderNote.order_id == order.id)):
            session.delete(note)
            changed = True
    for payment in session.exec(select(Payment).where(Payment.order_id == order.id)):
        # The card's brand and last digits are no part of an invoice.
        changed |= _set(payment, detail=None)
        session.add(payment)
    if changed:
        # Whoever holds the order's old link (a mail, a bookmark) sees it no more.
        order.token = secrets.token_urlsafe(24)
        session.add(order)
    return changed, kept


def _replace(value: Any, emails: tuple[str, ...], pseudonym: str) -> Any:
    if isinstance(value, str):
        return pseudonym if value in emails else value
    if isinstance(value, dict):
        return {k: _replace(v, emails, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, emails, pseudonym) for v in value]
    return value


def _mentioning(column: Any, email: str) -> Any:
    """Rows whose JSON column mentions ``email`` (a text search, on both databases)."""
    return cast(column, String).contains(email, autoescape=True)


def _count(rows: Iterable[Any]) -> int:
    return sum(1 for _ in rows)


def erase_customer(
    session: Session,
    email: str,
    now: datetime,
    settings: Settings,
    *,
    actor: str = "operator",
    plugins: EnabledPlugins | None = None,
) -> ErasureReport:
    """Erase ``email``'s personal data in ``session``'s transaction; what was changed and
    which invoices are kept until when. Refused (409 ``erasure_refused``) while something
    runs; see the module's docstring. ``plugins`` (every installed one) erase theirs."""
    email = normalise_email(email)
    pseudonym = pseudonym_of(email, settings)
    emails = tuple(dict.fromkeys((email, pseudonym)))
    report = ErasureReport(pseudonym)
    licences = list(session.exec(select(Licence).where(col(Licence.email).in_(emails))))
    licence_ids = [licence.id for licence in licences if licence.id is not None]
    _refusal(session, emails, licence_ids)
    today = now.date()

    for order in session.exec(select(Order).where(col(Order.email).in_(emails))).all():
        changed, kept = _erase_order(session, order, pseudonym, today, settings)
        report.orders += changed
        if kept is not None:
            report.kept.append(kept)
    # Orders a reseller placed for this customer as the end customer.
    for order in session.exec(
        select(Order).where(col(Order.reseller_customer_email).in_([email]))
    ).all():
        retained = order.invoice_number is not None and order.invoice_issued_at is not None
        if retained and order.invoice_issued_at is not None:
            retained = not may_erase(order.invoice_issued_at, today, settings.seller_country)
        if not retained and _set(order, reseller_customer_name=None, reseller_customer_email=None):
            session.add(order)
            report.orders += 1

    for licence in licences:
        # The key carries the address (R6): it goes, the licence record stays.
        if _set(licence, email=pseudonym, key=None):
            licence.updated_at = now
            session.add(licence)
            report.licences += 1
    for contact in session.exec(
        select(LicenceContact).where(col(LicenceContact.email).in_(emails))
    ).all():
        if _set(contact, email=pseudonym):
            session.add(contact)
            report.contacts += 1
    for subscription in session.exec(
        select(Subscription).where(
            or_(
                col(Subscription.email).in_(emails),
                col(Subscription.licence_id).in_(licence_ids or [-1]),
            )
        )
    ).all():
        if _set(
            subscription,
            email=pseudonym,
            name=None,
            organisation=None,
            saved_customer=None,
            saved_method=None,
        ):
            subscription.updated_at = now
            subscription.token = secrets.token_urlsafe(24)  # its old page link goes dead
            session.add(subscription)
            report.subscriptions += 1
    if licence_ids:
        for activation in session.exec(
            select(Activation).where(col(Activation.licence_id).in_(licence_ids))
        ).all():
            if _set(activation, fingerprint=ERASED_FINGERPRINT, name=None):
                session.add(activation)
                report.activations += 1
        for event in session.exec(
            select(ActivationEvent).where(col(ActivationEvent.licence_id).in_(licence_ids))
        ).all():
            # Details name hosts and addresses; who acted stays as the pseudonym.
            name = pseudonym if event.actor_name in emails else event.actor_name
            if _set(event, actor_name=name, detail=""):
                session.add(event)
                report.activations += 1
    # What this customer did, as a contact, on others' licences.
    for event in session.exec(
        select(ActivationEvent).where(col(ActivationEvent.actor_name) == email)
    ).all():
        if _set(event, actor_name=pseudonym):
            session.add(event)
            report.activations += 1

    for declaration in session.exec(
        select(CancellationRequest).where(
            or_(
                col(CancellationRequest.email).in_(emails),
                col(CancellationRequest.receipt_email).in_(emails),
            )
        )
    ).all():
        if _set(
            declaration,
            name="",
            email=pseudonym,
            receipt_email=pseudonym,
            reference=None,
            reason=None,
        ):
            session.add(declaration)
            report.declarations += 1

    for mail in session.exec(
        select(OutboxMessage).where(col(OutboxMessage.to_address).in_(emails))
    ).all():
        if mail.status == MailStatus.PENDING:
            # Never sent, and now without an address to go to: nothing to keep a record of.
            session.delete(mail)
            report.mails += 1
            continue
        # The row stays as the record that a mail went out; what it said goes.
        changed = _set(
            mail,
            to_address=pseudonym,
            text_body="",
            html_body=None,
            attachment=None,
            attachment_name=None,
            attachment_mime=None,
            document_kind=None,
            document_number=None,
        )
        if changed:
            session.add(mail)
            report.mails += 1

    links = session.execute(
        delete(AddressLink).where(
            or_(col(AddressLink.email).in_(emails), col(AddressLink.account).in_(emails))
        )
    )
    report.links += links.rowcount  # type: ignore[attr-defined]

    if email != pseudonym:
        # Copies of the address in stored answers and lifecycle events.
        answers = session.execute(
            delete(IdempotencyKey).where(_mentioning(IdempotencyKey.body, email))
        )
        report.other += answers.rowcount  # type: ignore[attr-defined]
        for stored in session.exec(
            select(StoredEvent).where(_mentioning(StoredEvent.data, email))
        ).all():
            replaced = _replace(stored.data, (email,), pseudonym)
            if replaced != stored.data:
                stored.data = replaced
                session.add(stored)
                report.other += 1

    if plugins is not None and email != pseudonym:
        erased = plugins.each(
            "shop_customer_erase", session=session, email=email, pseudonym=pseudonym
        )
        report.plugins += sum(int(count or 0) for count in erased.values())

    session.flush()
    if report.changed:
        until = report.kept_until
        emit(
            session,
            ERASED,
            {
                "customer": {"pseudonym": pseudonym},
                "by": actor,
                "counts": report.counts(),
                "invoices_kept": len(report.kept),
                "kept_until": until.isoformat() if until else None,
            },
            now,
        )
    return report


def preview_erasure(
    session: Session, email: str, now: datetime, settings: Settings
) -> ErasureReport:
    """What ``erase_customer`` would do, read only (a back-office GET writes nothing): the
    records carrying the address, and the invoices that would be kept; refused alike."""
    email = normalise_email(email)
    pseudonym = pseudonym_of(email, settings)
    emails = tuple(dict.fromkeys((email, pseudonym)))
    licence_ids = [
        i for i in session.exec(select(Licence.id).where(col(Licence.email).in_(emails))) if i
    ]
    _refusal(session, emails, licence_ids)
    report = ErasureReport(pseudonym)
    today = now.date()
    for order in session.exec(select(Order).where(col(Order.email).in_(emails))).all():
        issued = order.invoice_issued_at
        if (
            order.invoice_number is not None
            and issued is not None
            and not may_erase(issued, today, settings.seller_country)
        ):
            until = retained_until(issued, settings.seller_country)
            report.kept.append(KeptInvoice(order.number, order.invoice_number, until))
        report.orders += order.email == email

    def count(query: Any) -> int:
        return len(session.exec(query).all())

    report.licences = count(select(Licence.id).where(Licence.email == email))
    report.contacts = count(select(LicenceContact.id).where(LicenceContact.email == email))
    report.subscriptions = count(select(Subscription.id).where(Subscription.email == email))
    if licence_ids:
        report.activations = count(
            select(Activation.id).where(
                col(Activation.licence_id).in_(licence_ids),
                Activation.fingerprint != ERASED_FINGERPRINT,
            )
        )
    report.declarations = count(
        select(CancellationRequest.id).where(CancellationRequest.email == email)
    )
    report.mails = count(select(OutboxMessage.id).where(OutboxMessage.to_address == email))
    report.links = count(
        select(AddressLink.id).where(
            or_(col(AddressLink.email).in_(emails), col(AddressLink.account).in_(emails))
        )
    )
    return report


def has_data(session: Session, email: str) -> bool:
    """Whether any licence, contact role, order or mail carries ``email`` (normalised)."""
    for query in (
        select(Licence.id).where(Licence.email == email),
        select(LicenceContact.id).where(LicenceContact.email == email),
        select(Order.id).where(Order.email == email),
        select(OutboxMessage.id).where(OutboxMessage.to_address == email),
        select(CancellationRequest.id).where(CancellationRequest.email == email),
    ):
        if session.exec(query.limit(1)).first() is not None:
            return True
    return False
