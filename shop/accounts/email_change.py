"""An account changes its e-mail address (R2): the new address confirms by a mailed link,
then the account's licences move to it (``change_licence_email``), its contact roles and
open quotes with them. The old address keeps nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from jinja2 import Environment
from sqlmodel import Session, col, select

from shop.accounts.contacts import LicenceContact
from shop.accounts.links import LinkPurpose, create_link, use_link
from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.email_change import change_licence_email
from shop.licences.models import Licence, check_email, normalise_email
from shop.licences.service import find_licence, licence_exists
from shop.mail.send import queue_templated
from shop.orders.models import Order, OrderStatus
from shop.settings import Settings

EMAIL_CHANGE = "email_change"


def request_email_change(
    session: Session,
    env: Environment,
    settings: Settings,
    account: str,
    raw_email: object,
    locale: str,
    now: datetime,
) -> str:
    """Mail the new address a link that confirms the change; the address, normalised."""
    email = normalise_email(check_email(raw_email))
    if email == account:
        raise ShopError(
            422, "validation_error", N_("This is already your account's address.")
        ).on_field("email")
    if find_licence(session, email) is not None:
        raise licence_exists(email)  # R1: a licence cannot move onto another one
    hours = settings.link_hours
    token = create_link(
        session,
        LinkPurpose.EMAIL,
        email,
        now,
        timedelta(hours=hours),
        locale=locale,
        account=account,
    )
    queue_templated(
        session,
        env,
        settings,
        EMAIL_CHANGE,
        to=email,
        locale=locale,
        now=now,
        link=f"{settings.public_url}/{locale}/account/email/{token}",
        old=account,
        hours=hours,
    )
    return email


def confirm_email_change(
    session: Session, settings: Settings, token: str, now: datetime
) -> str | None:
    """Move the account to the address the link was sent to; that address, or None when
    the link is unknown, expired or used (it works once)."""
    link = use_link(session, token, LinkPurpose.EMAIL, now)
    if link is None or link.account is None:
        return None
    old, new = link.account, link.email
    for licence in session.exec(select(Licence).where(Licence.email == old)).all():
        change_licence_email(session, licence, new, settings=settings, now=now)
    for contact in session.exec(select(LicenceContact).where(LicenceContact.email == old)).all():
        already = session.exec(
            select(LicenceContact).where(
                LicenceContact.licence_id == contact.licence_id, LicenceContact.email == new
            )
        ).first()
        if already is not None:
            session.delete(contact)
        else:
            contact.email = new
            session.add(contact)
    for quote in session.exec(
        select(Order).where(
            Order.email == old, Order.status == OrderStatus.QUOTE, col(Order.licence_id).is_(None)
        )
    ).all():
        quote.email = new
        session.add(quote)
    session.flush()
    return new
