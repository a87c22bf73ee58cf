"""Back-office operators: a password hashed with argon2 and, if they want it, a TOTP code.
Created by ``shop admin create EMAIL``; the API tokens stay for integrations."""

from __future__ import annotations

from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.i18n import LOCALES
from shop.licences.models import check_email, normalise_email

HASHER = PasswordHasher()
MIN_PASSWORD = 12


class OperatorAccount(SQLModel, table=True):
    __tablename__ = "operator"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # normalised
    password_hash: str = Field(max_length=200)
    totp_secret: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="en", max_length=5)  # the back office's language for them
    created_at: datetime
    last_login_at: datetime | None = None


def create_operator(
    session: Session,
    email: str,
    password: str,
    now: datetime,
    *,
    locale: str = "en",
    with_totp: bool = False,
) -> OperatorAccount:
    """A new operator; with ``with_totp`` their login also asks for an authenticator code."""
    if len(password) < MIN_PASSWORD:
        raise ShopError(
            422,
            "validation_error",
            N_("The password needs at least %(count)s characters."),
            count=MIN_PASSWORD,
        ).on_field("password")
    if locale not in LOCALES:
        raise ShopError(422, "validation_error", N_("Unknown language.")).on_field("locale")
    operator = OperatorAccount(
        email=normalise_email(check_email(email)),
        password_hash=HASHER.hash(password),
        totp_secret=pyotp.random_base32() if with_totp else None,
        locale=locale,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(operator)
    except IntegrityError:
        raise ShopError(
            409, "operator_exists", N_("There is already an operator %(email)s."), email=email
        ).on_field("email") from None
    return operator


def totp_uri(operator: OperatorAccount, issuer: str) -> str | None:
    """The ``otpauth://`` address an authenticator app reads (as text or a QR code)."""
    if operator.totp_secret is None:
        return None
    return pyotp.TOTP(operator.totp_secret).provisioning_uri(
        name=operator.email, issuer_name=issuer
    )


def authenticate(
    session: Session, email: str, password: str, code: str, now: datetime
) -> OperatorAccount | None:
    """The operator these credentials belong to, or None: the caller says the same for a
    wrong address, a wrong password and a wrong code, so none of them is revealed."""
    operator = session.exec(
        select(OperatorAccount).where(OperatorAccount.email == normalise_email(email))
    ).first()
    if operator is None:
        HASHER.hash(password)  # as slow as a wrong password: timing tells nothing either
        return None
    try:
        HASHER.verify(operator.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if operator.totp_secret is not None and not pyotp.TOTP(operator.totp_secret).verify(
        code.strip().replace(" ", ""), for_time=now, valid_window=1
    ):
        return None
    return operator


def operator_by_id(session: Session, operator_id: object) -> OperatorAccount | None:
    if not isinstance(operator_id, int):
        return None
    return session.get(OperatorAccount, operator_id)
