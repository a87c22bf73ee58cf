"""The operator's API of the discounts plugin (shared/API.md): promotions (R28) and the
academic flag of a customer (R29). Served through ``shop_routes``, behind the operator's
bearer token like the core's admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import HttpMethod, Response, Router, get, patch, post, route
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from msgspec import Meta, Struct

from shop.plugins.discounts.models import AcademicCustomer, Promotion
from shop.plugins.discounts.service import (
    add_promotion,
    list_promotions,
    set_academic,
)
from shop.web.api.schemas import OPERATOR, answers
from shop.web.deps import Db, Operator, ShopDep, provide_operator
from shop.web.transaction import transaction

Percent = Annotated[
    str | int | float,
    Meta(examples=["20"], description="above 0 and below 100, at most two decimals"),
]


class PromotionRequest(Struct, frozen=True):
    """A percentage off every plan from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive); ``first_term_only``: for cloud plans the first term only (R28)."""

    percent: Percent
    starts_at: datetime
    ends_at: datetime
    first_term_only: bool = True


class PromotionInfo(Struct):
    id: int
    percent: str
    starts_at: datetime
    ends_at: datetime
    first_term_only: bool
    created_at: datetime
    running: bool


class PromotionAnswer(Struct):
    promotion: PromotionInfo


class PromotionList(Struct):
    promotions: list[PromotionInfo]


class CustomerFlag(Struct, frozen=True):
    academic: bool


class CustomerInfo(Struct):
    email: str
    academic: bool
    set_at: datetime


class CustomerAnswer(Struct):
    customer: CustomerInfo


def _aware(moment: datetime, shop: Any) -> datetime:
    """A time without zone is the shop's local time (like ``SHOP_CLOCK``)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=shop.clock.timezone)
    return moment


def promotion_json(promotion: Promotion, now: datetime) -> dict[str, Any]:
    return {
        "id": promotion.id,
        "percent": format(promotion.percent.normalize(), "f"),
        "starts_at": promotion.starts_at,
        "ends_at": promotion.ends_at,
        "first_term_only": promotion.first_term_only,
        "created_at": promotion.created_at,
        "running": promotion.starts_at <= now < promotion.ends_at,
    }


def customer_json(customer: AcademicCustomer) -> dict[str, Any]:
    return {"email": customer.email, "academic": customer.academic, "set_at": customer.set_at}


EXAMPLE = {
    "percent": "20",
    "starts_at": "2025-03-01T00:00:00+01:00",
    "ends_at": "2025-04-01T00:00:00+02:00",
    "first_term_only": True,
}


@route(
    "/promotions",
    http_method=[HttpMethod.OPTIONS],
    include_in_schema=False,
    sync_to_thread=False,
)
def promotions_options() -> Response[None]:
    """Which methods ``/promotions`` takes. Litestar's own OPTIONS answer of a path whose
    methods are registered one by one lists only the first (``Allow: GET, OPTIONS``), so
    this one, registered before them, says it for both."""
    return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS, POST"})


@get("/promotions", sync_to_thread=True, responses=answers(200, PromotionList, **OPERATOR))
@transaction
def get_promotions(db: Db, shop: ShopDep, operator: Operator) -> dict[str, Any]:
    """Every promotion, the latest start first, and whether it runs now."""
    return _listed(db, shop)


@post("/promotions", sync_to_thread=True, responses=answers(201, PromotionAnswer, **OPERATOR))
@transaction
def post_promotion(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    data: Annotated[PromotionRequest, Body(examples=[Example(value=EXAMPLE)])],
) -> dict[str, Any]:
    """Start a promotion (R28): ``percent`` off every plan in its window; for cloud plans
    the first term only, unless ``first_term_only`` is false."""
    return _created(db, shop, data)


def _listed(db: Any, shop: Any) -> dict[str, Any]:
    now = shop.clock.now()
    return {"promotions": [promotion_json(p, now) for p in list_promotions(db)]}


def _created(db: Any, shop: Any, data: PromotionRequest) -> dict[str, Any]:
    now = shop.clock.now()
    promotion = add_promotion(
        db,
        data.percent,
        _aware(data.starts_at, shop),
        _aware(data.ends_at, shop),
        data.first_term_only,
        now,
    )
    return {"promotion": promotion_json(promotion, now)}


@patch(
    "/customers/{email:str}",
    sync_to_thread=True,
    responses=answers(200, CustomerAnswer, **OPERATOR),
)
@transaction
def patch_customer(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    email: FromPath[str],
    data: Annotated[CustomerFlag, Body(examples=[Example(value={"academic": True})])],
) -> dict[str, Any]:
    """Flag a customer (by e-mail) as academic, or no longer (R29): a further 7 % on
    server licences, 5 % on cloud licences, from the next priced purchase on."""
    return {"customer": customer_json(set_academic(db, email, data.academic, shop.clock.now()))}


discounts_router = Router(
    path="/api/v1/admin",
    route_handlers=[promotions_options, get_promotions, post_promotion, patch_customer],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["admin"],
    security=[{"operatorToken": []}],
)
