"""What a logged-in customer sees (R35), as plain functions of their (normalised) address.

A customer sees the licences whose e-mail is theirs or where they are a contact; the
orders with their e-mail or of those licences; the subscriptions of those licences. Any
other id is answered like an unknown one: 404, never a hint that it exists.
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from shop.accounts.contacts import LicenceContact
from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import Licence
from shop.orders.models import Order
from shop.subscriptions.models import Subscription


def not_visible() -> ShopError:
    return ShopError(404, "not_found", N_("There is nothing at this address."))


def licence_ids(session: Session, email: str) -> list[int]:
    own = select(Licence.id).where(Licence.email == email)
    contact = select(LicenceContact.licence_id).where(LicenceContact.email == email)
    ids = {i for i in session.exec(own) if i is not None}
    ids.update(session.exec(contact))
    return sorted(ids)


def visible_licences(session: Session, email: str) -> list[Licence]:
    ids = licence_ids(session, email)
    if not ids:
        return []
    query = select(Licence).where(col(Licence.id).in_(ids)).order_by(col(Licence.id))
    return list(session.exec(query))


def visible_orders(session: Session, email: str) -> list[Order]:
    ids = licence_ids(session, email)
    mine = col(Order.email) == email
    query = select(Order).where(or_(mine, col(Order.licence_id).in_(ids)) if ids else mine)
    query = query.order_by(col(Order.created_at).desc(), col(Order.id).desc())
    return list(session.exec(query))


def visible_subscriptions(session: Session, email: str) -> list[Subscription]:
    ids = licence_ids(session, email)
    if not ids:
        return []
    query = select(Subscription).where(col(Subscription.licence_id).in_(ids))
    return list(session.exec(query.order_by(col(Subscription.id))))


def licence_for(session: Session, email: str, licence_id: int) -> Licence:
    licence = session.get(Licence, licence_id)
    if licence is None or licence_id not in licence_ids(session, email):
        raise not_visible()
    return licence


def sees_order(session: Session, email: str | None, order: Order) -> bool:
    if not email:
        return False
    return order.email == email or order.licence_id in licence_ids(session, email)


def order_for(session: Session, email: str, number: int) -> Order:
    order = session.exec(select(Order).where(Order.number == number)).first()
    if order is None or not sees_order(session, email, order):
        raise not_visible()
    return order


def subscription_for(session: Session, email: str, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.licence_id not in licence_ids(session, email):
        raise not_visible()
    return subscription
