"""Activations (issue 14): the instances of the vendor's software that use a licence.

Each licence allows one instance by default (seed 000); a product may allow more
(``Product.instances``) and count the licence's quantity as more licences
(``Product.counts_instances``); a trial allows one. The software activates with the licence
key and a fingerprint of its installation and gets a signed licence file
(``shop.licences.licence_files``); it checks in for a fresh one, and a deactivation (by the
software, the customer or the operator) frees the slot. Every step is recorded in
``activation_event``.

Two activations of the last free slot at once: the licence's row is locked first
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers are serialised already), so the
second counts the first's activation and is refused; the partial unique index on live
(licence, fingerprint) rows keeps one slot per installation whatever happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from shop.catalog.products import N_, Product
from shop.errors import ShopError
from shop.licences.keys import (
    InvalidLicenceKey,
    InvalidSigningKey,
    derived_test_key,
    load_signing_key,
    verify_key,
)
from shop.licences.licence_files import issue_file
from shop.licences.models import (
    Activation,
    ActivationEvent,
    Licence,
    LicenceStatus,
    normalise_email,
)
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionStatus

SOFTWARE, CUSTOMER, OPERATOR = "software", "customer", "operator"
ACTION_LABELS = {
    "activated": N_("activated"),
    "checked_in": N_("checked in"),
    "deactivated": N_("deactivated"),
}
ACTOR_LABELS = {
    SOFTWARE: N_("by the software"),
    CUSTOMER: N_("by the customer"),
    OPERATOR: N_("by an operator"),
}
MAX_FINGERPRINT = 200
MAX_NAME = 200


def unknown() -> ShopError:
    """A wrong key, an unknown activation, another licence's activation: all alike."""
    return ShopError(404, "not_found", N_("There is nothing at this address."))


@dataclass(frozen=True)
class Issued:
    """An activation and its fresh licence file; ``reused``: the installation had one."""

    activation: Activation
    licence: Licence
    licence_file: str
    reused: bool = False


def licence_for_key(session: Session, settings: Settings, key: object) -> Licence:
    """The licence a key the shop signed belongs to (any of its keys: renewals issue new
    ones, the licence id stays); anything else is a 404 that tells nothing."""
    if not isinstance(key, str) or not key.strip() or len(key) > 10_000:
        raise unknown()
    try:
        signing = load_signing_key(settings)
    except InvalidSigningKey:
        raise unknown() from None
    public_keys = [signing.public_key()]
    if settings.payments_test_mode:
        public_keys.append(derived_test_key(signing).public_key())
    for public in public_keys:
        try:
            grant = verify_key(key, public)
        except InvalidLicenceKey:
            continue
        licence = session.get(Licence, grant.licence_id)
        if licence is not None and normalise_email(grant.email) == licence.email:
            return licence
    raise unknown()


def product_of(products: Mapping[str, Product], licence: Licence) -> Product | None:
    return products.get(licence.product)


def instance_limit(licence: Licence, product: Product | None) -> int:
    """How many instances ``licence`` may run at once."""
    if licence.status == LicenceStatus.TRIAL or product is None:
        return 1
    if product.counts_instances:
        bought = int(licence.quantities.get(product.sku, 1) or 1)
        return product.instances * max(bought, 1)
    return product.instances


def refusal(session: Session, licence: Licence, now: datetime) -> ShopError | None:
    """Why ``licence`` may not run (another) instance now, or None. A perpetual licence
    whose maintenance ended still may (R23)."""
    if licence.status == LicenceStatus.PENDING:
        return ShopError(409, "licence_not_paid", N_("This licence has not been paid yet."))
    if licence.status == LicenceStatus.TRIAL and (
        licence.trial_ends_at is not None and licence.trial_ends_at <= now
    ):
        return ShopError(
            409,
            "licence_expired",
            N_("This trial has ended: buy the licence to go on using the software."),
        ).with_reason("trial_ended")
    subscription = session.exec(
        select(Subscription)
        .where(Subscription.licence_id == licence.id)
        .order_by(col(Subscription.id).desc())
    ).first()
    if subscription is not None and subscription.status == SubscriptionStatus.CANCELLED:
        return ShopError(
            409,
            "licence_cancelled",
            N_("This licence was cancelled and its paid term has ended."),
        ).with_reason("cancelled")
    if licence.status == LicenceStatus.EXPIRED or (
        subscription is not None and subscription.status == SubscriptionStatus.EXPIRED
    ):
        return ShopError(
            409,
            "licence_expired",
            N_("This licence has expired: renew it to activate the software again."),
        ).with_reason("expired")
    return None


def _lock(session: Session, licence: Licence) -> None:
    """Hold the licence's row until the transaction ends (PostgreSQL; SQLite serialises
    its writers with BEGIN IMMEDIATE), so slots are counted one activation at a time."""
    session.exec(select(Licence.id).where(Licence.id == licence.id).with_for_update()).first()


def live_activations(session: Session, licence_id: int) -> list[Activation]:
    return list(
        session.exec(
            select(Activation)
            .where(Activation.licence_id == licence_id, col(Activation.deactivated_at).is_(None))
            .order_by(col(Activation.activated_at), col(Activation.id))
        )
    )


def activations_of(session: Session, licence_ids: list[int]) -> dict[int, list[Activation]]:
    """The live activations of each licence, oldest first."""
    found: dict[int, list[Activation]] = {i: [] for i in licence_ids}
    if not licence_ids:
        return found
    rows = session.exec(
        select(Activation)
        .where(
            col(Activation.licence_id).in_(licence_ids), col(Activation.deactivated_at).is_(None)
        )
        .order_by(col(Activation.activated_at), col(Activation.id))
    )
    for row in rows:
        found[row.licence_id].append(row)
    return found


def record(
    session: Session,
    activation: Activation,
    action: str,
    actor: str,
    now: datetime,
    actor_name: str | None = None,
    detail: str = "",
) -> None:
    assert activation.id is not None
    session.add(
        ActivationEvent(
            activation_id=activation.id,
            licence_id=activation.licence_id,
            at=now,
            action=action,
            actor=actor,
            actor_name=actor_name,
            detail=detail[:500],
        )
    )


def events_of(session: Session, licence_id: int, limit: int = 50) -> list[ActivationEvent]:
    return list(
        session.exec(
            select(ActivationEvent)
            .where(ActivationEvent.licence_id == licence_id)
            .order_by(col(ActivationEvent.at).desc(), col(ActivationEvent.id).desc())
            .limit(limit)
        )
    )


def _text(value: object, field: str, limit: int, required: bool) -> str | None:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        if required:
            raise ShopError(422, "validation_error", N_("Please fill in this field.")).on_field(
                field
            )
        return None
    if len(text) > limit or not text.isprintable():
        raise ShopError(
            422,
            "validation_error",
            N_("At most %(count)s printable characters, please."),
            count=limit,
        ).on_field(field)
    return text


def instance_label(activation: Activation) -> str:
    if activation.name:
        return f"{activation.name} ({activation.fingerprint})"
    return activation.fingerprint


def activate_instance(
    session: Session,
    products: Mapping[str, Product],
    settings: Settings,
    key: object,
    fingerprint: object,
    name: object,
    now: datetime,
) -> Issued:
    """Activate an installation of the licence ``key`` belongs to, or hand back the
    installation's live activation (a repeated call takes no second slot)."""
    licence = licence_for_key(session, settings, key)
    print_ = _text(fingerprint, "fingerprint", MAX_FINGERPRINT, required=True)
    label = _text(name, "name", MAX_NAME, required=False)
    assert print_ is not None and licence.id is not None
    _lock(session, licence)
    session.refresh(licence)
    product = product_of(products, licence)
    if (problem := refusal(session, licence, now)) is not None:
        raise problem
    live = live_activations(session, licence.id)
    same = next((a for a in live if a.fingerprint == print_), None)
    if same is not None:
        if label and label != same.name:
            same.name = label
            session.add(same)
        return Issued(same, licence, issue_file(licence, same, product, settings, now), True)
    limit = instance_limit(licence, product)
    if len(live) >= limit:
        raise ShopError(
            409,
            "activation_limit",
            N_(
                "This licence allows %(limit)s instance(s) at once and all are in use: "
                "%(instances)s. Deactivate one in your account to use the licence here."
            ),
            limit=limit,
            instances=", ".join(instance_label(a) for a in live),
            in_use=[
                {
                    "id": a.id,
                    "name": a.name,
                    "fingerprint": a.fingerprint,
                    "activated_at": a.activated_at.isoformat(),
                }
                for a in live
            ],
        )
    activation = Activation(
        licence_id=licence.id,
        fingerprint=print_,
        name=label,
        activated_at=now,
        last_check_in_at=now,
    )
    try:
        with session.begin_nested():
            session.add(activation)
    except IntegrityError:  # the same installation, a moment earlier (the index holds)
        raise ShopError(
            409,
            "activation_limit",
            N_("This installation is being activated already. Please try again."),
        ) from None
    record(session, activation, "activated", SOFTWARE, now, detail=instance_label(activation))
    return Issued(activation, licence, issue_file(licence, activation, product, settings, now))


def activation_for_key(
    session: Session, settings: Settings, activation_id: int, key: object
) -> tuple[Activation, Licence]:
    """The activation, if ``key`` is a key of its licence; else a 404 like an unknown id."""
    licence = licence_for_key(session, settings, key)
    activation = session.get(Activation, activation_id)
    if activation is None or activation.licence_id != licence.id:
        raise unknown()
    return activation, licence


def check_in(
    session: Session,
    products: Mapping[str, Product],
    settings: Settings,
    activation_id: int,
    key: object,
    now: datetime,
) -> Issued:
    """A fresh licence file with the licence's entitlements now (after a renewal, an upgrade
    or more maintenance: the new ones)."""
    activation, licence = activation_for_key(session, settings, activation_id, key)
    if activation.deactivated_at is not None:
        raise ShopError(
            409,
            "activation_deactivated",
            N_("This instance was deactivated. Activate it again to use the licence here."),
        )
    if (problem := refusal(session, licence, now)) is not None:
        raise problem
    activation.last_check_in_at = now
    session.add(activation)
    record(session, activation, "checked_in", SOFTWARE, now)
    product = product_of(products, licence)
    return Issued(activation, licence, issue_file(licence, activation, product, settings, now))


def deactivate(
    session: Session,
    activation: Activation,
    actor: str,
    now: datetime,
    actor_name: str | None = None,
) -> Activation:
    """Free the slot; deactivating twice changes nothing."""
    if activation.deactivated_at is not None:
        return activation
    activation.deactivated_at = now
    activation.deactivated_by = actor
    session.add(activation)
    session.flush()
    record(session, activation, "deactivated", actor, now, actor_name, instance_label(activation))
    return activation


def live_activation_of(session: Session, licence_id: int, activation_id: int) -> Activation:
    """A live activation of this licence (for the account and the back office), else 404."""
    activation = session.get(Activation, activation_id)
    if activation is None or activation.licence_id != licence_id:
        raise unknown()
    return activation
