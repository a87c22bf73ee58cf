"""Operator API tokens: printed once by ``shop admin token NAME``, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Field, Session, SQLModel, select

from shop.catalog.products import N_
from shop.errors import ShopError


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, now: datetime) -> str:
    token = "shop_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_digest(token), created_at=now))
    session.flush()
    return token


def operator_for(session: Session, token: str) -> str | None:
    """The operator name a bearer token belongs to, or None."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    return row.name if row else None


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case, spaces around)."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def unauthorized() -> ShopError:
    return ShopError(
        401, "unauthorized", N_("Send an operator token as “Authorization: Bearer <token>”.")
    )
