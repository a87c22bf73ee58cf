"""A customer logs in by a one-time link mailed to their address (R35).

``request_login_link`` mails a link only to an address the shop knows (a licence's, a
contact's or an order's); the caller answers the same either way, so nobody learns whether
an address has anything here. The link works once, for ``Settings.login_link_minutes``;
only the SHA-256 of its token is stored (``shop.accounts.links``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jinja2 import Environment
from sqlmodel import Session, select

from shop.accounts.contacts import LicenceContact
from shop.accounts.links import LinkPurpose, create_link, use_link
from shop.licences.models import Licence, check_email, normalise_email
from shop.mail.send import queue_templated
from shop.orders.models import Order
from shop.settings import Settings

LOGIN_LINK = "login_link"
CUSTOMER = "customer"  # the session key holding the logged-in customer's address


def known_address(session: Session, email: str) -> bool:
    """Whether ``email`` (normalised) has a licence, a contact role or an order here."""
    for query in (
        select(Licence.id).where(Licence.email == email),
        select(LicenceContact.id).where(LicenceContact.email == email),
        select(Order.id).where(Order.email == email),
    ):
        if session.exec(query.limit(1)).first() is not None:
            return True
    return False


def request_login_link(
    session: Session,
    env: Environment,
    settings: Settings,
    raw_email: object,
    locale: str,
    now: datetime,
) -> None:
    """Mail a login link to ``raw_email`` if the shop knows it; otherwise nothing."""
    email = normalise_email(check_email(raw_email))
    if not known_address(session, email):
        return
    minutes = settings.login_link_minutes
    token = create_link(
        session, LinkPurpose.LOGIN, email, now, timedelta(minutes=minutes), locale=locale
    )
    queue_templated(
        session,
        env,
        settings,
        LOGIN_LINK,
        to=email,
        locale=locale,
        now=now,
        link=f"{settings.public_url}/{locale}/account/login/{token}",
        minutes=minutes,
    )


def use_login_link(session: Session, token: str, now: datetime) -> str | None:
    """The address a link logs in, the link used now; None when it is unknown, expired or
    used already (``use_link`` decides, so two clicks cannot both use it)."""
    link = use_link(session, token, LinkPurpose.LOGIN, now)
    return link.email if link else None
