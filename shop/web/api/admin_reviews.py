"""Operator endpoints for quotes flagged for review: co-terming (R27). Every call needs a
bearer token."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.coterm_review import ACCEPT, REJECT, Decision, decide_review, review_request
from shop.orders.models import Order
from shop.orders.notifications import notify_review
from shop.orders.review import waiting_for_review
from shop.web.api.admin_orders import order_by_number
from shop.web.api.orders import NO_ORDER, order_json
from shop.web.api.schemas import (
    OPERATOR,
    ReviewAnswer,
    ReviewDecision,
    ReviewList,
    answers,
    as_dict,
)
from shop.web.deps import Db, Enabled, Operator, ShopDep, T, mail_queued, provide_operator
from shop.web.transaction import transaction


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def review_json(db: Db, order: Order, today: date) -> dict[str, Any]:
    """What the buyer asked for, beside the quote: the licence to align with and the dates."""
    asked = review_request(db, order, today)
    return {
        "reason": asked.reason,
        "coterm_with": asked.coterm_with,
        "current_maintenance_end": _iso(asked.current_end),
        "requested_maintenance_end": _iso(asked.requested_end),
        "coterm_licence_end": _iso(asked.coterm_end),
        "latest_allowed_end": _iso(asked.latest_end),
    }


def parse_decision(body: Any) -> tuple[Decision, date | None]:
    data = body if isinstance(body, dict) else {}
    decision = data.get("decision")
    if decision not in (ACCEPT, REJECT):
        raise ShopError(
            422, "validation_error", N_("The decision is “accept” or “reject”.")
        ).on_field("decision")
    raw = data.get("aligned_to")
    if raw is None:
        return decision, None
    if isinstance(raw, str):
        try:
            return decision, date.fromisoformat(raw)
        except ValueError:
            pass
    raise ShopError(422, "validation_error", N_("Give the date as YYYY-MM-DD.")).on_field(
        "aligned_to"
    )


@get("/", sync_to_thread=True, responses=answers(200, ReviewList, **OPERATOR))
@transaction
def list_reviews(
    db: Db, shop: ShopDep, enabled: Enabled, t: T, operator: Operator
) -> dict[str, Any]:
    """Quotes waiting for an operator's decision, oldest first, each with the request."""
    today = shop.clock.today()
    return {
        "reviews": [
            {
                "order": order_json(db, order, enabled, shop.settings, t),
                "request": review_json(db, order, today),
            }
            for order in waiting_for_review(db)
        ]
    }


@post(
    "/{order_number:int}",
    sync_to_thread=True,
    status_code=200,
    responses=answers(
        200,
        ReviewAnswer,
        e409=("not_under_review", "licence_not_paid", "currency_mismatch"),
        e422=("maintenance_too_far_ahead",),
        **OPERATOR,
        **NO_ORDER,
    ),
)
@transaction
def decide(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    order_number: FromPath[int],
    data: Annotated[
        ReviewDecision,
        Body(examples=[Example(value={"decision": "accept", "aligned_to": "2026-09-10"})]),
    ],
) -> dict[str, Any]:
    """Accept (``aligned_to``: a new maintenance end, repriced by days) or reject (the
    quote is cancelled) a flagged quote; the buyer is mailed the outcome."""
    decision, aligned_to = parse_decision(as_dict(data))
    order = order_by_number(db, order_number)
    now, today = shop.clock.now(), shop.clock.today()
    decide_review(db, enabled, order, decision, aligned_to, operator, now, today)
    notify_review(db, shop.templates, enabled, shop.settings, order, now)
    mail_queued(request)
    return {
        "order": order_json(db, order, enabled, shop.settings, t),
        "request": review_json(db, order, today),
        "decision": decision,
    }


admin_reviews_router = Router(
    path="/api/v1/admin/reviews",
    route_handlers=[list_reviews, decide],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["admin"],
    security=[{"operatorToken": []}],
)
