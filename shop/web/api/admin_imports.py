"""Importing an existing customer's subscription with its licence (R33): one call, all or
nothing (``shop.subscriptions.imports``)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import post
from litestar.openapi.spec import Example
from litestar.params import Body

from shop.subscriptions.imports import ImportInvalid, import_subscription
from shop.subscriptions.service import events
from shop.web.api.orders import licence_json
from shop.web.api.schemas import (
    IMPORT_EXAMPLE,
    OPERATOR,
    ImportAnswer,
    ImportRequest,
    answers,
    as_dict,
)
from shop.web.api.subscriptions import subscription_json
from shop.web.deps import Db, Enabled, Operator, ShopDep, T
from shop.web.transaction import transaction


@post(
    "/subscriptions",
    sync_to_thread=True,
    status_code=201,
    responses=answers(
        201,
        ImportAnswer,
        e409=("licence_exists",),
        e422=(
            "unknown_product",
            "currency_unknown",
            "currency_not_allowed",
            "method_not_available",
            "idempotency_key_reused",
        ),
        **OPERATOR,
    ),
)
@transaction
def import_subscription_route(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    data: Annotated[
        ImportRequest,
        Body(examples=[Example(summary="a legacy package 3", value=IMPORT_EXAMPLE)]),
    ],
) -> dict[str, Any]:
    """Import an existing customer's subscription (legacy packages included) with its
    licence: its term, items and status as they are; a signed key unless ``licence_key``
    brings one. Nothing is saved when anything is wrong (422 naming the field)."""
    try:
        licence, subscription = import_subscription(
            db,
            as_dict(data),
            enabled=enabled,
            settings=shop.settings,
            now=shop.clock.now(),
            actor=operator,
        )
    except ImportInvalid as invalid:
        first = invalid.errors[0]
        first.fields = (
            [e.field or "body" for e in invalid.errors] if len(invalid.errors) > 1 else []
        )
        raise first from None
    body = subscription_json(db, subscription, enabled, shop, t)
    body["events"] = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "reason": e.reason,
        }
        for e in events(db, subscription)
    ]
    return {"subscription": body, "licence": licence_json(licence)}
