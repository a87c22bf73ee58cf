"""Nobody can block someone else's address (R1).

A trial's key goes only to its address: the trial starts at once (so a purchase with that
address converts it, R4), but the key is shown only after following the link mailed there.
An address held by an unpaid order its owner did not place is released through a link
mailed to that address: following it cancels the unpaid order(s) holding it. The requester
learns nothing either way; the mail goes to the address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jinja2 import Environment
from sqlmodel import Session

from shop.accounts.links import LinkPurpose, create_link, use_link
from shop.licences.models import Licence, LicenceStatus, check_email, normalise_email
from shop.licences.service import find_licence
from shop.mail.send import queue_templated
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order, OrderStatus
from shop.settings import Settings

TRIAL_LINK = "trial_link"
RELEASE_LINK = "release_link"


def send_trial_link(
    session: Session,
    env: Environment,
    settings: Settings,
    licence: Licence,
    locale: str,
    now: datetime,
) -> None:
    """Mail the trial's address the link that shows its key."""
    token = create_link(
        session,
        LinkPurpose.TRIAL,
        licence.email,
        now,
        timedelta(hours=settings.link_hours),
        locale=locale,
    )
    queue_templated(
        session,
        env,
        settings,
        TRIAL_LINK,
        to=licence.email,
        locale=locale,
        now=now,
        trial_ends_at=licence.trial_ends_at,
        link=f"{settings.public_url}/{locale}/trial/{token}",
        hours=settings.link_hours,
    )


def confirm_trial(session: Session, token: str, now: datetime) -> Licence | None:
    """The trial a link was mailed for, the link used; None for a link that is unknown,
    expired or used, or a trial that is no trial any more."""
    link = use_link(session, token, LinkPurpose.TRIAL, now)
    licence = find_licence(session, link.email) if link is not None else None
    if licence is None or licence.status != LicenceStatus.TRIAL:
        return None
    return licence


def holding_order(session: Session, email: str) -> Order | None:
    """The unpaid order that holds ``email``'s licence, if one does."""
    licence = find_licence(session, email)
    if licence is None or licence.reserved_by_order_id is None:
        return None
    order = session.get(Order, licence.reserved_by_order_id)
    return order if order is not None and order.status == OrderStatus.PENDING else None


def request_release(
    session: Session,
    env: Environment,
    settings: Settings,
    raw_email: object,
    locale: str,
    now: datetime,
) -> None:
    """Mail ``raw_email`` a release link when an unpaid order holds it; otherwise nothing.
    The caller answers the same either way (202), so nothing is revealed."""
    email = normalise_email(check_email(raw_email))
    if holding_order(session, email) is None:
        return
    token = create_link(
        session,
        LinkPurpose.RELEASE,
        email,
        now,
        timedelta(hours=settings.link_hours),
        locale=locale,
    )
    queue_templated(
        session,
        env,
        settings,
        RELEASE_LINK,
        to=email,
        locale=locale,
        now=now,
        email=email,
        link=f"{settings.public_url}/{locale}/address/release/{token}",
        hours=settings.link_hours,
    )


def release_address(session: Session, token: str, now: datetime) -> list[Order] | None:
    """Follow a release link: the unpaid orders holding its address are cancelled (R1,
    their reservation released). None for a link that is unknown, expired or used."""
    link = use_link(session, token, LinkPurpose.RELEASE, now)
    if link is None:
        return None
    cancelled = []
    while (order := holding_order(session, link.email)) is not None:
        cancelled.append(cancel_order(session, order, now))
    return cancelled
