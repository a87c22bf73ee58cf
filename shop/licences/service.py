"""Licence lifecycle: reserve (R1), trial (R3), convert or activate when paid (R4, R5, R6)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shop.catalog.products import N_, Kind, Product
from shop.errors import ShopError
from shop.licences.keys import Grant, sign_licence_grant
from shop.licences.models import Licence, LicenceStatus, check_email, normalise_email
from shop.orders.models import Order
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionStatus


def licence_exists(email: str) -> ShopError:
    return ShopError(
        409,
        "licence_exists",
        N_(
            "%(email)s already holds a licence. To change it, use Upgrade or Downgrade in "
            "your subscription; to extend it, renew it; or buy with another e-mail address."
        ),
        email=email,
    ).on_field("email")


def find_licence(session: Session, email: str) -> Licence | None:
    return session.exec(select(Licence).where(Licence.email == normalise_email(email))).first()


def reserve_for_order(
    session: Session, order: Order, product: str, quantities: dict[str, int], now: datetime
) -> Licence:
    """Reserve the e-mail's one licence for an unpaid order, or convert its trial (R1, R4).

    The unique index on the e-mail decides between concurrent checkouts; a trial is taken
    by a conditional update, so two checkouts cannot both convert it.
    """
    assert order.id is not None
    existing = find_licence(session, order.email)
    if existing is None:
        licence = Licence(
            email=order.email,
            status=LicenceStatus.PENDING,
            product=product,
            quantities=quantities,
            reserved_by_order_id=order.id,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(licence)
        except IntegrityError:
            raise licence_exists(order.email) from None
    else:
        taken = session.execute(
            update(Licence)
            .where(
                Licence.id == existing.id,  # type: ignore[arg-type]
                Licence.reserved_by_order_id.is_(None),  # type: ignore[union-attr]
                Licence.trial_ends_at.is_not(None),  # type: ignore[union-attr]
                Licence.paid_until.is_(None),  # type: ignore[union-attr]
            )
            .values(reserved_by_order_id=order.id, updated_at=now)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise licence_exists(order.email)
        session.refresh(existing)
        licence = existing
    order.licence_id = licence.id
    session.add(order)
    session.flush()
    return licence


def release_for_order(session: Session, order: Order) -> None:
    """An unpaid order was cancelled or expired: give the e-mail back (R1)."""
    if order.licence_id is None:
        return
    licence = session.get(Licence, order.licence_id)
    if licence is None or licence.reserved_by_order_id != order.id:
        return
    order.licence_id = None
    if order.subscription_id is not None:
        subscription = session.get(Subscription, order.subscription_id)
        order.subscription_id = None
        if subscription is not None and subscription.status == SubscriptionStatus.PENDING:
            session.add(order)
            session.flush()
            session.delete(subscription)
    session.add(order)
    if licence.status == LicenceStatus.PENDING:
        session.flush()
        session.delete(licence)
    else:  # a trial that was being converted stays the trial it was
        licence.reserved_by_order_id = None
        session.add(licence)
    session.flush()


def highest_tier(enabled: EnabledPlugins, product: Product) -> tuple[Product, dict[str, int]]:
    """What a trial grants (R3): the line's highest tier of the same kind and term, and one of
    each add-on."""
    line = enabled.line_of(product.sku)
    peers = [
        p
        for p in (line.products if line else (product,))
        if p.kind == product.kind
        and p.billing_period_months == product.billing_period_months
        and p.trial_days > 0
    ]
    top = max(peers, key=lambda p: p.tier or 0) if peers else product
    return top, {top.sku: 1, **dict.fromkeys(top.addons, 1)}


def sign_licence(licence: Licence, settings: Settings, now: datetime) -> str:
    assert licence.id is not None
    grant = Grant(
        licence_id=licence.id,
        email=licence.email,
        product=licence.product,
        quantities={sku: int(q) for sku, q in licence.quantities.items()},
        status="trial" if licence.status == LicenceStatus.TRIAL else "active",
        paid_until=licence.paid_until
        if licence.status != LicenceStatus.TRIAL or licence.trial_ends_at is None
        else licence.trial_ends_at.astimezone(ZoneInfo(settings.timezone)).date(),
        issued_at=now,
        support=licence.support,
    )
    return sign_licence_grant(grant, settings)


def start_trial(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    email: object,
    sku: str,
    now: datetime,
) -> Licence:
    """A fully functional trial at the line's highest tier; one per e-mail (R1, R3)."""
    email = check_email(email)
    product = enabled.products.get(sku)
    if product is None or product.trial_days <= 0 or product.kind == Kind.ADDON:
        raise ShopError(422, "no_trial", N_("“%(sku)s” has no free trial."), sku=sku).on_field(
            "sku"
        )
    top, quantities = highest_tier(enabled, product)
    licence = Licence(
        email=normalise_email(email),
        status=LicenceStatus.TRIAL,
        product=top.sku,
        quantities=quantities,
        trial_ends_at=now + timedelta(days=product.trial_days),
        support=top.support.name if top.support else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(licence)
    except IntegrityError:
        raise licence_exists(email) from None
    licence.key = sign_licence(licence, settings, now)
    session.add(licence)
    session.flush()
    return licence


def activate(
    session: Session,
    licence: Licence,
    settings: Settings,
    product: str,
    quantities: dict[str, Any],
    paid_until: date,
    support: str | None,
    now: datetime,
) -> Licence:
    """Paid in full: the licence becomes active with a new key (R4, R5, R6)."""
    licence.status = LicenceStatus.ACTIVE
    licence.product = product
    licence.quantities = dict(quantities)
    licence.paid_until = paid_until
    licence.support = support
    licence.reserved_by_order_id = None
    licence.updated_at = now
    licence.key = sign_licence(licence, settings, now)
    session.add(licence)
    session.flush()
    return licence
