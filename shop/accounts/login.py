"""A customer logs in by a one-time link mailed to their address (R35).

``request_login_link`` mails a link only to an address the shop knows (a licence's, a
contact's or an order's); the caller answers the same either way, so nobody learns whether
an address has anything here. The link works once, for ``Settings.login_link_minutes``;
only the SHA-256 of its token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from jinja2 import Environment
from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from shop.accounts.contacts import LicenceContact
from shop.i18n import Translator
from shop.licences.models import Licence, check_email, normalise_email
from shop.mail.outbox import queue_mail
from shop.mail.render import render_mail
from shop.orders.models import Order
from shop.settings import Settings

LOGIN_LINK = "login_link"
CUSTOMER = "customer"  # the session key holding the logged-in customer's address


class LoginLink(SQLModel, table=True):
    __tablename__ = "login_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320, index=True)  # normalised
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    token = secrets.token_urlsafe(32)
    minutes = settings.login_link_minutes
    session.add(
        LoginLink(
            token_hash=_digest(token),
            email=email,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    t = Translator.for_settings(settings, locale)
    mail = render_mail(
        env,
        LOGIN_LINK,
        t,
        link=f"{settings.public_url}/{locale}/account/login/{token}",
        minutes=minutes,
        shop_name=settings.shop_name,
    )
    queue_mail(
        session,
        to=email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        locale=locale,
        kind=LOGIN_LINK,
        now=now,
    )


def use_login_link(session: Session, token: str, now: datetime) -> str | None:
    """The address a link logs in, the link used now; None when it is unknown, expired or
    used already. A conditional update decides, so two clicks cannot both use it."""
    digest = _digest(token)
    taken = session.execute(
        update(LoginLink)
        .where(
            col(LoginLink.token_hash) == digest,
            col(LoginLink.used_at).is_(None),
            col(LoginLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(select(LoginLink.email).where(LoginLink.token_hash == digest)).one()
