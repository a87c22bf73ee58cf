"""Reading and writing the discounts plugin's tables, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import check_email, normalise_email
from shop.plugins.discounts.models import AcademicCustomer, Promotion
from shop.plugins.discounts.rules import PromotionTerms

# Per session and moment: what pricing reads, so a renewal batch of hundreds of
# subscriptions reads the promotions and the academic flags once, not once per renewal.
CACHE = "discounts.pricing"


def _invalid(field: str, detail: str, **params: Any) -> ShopError:
    return ShopError(422, "validation_error", detail, **params).on_field(field)


def parse_percent(raw: object) -> Decimal:
    """A percentage strictly between 0 and 100, with at most two decimals."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _invalid("percent", N_("The percentage must be a number above 0 and below 100."))
    try:
        percent = Decimal(str(raw).strip())
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite() or not 0 < percent < 100:
        raise _invalid("percent", N_("The percentage must be a number above 0 and below 100."))
    if percent != percent.quantize(Decimal("0.01")):
        raise _invalid("percent", N_("The percentage has at most two decimals."))
    return percent.quantize(Decimal("0.01"))


def add_promotion(
    session: Session,
    percent: object,
    starts_at: datetime,
    ends_at: datetime,
    first_term_only: bool,
    now: datetime,
) -> Promotion:
    """A new promotion (R28); its window ends after it starts."""
    value = parse_percent(percent)
    if ends_at <= starts_at:
        raise _invalid("ends_at", N_("The promotion must end after it starts."))
    promotion = Promotion(
        percent=value,
        starts_at=starts_at,
        ends_at=ends_at,
        first_term_only=first_term_only,
        created_at=now,
    )
    session.add(promotion)
    session.flush()
    session.info.pop(CACHE, None)
    return promotion


def list_promotions(session: Session) -> list[Promotion]:
    """Every promotion, the latest start first."""
    statement = select(Promotion).order_by(col(Promotion.starts_at).desc(), col(Promotion.id))
    return list(session.exec(statement))


def set_academic(session: Session, email: str, academic: bool, now: datetime) -> AcademicCustomer:
    """Flag or unflag the customer ``email`` as academic (R29)."""
    address = normalise_email(check_email(email, "email"))
    customer = session.get(AcademicCustomer, address)
    if customer is None:
        customer = AcademicCustomer(email=address, academic=academic, set_at=now)
    else:
        customer.academic, customer.set_at = academic, now
    session.add(customer)
    session.flush()
    session.info.pop(CACHE, None)
    return customer


def academic_customer(session: Session, email: str) -> AcademicCustomer | None:
    return session.get(AcademicCustomer, normalise_email(email))


def pricing_view(session: Session, now: datetime) -> tuple[list[PromotionTerms], frozenset[str]]:
    """The promotions running at ``now`` and the academic customers' e-mails."""
    cached = session.info.get(CACHE)
    if cached is not None and cached[0] == now:
        return cached[1], cached[2]
    running = session.exec(
        select(Promotion).where(Promotion.starts_at <= now, Promotion.ends_at > now)
    ).all()
    terms = [PromotionTerms(p.percent, p.starts_at, p.ends_at, p.first_term_only) for p in running]
    academic = frozenset(
        session.exec(
            select(AcademicCustomer.email).where(col(AcademicCustomer.academic).is_(True))
        ).all()
    )
    session.info[CACHE] = (now, terms, academic)
    return terms, academic
