"""The discount rules of the seed (R28, R29): pure functions on plain values.

Seed 000, "Preise und Rabatte": "Unsere Preise sind bereits für eine begrenzte Zeit auf
alle Pläne um 20% reduziert. Bei Cloud-Plänen gelten die normalen Preise nach der ersten
Laufzeit." and "Kleine qualifizierte akademische Einrichtungen erhalten weitere 7% Rabatt
auf Serverlizenzen und 5% auf Cloud-Lizenzen." "Conex bietet keine Wiederverkäuferrabatte
an."

How they are read here:

- A promotion reduces every purchase of a licence (a plan) while its window runs. For a
  cloud (subscription) plan with ``first_term_only`` it reduces the first term only: the
  new order, not its renewals nor an upgrade's setup fee. A server (perpetual) licence
  has no terms, so the promotion applies to whatever is bought in the window: the
  licence, its maintenance renewals and tier upgrades ("alle Pläne").
- The academic discount is "weitere" (further) 7 % or 5 %: the seed does not say of what,
  so it is taken of the price after the promotion (20 % then 7 % of the rest, 25.6 % in
  all, not 27 %). It lasts while the customer is flagged: renewals, setup fees and
  maintenance have it too.
- Support agreements (``Kind.AGREEMENT``) are neither server nor cloud licences: no
  discount. There are no reseller discounts (nothing here looks at a reseller).
- Each discount is one line over the whole purchase (base product and add-ons), rounded
  once, half-up, to the currency's minor unit (R15). Of several promotions running at
  once the largest applies: they do not add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shop.catalog.adjustments import Adjustment, Purchase, PurchaseKind
from shop.catalog.products import N_, Kind
from shop.money import Money

PROMOTION = "promotion"
ACADEMIC = "academic"
PROMOTION_LABEL = N_("Promotion −%(percent)s %%")
ACADEMIC_LABEL = N_("Academic discount −%(percent)s %%")
# R29: a further 7 % on server (perpetual) licences, 5 % on cloud (subscription) ones.
ACADEMIC_PERCENT = {Kind.PERPETUAL: Decimal(7), Kind.SUBSCRIPTION: Decimal(5)}


@dataclass(frozen=True)
class PromotionTerms:
    """A promotion as the rules see it: ``percent`` off from ``starts_at`` (inclusive) to
    ``ends_at`` (exclusive)."""

    percent: Decimal
    starts_at: datetime
    ends_at: datetime
    first_term_only: bool = True

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def running_promotion(promotions: Iterable[PromotionTerms], now: datetime) -> PromotionTerms | None:
    """The promotion that applies at ``now``: the largest of those running."""
    running = [p for p in promotions if p.running(now)]
    return max(running, key=lambda p: p.percent) if running else None


def licence_kind(purchase: Purchase) -> Kind | None:
    """What the purchase is a licence of: its base product's kind (add-ons follow it)."""
    kinds = [line.kind for line in purchase.lines if line.kind != Kind.ADDON]
    return kinds[0] if kinds else None


def promotion_applies(promotion: PromotionTerms, purchase: Purchase) -> bool:
    kind = licence_kind(purchase)
    if kind == Kind.PERPETUAL:
        return True
    if kind == Kind.SUBSCRIPTION:
        return purchase.kind == PurchaseKind.NEW or not promotion.first_term_only
    return False


def percent_text(percent: Decimal) -> str:
    """``20``, ``12.5``: a percentage without trailing zeros, as the label shows it."""
    return format(percent.normalize(), "f")


def _off(base: Money, percent: Decimal) -> Money:
    """``percent`` of ``base``, as a negative amount rounded half-up once (R15)."""
    return Money.of(-(base.amount * percent / 100), base.currency)


def discounts(
    purchase: Purchase, promotion: PromotionTerms | None, academic: bool
) -> list[Adjustment]:
    """The discounts of ``purchase``: the running promotion's, then the academic one on
    what is left after it."""
    kind = licence_kind(purchase)
    if kind is None or not purchase.lines:
        return []
    main = next(line for line in purchase.lines if line.kind == kind)
    base = Money.of(0, purchase.currency)
    for line in purchase.lines:
        base = base + line.total
    if base.amount <= 0:
        return []
    found = []
    if promotion is not None and promotion_applies(promotion, purchase):
        off = _off(base, promotion.percent)
        if off.amount:
            found.append(
                Adjustment(
                    main.sku,
                    PROMOTION,
                    PROMOTION_LABEL,
                    off,
                    {"percent": percent_text(promotion.percent)},
                    once=True,  # a promotion is for the purchase in its window (R28)
                )
            )
        base = base + off
    rate = ACADEMIC_PERCENT.get(kind)
    if academic and rate is not None:
        off = _off(base, rate)
        if off.amount:
            found.append(
                Adjustment(main.sku, ACADEMIC, ACADEMIC_LABEL, off, {"percent": percent_text(rate)})
            )
    return found
