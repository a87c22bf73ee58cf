"""Operator API tokens: printed once by ``shop admin token NAME``, stored only as a hash.

A token lives until its ``expires_at`` (``shop admin token NAME --days N``; the default
from ``Settings.api_token_days``) or until it is revoked (``shop admin tokens revoke``);
either way it gets the same 401 as a wrong one. ``last_used_at`` shows it is in use.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from shop.catalog.products import N_
from shop.errors import ShopError

# ``last_used_at`` is written at most this often per token, so that a busy integration does
# not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime | None = None  # None: made without a life span (tests, scripts)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, now: datetime, *, days: int | None = None) -> str:
    """A new token for ``name``, valid ``days`` days (None: until revoked)."""
    token = "shop_" + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days) if days is not None else None
    session.add(ApiToken(name=name, token_hash=_digest(token), created_at=now, expires_at=expires))
    session.flush()
    return token


def valid_token(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The token's row while it works (known, not expired, not revoked), else None."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    return row if row is not None and row.valid_at(now) else None


def stale_use(row: ApiToken, now: datetime) -> bool:
    """Whether the row's ``last_used_at`` is worth writing again."""
    return row.last_used_at is None or abs(now - row.last_used_at) >= LAST_USED_RESOLUTION


def record_use(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now))


def operator_for(session: Session, token: str, now: datetime) -> str | None:
    """The operator name a bearer token belongs to, or None (unknown, expired, revoked);
    its last use is recorded in ``session``."""
    row = valid_token(session, token, now)
    if row is None:
        return None
    if stale_use(row, now) and row.id is not None:
        record_use(session, row.id, now)
    return row.name


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_tokens(session: Session, id_or_name: str, now: datetime) -> list[ApiToken]:
    """Revoke the token with this id, or every token of this name; the ones revoked now."""
    statement = select(ApiToken).where(col(ApiToken.revoked_at).is_(None))
    if id_or_name.isdigit():
        statement = statement.where(ApiToken.id == int(id_or_name))
    else:
        statement = statement.where(ApiToken.name == id_or_name)
    revoked = list(session.exec(statement))
    for row in revoked:
        row.revoked_at = now
        session.add(row)
    session.flush()
    return revoked


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case, spaces around)."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def unauthorized() -> ShopError:
    return ShopError(
        401, "unauthorized", N_("Send an operator token as “Authorization: Bearer <token>”.")
    )
