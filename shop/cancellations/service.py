"""The cancel button (§312k BGB) and the withdrawal button (§356a BGB), without a login.

Every declaration is recorded with the moment it arrived and confirmed by e-mail to the
address given for the receipt (a durable medium). Where it identifies a contract it is
applied: a subscription or support agreement is cancelled as from its own page (R10, R31,
the Dutch rule); a withdrawal within the 14 days is recorded for the operator, who decides
the refund (a lawful withdrawal overrides R10), and an unpaid order is cancelled.

Nothing tells a visitor whether an address is known: the page after the button says the
same for every declaration, and the receipt names the contract only when it goes to the
contract's own e-mail address; any other receipt is the same generic text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment
from sqlmodel import Session, col, select

from shop.cancellations.models import CancellationRequest, DeclarationKind, Outcome
from shop.catalog.products import N_, Kind
from shop.i18n import Translator
from shop.licences.models import EMAIL, Licence, normalise_email
from shop.mail.send import queue_templated
from shop.orders.consents import STATEMENTS, statements_of
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order, OrderStatus
from shop.orders.notifications import notify_cancelled
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.dutch_rule import cancellation_end
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.service import subscriber_name

RECEIPT = "cancellation_receipt"
WITHDRAWAL_DAYS = 14

CONTRACTS = {
    "subscription": N_("Subscription"),
    "agreement": N_("Support agreement"),
}
MODES = {
    "ordinary": N_("Ordinary cancellation"),
    "extraordinary": N_("Extraordinary cancellation"),
}
REQUIRED = N_("Please fill in this field.")
NOT_AN_EMAIL = N_("This is not an e-mail address.")
TOO_LONG = N_("This is too long.")
CHOOSE = N_("Please choose one.")
NEED_REASON = N_("An extraordinary cancellation needs its reason.")
BAD_DATE = N_("Please give a date, e.g. %(example)s.")
PAST_DATE = N_("The end date cannot be in the past.")
NOT_A_NUMBER = N_("Please give the order number, e.g. 1042.")

OUTCOME_LABELS: dict[str, str] = {
    Outcome.CANCELLED: N_("Cancelled"),
    Outcome.ALREADY_CANCELLED: N_("Was already cancelled"),
    Outcome.NOT_ACTIVE: N_("Identified, nothing running to cancel"),
    Outcome.LATER_END: N_("Identified, a later end date wanted"),
    Outcome.UNMATCHED: N_("No contract identified"),
    Outcome.WITHDRAWN: N_("Withdrawn in time: decide the refund"),
    Outcome.WITHDRAWN_UNPAID: N_("Withdrawn in time: the unpaid order is cancelled"),
    Outcome.PERIOD_OVER: N_("Withdrawal period over"),
    Outcome.WAIVED: N_("Withdrawal right waived"),
    Outcome.NOT_CONSUMER: N_("Business order: no statutory withdrawal right"),
}


@dataclass(frozen=True)
class Declaration:
    """What the visitor declared, checked; the same for both buttons (unused fields None)."""

    kind: DeclarationKind
    name: str
    email: str
    receipt_email: str
    reference: str | None = None
    contract: str | None = None
    mode: str | None = None
    reason: str | None = None
    wanted_end: date | None = None

    def as_form(self) -> dict[str, str]:
        """The declaration as the form's fields, for the confirmation page's hidden inputs."""
        return {
            "name": self.name,
            "email": self.email,
            "receipt_email": self.receipt_email,
            "reference": self.reference or "",
            "contract": self.contract or "",
            "mode": self.mode or "",
            "reason": self.reason or "",
            "end": "date" if self.wanted_end else "earliest",
            "end_date": self.wanted_end.isoformat() if self.wanted_end else "",
        }


@dataclass
class Checked:
    declaration: Declaration | None
    errors: dict[str, str] = field(default_factory=dict)  # field -> translated message


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _required(
    form: Mapping[str, Any], name: str, limit: int, errors: dict[str, str], t: Translator
) -> str:
    value = _text(form, name)
    if not value:
        errors[name] = t.gettext(REQUIRED)
    elif len(value) > limit:
        errors[name] = t.gettext(TOO_LONG)
    return value


def _email(form: Mapping[str, Any], name: str, errors: dict[str, str], t: Translator) -> str:
    value = _required(form, name, 320, errors, t)
    if value and name not in errors and not EMAIL.match(value):
        errors[name] = t.gettext(NOT_AN_EMAIL)
    return value


def check_cancellation(form: Mapping[str, Any], today: date, t: Translator) -> Checked:
    """The cancel form's fields, or a message per field at fault."""
    errors: dict[str, str] = {}
    name = _required(form, "name", 200, errors, t)
    email = _email(form, "email", errors, t)
    receipt_email = _email(form, "receipt_email", errors, t)
    reference = _text(form, "reference")
    if len(reference) > 200:
        errors["reference"] = t.gettext(TOO_LONG)
    contract = _text(form, "contract")
    if contract not in CONTRACTS:
        errors["contract"] = t.gettext(CHOOSE)
    mode = _text(form, "mode") or "ordinary"
    if mode not in MODES:
        errors["mode"] = t.gettext(CHOOSE)
    reason = _text(form, "reason")
    if mode == "extraordinary" and not reason:
        errors["reason"] = t.gettext(NEED_REASON)
    elif len(reason) > 2000:
        errors["reason"] = t.gettext(TOO_LONG)
    wanted_end = None
    end = _text(form, "end") or "earliest"
    if end not in ("earliest", "date"):
        errors["end"] = t.gettext(CHOOSE)
    elif end == "date":
        try:
            wanted_end = date.fromisoformat(_text(form, "end_date"))
        except ValueError:
            errors["end_date"] = t.gettext(BAD_DATE, example=t.date(today, "short"))
        else:
            if wanted_end < today:
                errors["end_date"] = t.gettext(PAST_DATE)
    if errors:
        return Checked(None, errors)
    return Checked(
        Declaration(
            kind=DeclarationKind.CANCEL,
            name=name,
            email=email,
            receipt_email=receipt_email,
            reference=reference or None,
            contract=contract,
            mode=mode,
            reason=reason if mode == "extraordinary" else None,
            wanted_end=wanted_end,
        )
    )


ORDER_NUMBER = re.compile(r"^(?:#|nr\.?\s*|no\.?\s*)?(\d{1,9})$", re.IGNORECASE)  # fits INTEGER


def check_withdrawal(form: Mapping[str, Any], t: Translator) -> Checked:
    """The withdrawal form's fields, or a message per field at fault."""
    errors: dict[str, str] = {}
    name = _required(form, "name", 200, errors, t)
    email = _email(form, "email", errors, t)
    receipt_email = _email(form, "receipt_email", errors, t)
    number = _required(form, "reference", 200, errors, t)
    if number and "reference" not in errors and not ORDER_NUMBER.match(number):
        errors["reference"] = t.gettext(NOT_A_NUMBER)
    if errors:
        return Checked(None, errors)
    return Checked(
        Declaration(
            kind=DeclarationKind.WITHDRAW,
            name=name,
            email=email,
            receipt_email=receipt_email,
            reference=number,
        )
    )


def find_subscription(session: Session, email: str, reference: str | None) -> Subscription | None:
    """The subscription or agreement of ``email`` that ``reference`` names: its licence key,
    the number of one of its orders or invoices, or its own number. Without a reference,
    none: an e-mail address alone is not enough to end someone's contract."""
    if not reference:
        return None
    wanted = reference.strip()
    digits = re.sub(r"^(?:#|inv-|nr\.?\s*|no\.?\s*)", "", wanted, flags=re.IGNORECASE)
    candidates = session.exec(
        select(Subscription)
        .where(Subscription.email == normalise_email(email))
        .order_by(col(Subscription.id))
    ).all()
    for subscription in candidates:
        licence = session.get(Licence, subscription.licence_id)
        if licence is not None and licence.key and licence.key.strip() == wanted:
            return subscription
        if not digits.isdigit() or len(digits) > 9:  # no number is that long
            continue
        number = int(digits)
        if number == subscription.id and not wanted.lower().startswith("inv"):
            return subscription
        orders = session.exec(select(Order).where(Order.subscription_id == subscription.id))
        for order in orders:
            if wanted.lower().startswith("inv"):
                if order.invoice_number == number:
                    return subscription
            elif order.number == number:
                return subscription
    return None


def _is_agreement(installed: EnabledPlugins, subscription: Subscription) -> bool:
    kinds = {
        installed.products[item["sku"]].kind
        for item in subscription.items
        if item["sku"] in installed.products
    }
    return Kind.AGREEMENT in kinds


def _products(installed: EnabledPlugins, subscription: Subscription, t: Translator) -> list[str]:
    return [
        f"{item['quantity']} × {t.gettext(installed.products[item['sku']].name)}"
        if item["sku"] in installed.products
        else f"{item['quantity']} × {item['sku']}"
        for item in subscription.items
    ]


def shop_time(moment: datetime, settings: Settings, locale: str) -> str:
    """A moment as the shop's time zone reads it, formatted for ``locale`` by Babel."""
    return format_datetime(moment, "long", tzinfo=ZoneInfo(settings.timezone), locale=locale)


@dataclass(frozen=True)
class Received:
    """What the button's last page says: the same for every declaration."""

    request: CancellationRequest
    received: str


def declare_cancellation(
    session: Session,
    env: Environment,
    installed: EnabledPlugins,
    settings: Settings,
    declaration: Declaration,
    locale: str,
    now: datetime,
    today: date,
) -> Received:
    """Record a cancellation, apply it where it identifies a contract, queue the receipt."""
    from shop.web.api.subscriptions import cancel_subscription  # the one cancellation (R10)

    subscription = find_subscription(session, declaration.email, declaration.reference)
    outcome, ends_on, flag = Outcome.UNMATCHED, None, True
    shortened = False
    if subscription is not None:
        planned_end = subscription.term_end
        if subscription.status == SubscriptionStatus.PENDING_CANCEL:
            outcome, ends_on, flag = Outcome.ALREADY_CANCELLED, subscription.term_end, False
        elif subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD):
            outcome, flag = Outcome.NOT_ACTIVE, True
        else:
            earliest = (
                today
                if subscription.status == SubscriptionStatus.ON_HOLD
                else cancellation_end(session, subscription, today)
            )
            wanted = declaration.wanted_end
            if wanted is not None and earliest is not None and wanted > earliest:
                outcome, ends_on, flag = Outcome.LATER_END, None, True
            else:
                cancel_subscription(session, subscription, "customer", now, today)
                ends_on = (
                    subscription.term_end
                    if subscription.status == SubscriptionStatus.PENDING_CANCEL
                    else today
                )
                shortened = (
                    planned_end is not None and ends_on is not None and ends_on < planned_end
                )
                outcome = Outcome.CANCELLED
                # An extraordinary reason, or a shortened paid term (the Dutch rule: what
                # was paid beyond the end), is the operator's to look at.
                flag = declaration.mode == "extraordinary" or shortened
    row = _record(session, declaration, locale, now, outcome, ends_on, flag, subscription, None)
    detailed = subscription is not None and normalise_email(
        declaration.receipt_email
    ) == normalise_email(subscription.email)
    t = Translator.for_settings(settings, locale)
    context: dict[str, Any] = {
        "detailed": detailed,
        "outcome": str(outcome),
        "ends_on": t.date(ends_on, "long") if ends_on else None,
        "shortened": shortened,
        "products": _products(installed, subscription, t) if subscription and detailed else [],
        "agreement": bool(subscription and _is_agreement(installed, subscription)),
    }
    received = _queue_receipt(session, env, settings, declaration, locale, now, row, context)
    if outcome == Outcome.CANCELLED and subscription is not None and not detailed:
        # The holder learns of it at the contract's own address, as from their page.
        notify_cancelled(
            env,
            session,
            installed,
            settings,
            subscription,
            subscriber_name(session, subscription),
            now,
        )
    return Received(row, received)


def withdrawal_deadline(order: Order, timezone: ZoneInfo) -> date:
    """The last day of the 14-day withdrawal period: from the day the contract was made
    (the order paid, or placed), that day not counted (§187, §188 BGB)."""
    start = order.paid_at or order.created_at
    return start.astimezone(timezone).date() + timedelta(days=WITHDRAWAL_DAYS)


def _waived(session: Session, order: Order) -> bool:
    """Whether the right of withdrawal for digital content has expired (§356(5) BGB): the
    consumer made both statements at checkout and the licence was delivered (paid)."""
    made = {statement.kind for statement in statements_of(session, order)}
    return made >= set(STATEMENTS) and order.status == OrderStatus.PAID


def declare_withdrawal(
    session: Session,
    env: Environment,
    settings: Settings,
    declaration: Declaration,
    locale: str,
    now: datetime,
    today: date,
) -> Received:
    """Record a withdrawal; within the period flag it for the operator (the refund is their
    decision) and cancel an unpaid order; queue the receipt."""
    order = None
    match = ORDER_NUMBER.match(declaration.reference or "")
    if match:
        found = session.exec(select(Order).where(Order.number == int(match.group(1)))).first()
        if found is not None and found.email == normalise_email(declaration.email):
            order = found
    outcome, ends_on, flag = Outcome.UNMATCHED, None, True
    if order is not None:
        ends_on = withdrawal_deadline(order, ZoneInfo(settings.timezone))
        if order.organisation or order.tax_number:
            outcome = Outcome.NOT_CONSUMER
        elif today > ends_on:
            outcome, flag = Outcome.PERIOD_OVER, False
        elif _waived(session, order):
            outcome, flag = Outcome.WAIVED, False
        elif order.status in (OrderStatus.PENDING, OrderStatus.QUOTE):
            cancel_order(session, order, now)
            outcome = Outcome.WITHDRAWN_UNPAID
        else:
            outcome = Outcome.WITHDRAWN
    row = _record(session, declaration, locale, now, outcome, ends_on, flag, None, order)
    detailed = order is not None and normalise_email(declaration.receipt_email) == order.email
    t = Translator.for_settings(settings, locale)
    context: dict[str, Any] = {
        "detailed": detailed,
        "outcome": str(outcome),
        "ends_on": t.date(ends_on, "long") if ends_on else None,
        "order_number": order.number if order and detailed else None,
    }
    received = _queue_receipt(session, env, settings, declaration, locale, now, row, context)
    return Received(row, received)


def _record(
    session: Session,
    declaration: Declaration,
    locale: str,
    now: datetime,
    outcome: Outcome,
    ends_on: date | None,
    flag: bool,
    subscription: Subscription | None,
    order: Order | None,
) -> CancellationRequest:
    row = CancellationRequest(
        kind=declaration.kind,
        locale=locale,
        name=declaration.name,
        email=normalise_email(declaration.email),
        reference=declaration.reference,
        contract=declaration.contract,
        mode=declaration.mode,
        reason=declaration.reason,
        wanted_end=declaration.wanted_end,
        receipt_email=declaration.receipt_email,
        received_at=now,
        subscription_id=subscription.id if subscription else None,
        order_id=order.id if order else None,
        ends_on=ends_on,
        outcome=outcome,
        needs_operator=flag,
    )
    session.add(row)
    session.flush()
    return row


RECEIPT_TEXTS = {
    # cancel, the receipt going to the contract's own address
    ("cancel", Outcome.CANCELLED, False): N_(
        "Your subscription is cancelled. It ends on %(date)s and is not renewed."
    ),
    ("cancel", Outcome.CANCELLED, True): N_(
        "Your support agreement is cancelled. It ends on %(date)s; periods already "
        "invoiced remain due."
    ),
    ("cancel", Outcome.ALREADY_CANCELLED, False): N_(
        "Your contract was already cancelled. It ends on %(date)s."
    ),
    ("cancel", Outcome.ALREADY_CANCELLED, True): N_(
        "Your contract was already cancelled. It ends on %(date)s."
    ),
    ("withdraw", Outcome.WITHDRAWN): N_(
        "You withdrew from order %(number)s within the withdrawal period, which ends on "
        "%(date)s. We will process your withdrawal and get back to you about the refund."
    ),
    ("withdraw", Outcome.WITHDRAWN_UNPAID): N_(
        "You withdrew from order %(number)s within the withdrawal period, which ends on "
        "%(date)s. The order was not paid yet: it is cancelled and nothing is due."
    ),
    ("withdraw", Outcome.PERIOD_OVER): N_(
        "The withdrawal period of order %(number)s ended on %(date)s, so it can no longer "
        "be withdrawn from. We will still look at your message."
    ),
    ("withdraw", Outcome.WAIVED): N_(
        "For order %(number)s you agreed that we deliver the digital content before the "
        "withdrawal period ends and acknowledged that you thereby lose your right of "
        "withdrawal. We will still look at your message."
    ),
    ("withdraw", Outcome.NOT_CONSUMER): N_(
        "Order %(number)s was placed for a business (an organisation or a VAT number was "
        "given); the statutory right of withdrawal is a consumer's. We will still look at "
        "your message."
    ),
}
CANCEL_GENERIC = N_(
    "Your cancellation has been received and will be processed. The date the contract "
    "ends is confirmed to the contract's e-mail address."
)
CANCEL_LATER = N_("We will process your cancellation and confirm the date your contract ends.")
EXTRAORDINARY = N_(
    "We will examine the reason for your extraordinary cancellation and get back to you; "
    "the contract ends at the latest on the date above."
)
SHORTENED = N_(
    "As a consumer in the Netherlands you may cancel after the first term with one "
    "month's notice. We will get back to you about what was paid beyond the end date."
)
WITHDRAW_GENERIC = N_("Your withdrawal has been received and will be processed.")


def _receipt_paragraphs(
    declaration: Declaration, context: dict[str, Any], t: Translator
) -> list[str]:
    """What the receipt says came of the declaration; generic unless it goes to the
    contract's own address."""
    outcome = Outcome(context["outcome"])
    if declaration.kind == DeclarationKind.CANCEL:
        if not context["detailed"]:
            return [t.gettext(CANCEL_GENERIC)]
        key = ("cancel", outcome, context["agreement"])
        if key not in RECEIPT_TEXTS or context["ends_on"] is None:
            return [t.gettext(CANCEL_LATER)]
        texts = [t.gettext(RECEIPT_TEXTS[key], date=context["ends_on"])]
        if outcome == Outcome.CANCELLED and declaration.mode == "extraordinary":
            texts.append(t.gettext(EXTRAORDINARY))
        if context["shortened"]:
            texts.append(t.gettext(SHORTENED))
        return texts
    if not context["detailed"] or ("withdraw", outcome) not in RECEIPT_TEXTS:
        return [t.gettext(WITHDRAW_GENERIC)]
    return [
        t.gettext(
            RECEIPT_TEXTS[("withdraw", outcome)],
            number=context["order_number"],
            date=context["ends_on"],
        )
    ]


def _declared(declaration: Declaration, t: Translator) -> list[tuple[str, str]]:
    """The declaration's content as the receipt lists it."""
    rows = [(t.gettext(N_("Name")), declaration.name)]
    if declaration.kind == DeclarationKind.CANCEL:
        rows.append((t.gettext(N_("E-mail address of the contract")), declaration.email))
        if declaration.contract:
            rows.append(
                (t.gettext(N_("Kind of contract")), t.gettext(CONTRACTS[declaration.contract]))
            )
        if declaration.reference:
            rows.append(
                (
                    t.gettext(N_("Licence key, order number or contract number")),
                    declaration.reference,
                )
            )
        if declaration.mode:
            rows.append((t.gettext(N_("Kind of cancellation")), t.gettext(MODES[declaration.mode])))
        if declaration.reason:
            rows.append((t.gettext(N_("Reason")), declaration.reason))
        rows.append(
            (
                t.gettext(N_("End of the contract")),
                t.date(declaration.wanted_end, "long")
                if declaration.wanted_end
                else t.gettext(N_("At the earliest possible date")),
            )
        )
    else:
        rows.append((t.gettext(N_("E-mail address of the order")), declaration.email))
        rows.append((t.gettext(N_("Order number")), declaration.reference or ""))
    rows.append((t.gettext(N_("E-mail address for the receipt")), declaration.receipt_email))
    return rows


def _queue_receipt(
    session: Session,
    env: Environment,
    settings: Settings,
    declaration: Declaration,
    locale: str,
    now: datetime,
    row: CancellationRequest,
    context: dict[str, Any],
) -> str:
    t = Translator.for_settings(settings, locale)
    received = shop_time(now, settings, locale)
    queue_templated(
        session,
        env,
        settings,
        RECEIPT,
        to=declaration.receipt_email,
        locale=locale,
        now=now,
        kind=str(declaration.kind),
        name=declaration.name,
        declared=_declared(declaration, t),
        paragraphs=_receipt_paragraphs(declaration, context, t),
        products=context.get("products", []),
        received=received,
        number=row.id,
    )
    return received


def open_requests(session: Session) -> list[CancellationRequest]:
    """Declarations an operator still has to look at, oldest first."""
    return list(
        session.exec(
            select(CancellationRequest)
            .where(col(CancellationRequest.needs_operator).is_(True))
            .where(col(CancellationRequest.handled_at).is_(None))
            .order_by(col(CancellationRequest.received_at), col(CancellationRequest.id))
        )
    )


def mark_handled(session: Session, request_id: int, operator: str, now: datetime) -> None:
    row = session.get(CancellationRequest, request_id)
    if row is not None and row.handled_at is None:
        row.handled_at = now
        row.handled_by = operator
        session.add(row)
        session.flush()
