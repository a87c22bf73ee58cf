"""Links mailed to an address, so that only its owner acts on it: a trial's confirmation
(the key is shown after following it) and the release of an address held by an unpaid
order someone else placed (R1), and the login to the account (R35). Stored as hashes;
each works once, for its lifetime (``Settings.link_hours``, ``login_link_minutes``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select


class LinkPurpose(StrEnum):
    TRIAL = "trial"
    RELEASE = "release"
    LOGIN = "login"  # the customer's account (shop.accounts.login)
    EMAIL = "email"  # an account's new address, confirmed from it (R2)


class AddressLink(SQLModel, table=True):
    __tablename__ = "address_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=16)
    email: str = Field(max_length=320, index=True)  # normalised
    sku: str | None = Field(default=None, max_length=100)  # a trial's product
    account: str | None = Field(default=None, max_length=320)  # an e-mail change's old address
    locale: str = Field(max_length=5)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    session: Session,
    purpose: LinkPurpose,
    email: str,
    now: datetime,
    lifetime: timedelta,
    *,
    locale: str = "en",
    sku: str | None = None,
    account: str | None = None,
) -> str:
    """A new link's secret token (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AddressLink(
            token_hash=_digest(token),
            purpose=purpose,
            email=email,
            sku=sku,
            account=account,
            locale=locale,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def use_link(
    session: Session, token: str, purpose: LinkPurpose, now: datetime
) -> AddressLink | None:
    """The link, used now; None when it is unknown, expired or used already. A conditional
    update decides, so two clicks at once cannot both use it."""
    digest = _digest(token)
    taken = session.execute(
        update(AddressLink)
        .where(
            col(AddressLink.token_hash) == digest,
            col(AddressLink.purpose) == purpose.value,
            col(AddressLink.used_at).is_(None),
            col(AddressLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(select(AddressLink).where(AddressLink.token_hash == digest)).one()
