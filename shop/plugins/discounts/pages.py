"""The discounts plugin's page in the back office (/admin/promotions): promotions (R28)
and academic customers (R29). A plugin's page like any other: its routes through
``shop_routes``, its template in the plugin's ``templates`` folder, the back office's
login guard and frame from ``shop.web.admin_pages``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session, col, select

from shop.backoffice.operators import OperatorAccount
from shop.catalog.products import N_
from shop.errors import ShopError
from shop.plugins.discounts.models import AcademicCustomer
from shop.plugins.discounts.service import add_promotion, list_promotions, set_academic
from shop.web.admin_pages import (
    admin_page,
    current_operator,
    local_number,
    operator_session,
)
from shop.web.admin_pages import translator_of as _t
from shop.web.deps import Db, Shop, ShopDep
from shop.web.transaction import transaction


def _page(
    db: Session,
    shop: Shop,
    operator: OperatorAccount,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    now = shop.clock.now()
    academic = db.exec(
        select(AcademicCustomer)
        .where(col(AcademicCustomer.academic))
        .order_by(col(AcademicCustomer.email))
    ).all()
    return admin_page(
        "admin/promotions.html",
        shop,
        _t(shop, operator),
        operator,
        status_code=status_code,
        promotions=list_promotions(db),
        running=lambda p: p.starts_at <= now < p.ends_at,
        academic=academic,
        error=error,
        form=form or {},
    )


@get("/admin/promotions", sync_to_thread=True, guards=[operator_session])
@transaction
def promotions_page(request: Request[Any, Any, Any], db: Db, shop: ShopDep) -> Template:
    return _page(db, shop, current_operator(db, request))


def _moment(text: str, shop: Shop, field: str) -> datetime:
    """A date (or date and time) typed in the form, in the shop's time zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ShopError(422, "validation_error", N_("Give the date as YYYY-MM-DD.")).on_field(
            field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=shop.clock.timezone)


@post("/admin/promotions", sync_to_thread=True, guards=[operator_session])
@transaction
def promotion_add(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    operator = current_operator(db, request)
    t = _t(shop, operator)
    try:
        add_promotion(
            db,
            local_number(data.get("percent", ""), t),
            _moment(data.get("starts_at", ""), shop, "starts_at"),
            _moment(data.get("ends_at", ""), shop, "ends_at"),
            data.get("first_term_only") == "1",
            shop.clock.now(),
        )
    except ShopError as error:
        return _page(db, shop, operator, 422, t.gettext(error.detail, **error.params), data)
    return Redirect("/admin/promotions", status_code=303)


@post("/admin/promotions/academic", sync_to_thread=True, guards=[operator_session])
@transaction
def academic_flag(
    request: Request[Any, Any, Any], db: Db, shop: ShopDep, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    """Flag a customer academic, or no longer (R29): from their next priced purchase on."""
    operator = current_operator(db, request)
    t = _t(shop, operator)
    try:
        set_academic(db, data.get("email", ""), data.get("academic") == "1", shop.clock.now())
    except ShopError as error:
        return _page(db, shop, operator, 422, t.gettext(error.detail, **error.params), data)
    return Redirect("/admin/promotions", status_code=303)
