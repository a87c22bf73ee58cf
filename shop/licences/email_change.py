"""Moving a licence to another e-mail address (R2): an operator's action, or the account's
own e-mail change, which takes its licences along."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shop.licences.models import Licence, LicenceStatus, check_email, normalise_email
from shop.licences.service import licence_exists, sign_licence
from shop.settings import Settings
from shop.subscriptions.models import Subscription


def change_licence_email(
    session: Session, licence: Licence, new_email: str, *, settings: Settings, now: datetime
) -> Licence:
    """Give ``licence`` to ``new_email``: its subscriptions follow, and a licence with a key
    gets a new one, since the key carries the licensee's e-mail (R6). The address must not
    hold a licence already (R1); the unique index decides between two concurrent moves."""
    email = normalise_email(check_email(new_email))
    if email == licence.email:
        return licence
    try:
        # The changes start inside the savepoint: begin_nested() flushes what is pending.
        with session.begin_nested():
            licence.email = email
            licence.updated_at = now
            if licence.key is not None and licence.status in (
                LicenceStatus.ACTIVE,
                LicenceStatus.TRIAL,
            ):
                licence.key = sign_licence(licence, settings, now)
            session.add(licence)
            session.flush()
    except IntegrityError:
        raise licence_exists(email) from None
    for subscription in session.exec(
        select(Subscription).where(Subscription.licence_id == licence.id)
    ):
        subscription.email = email
        session.add(subscription)
    session.flush()
    return licence
