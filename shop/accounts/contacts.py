"""Further people of a licence (R35): billing or technical contacts who see its orders
and keys in their account. One contact may be the primary one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import Licence, check_email, normalise_email


class ContactRole(StrEnum):
    BILLING = "billing"
    TECHNICAL = "technical"


ROLE_LABELS = {ContactRole.BILLING: N_("Billing"), ContactRole.TECHNICAL: N_("Technical")}


class LicenceContact(SQLModel, table=True):
    __tablename__ = "licence_contact"
    __table_args__ = (UniqueConstraint("licence_id", "email", name="uq_licence_contact"),)

    id: int | None = Field(default=None, primary_key=True)
    licence_id: int = Field(foreign_key="licence.id", index=True)
    email: str = Field(max_length=320, index=True)  # normalised
    role: str = Field(max_length=16)
    is_primary: bool = False
    created_at: datetime


def contacts_of(session: Session, licence: Licence) -> list[LicenceContact]:
    query = select(LicenceContact).where(LicenceContact.licence_id == licence.id)
    return list(session.exec(query.order_by(col(LicenceContact.id))))


def add_contact(
    session: Session, licence: Licence, raw_email: object, role: str, now: datetime
) -> LicenceContact:
    """A new contact of ``licence``; the licensee and a known contact are refused."""
    email = normalise_email(check_email(raw_email))
    if role not in set(ContactRole):
        raise ShopError(422, "validation_error", N_("Choose billing or technical.")).on_field(
            "role"
        )
    if email == licence.email or any(c.email == email for c in contacts_of(session, licence)):
        raise ShopError(
            409, "contact_exists", N_("This address already sees this licence.")
        ).on_field("email")
    contact = LicenceContact(licence_id=licence.id or 0, email=email, role=role, created_at=now)
    session.add(contact)
    session.flush()
    return contact


def remove_contact(session: Session, licence: Licence, contact_id: int) -> None:
    contact = session.get(LicenceContact, contact_id)
    if contact is None or contact.licence_id != licence.id:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    session.delete(contact)
    session.flush()


def claim_primary(session: Session, licence: Licence, email: str) -> None:
    """``email``, a contact of ``licence``, becomes its primary contact; the previous
    primary one stays a contact (secondary)."""
    mine = None
    for contact in contacts_of(session, licence):
        if contact.email == email:
            mine = contact
        elif contact.is_primary:
            contact.is_primary = False
            session.add(contact)
    if mine is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    session.flush()
    mine.is_primary = True
    session.add(mine)
    session.flush()
