"""The discount rules (R28, R29) as pure functions: the seed's numbers, and invariants that
hold for any price, percentage and purchase (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shop.catalog.adjustments import Purchase, PurchaseKind, PurchaseLine
from shop.catalog.products import Kind
from shop.money import Money, quantize
from shop.plugins.discounts.rules import (
    ACADEMIC,
    PROMOTION,
    PromotionTerms,
    discounts,
    running_promotion,
)

NOW = datetime(2025, 4, 1, 9, tzinfo=UTC)
TWENTY = PromotionTerms(Decimal(20), NOW - timedelta(days=30), NOW + timedelta(days=30))


def purchase(
    kind: Kind,
    total: str,
    purchase_kind: PurchaseKind = PurchaseKind.NEW,
    currency: str = "EUR",
    addon: str | None = None,
) -> Purchase:
    lines = [PurchaseLine("main", "line", kind, 1, Money.of(total, currency))]
    if addon is not None:
        lines.append(PurchaseLine("extra", "line", Kind.ADDON, 3, Money.of(addon, currency)))
    return Purchase(purchase_kind, "lab@uni.example", "DE", currency, tuple(lines))


def amounts(found: list[object]) -> list[tuple[str, str]]:
    return [(a.code, str(a.amount.amount)) for a in found]  # type: ignore[attr-defined]


def test_r28_r29_seed_numbers_server_licence() -> None:
    # 20 % off 990.00, then a further 7 % of the 792.00 left.
    found = discounts(purchase(Kind.PERPETUAL, "990.00"), TWENTY, academic=True)
    assert amounts(found) == [(PROMOTION, "-198.00"), (ACADEMIC, "-55.44")]
    assert [dict(a.params) for a in found] == [{"percent": "20"}, {"percent": "7"}]
    assert [a.once for a in found] == [True, False]


def test_r28_r29_seed_numbers_cloud_first_term_and_renewal() -> None:
    first = discounts(purchase(Kind.SUBSCRIPTION, "29.00"), TWENTY, academic=True)
    assert amounts(first) == [(PROMOTION, "-5.80"), (ACADEMIC, "-1.16")]
    renewal = purchase(Kind.SUBSCRIPTION, "29.00", PurchaseKind.RENEWAL)
    assert amounts(discounts(renewal, TWENTY, academic=True)) == [(ACADEMIC, "-1.45")]
    assert discounts(renewal, TWENTY, academic=False) == []
    setup_fee = purchase(Kind.SUBSCRIPTION, "45.21", PurchaseKind.SWITCH)
    assert amounts(discounts(setup_fee, TWENTY, academic=True)) == [(ACADEMIC, "-2.26")]


def test_r28_a_promotion_for_every_term_reaches_renewals() -> None:
    every_term = PromotionTerms(TWENTY.percent, TWENTY.starts_at, TWENTY.ends_at, False)
    renewal = purchase(Kind.SUBSCRIPTION, "29.00", PurchaseKind.RENEWAL)
    assert amounts(discounts(renewal, every_term, academic=False)) == [(PROMOTION, "-5.80")]


def test_r28_server_maintenance_bought_in_the_window_is_reduced() -> None:
    maintenance = purchase(Kind.PERPETUAL, "495.00", PurchaseKind.MAINTENANCE)
    assert amounts(discounts(maintenance, TWENTY, academic=True)) == [
        (PROMOTION, "-99.00"),
        (ACADEMIC, "-27.72"),
    ]


def test_r29_agreements_get_no_discount_and_add_ons_follow_their_product() -> None:
    assert discounts(purchase(Kind.AGREEMENT, "120.00"), TWENTY, academic=True) == []
    with_addon = purchase(Kind.SUBSCRIPTION, "120.00", addon="180.00")
    found = discounts(with_addon, TWENTY, academic=True)
    # One line per discount over base product and add-ons (300.00), on the base product.
    assert amounts(found) == [(PROMOTION, "-60.00"), (ACADEMIC, "-12.00")]
    assert {a.sku for a in found} == {"main"}


def test_r28_the_window_includes_its_start_and_excludes_its_end() -> None:
    assert running_promotion([TWENTY], TWENTY.starts_at) == TWENTY
    assert running_promotion([TWENTY], TWENTY.ends_at) is None
    ten = PromotionTerms(Decimal(10), TWENTY.starts_at, TWENTY.ends_at)
    assert running_promotion([ten, TWENTY], NOW) == TWENTY  # the largest, never both


def test_r15_dzd_discounts_round_half_up_to_the_minor_unit() -> None:
    found = discounts(purchase(Kind.PERPETUAL, "153517.00", currency="DZD"), TWENTY, True)
    # 122,813.60 × 7 % = 8,596.952 → 8,596.95
    assert amounts(found) == [(PROMOTION, "-30703.40"), (ACADEMIC, "-8596.95")]
    half = discounts(purchase(Kind.SUBSCRIPTION, "0.10"), None, academic=True)
    assert amounts(half) == [(ACADEMIC, "-0.01")]  # 0.005 rounds half-up, away from zero


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
licence_kinds = st.sampled_from([Kind.PERPETUAL, Kind.SUBSCRIPTION, Kind.AGREEMENT])
purchase_kinds = st.sampled_from(list(PurchaseKind))


@given(prices, percents, licence_kinds, purchase_kinds, st.booleans(), st.booleans())
def test_r28_r29_discounts_never_exceed_the_price_and_are_rounded_once(
    price: Decimal,
    percent: Decimal,
    kind: Kind,
    purchase_kind: PurchaseKind,
    academic: bool,
    first_term_only: bool,
) -> None:
    promotion = PromotionTerms(percent, TWENTY.starts_at, TWENTY.ends_at, first_term_only)
    bought = purchase(kind, str(price), purchase_kind)
    found = discounts(bought, promotion, academic)
    total = price + sum((a.amount.amount for a in found), Decimal(0))
    assert Decimal(0) <= total <= price
    for adjustment in found:
        assert adjustment.amount.amount < 0
        assert adjustment.amount.amount == quantize(adjustment.amount.amount, "EUR")
    codes = [a.code for a in found]
    assert codes in ([], [PROMOTION], [ACADEMIC], [PROMOTION, ACADEMIC])
    if kind == Kind.AGREEMENT:
        assert found == []
    if kind == Kind.SUBSCRIPTION and purchase_kind != PurchaseKind.NEW and first_term_only:
        assert PROMOTION not in codes  # R28: cloud plans, first term only
    if not academic:
        assert ACADEMIC not in codes


@given(prices, percents, licence_kinds, purchase_kinds)
def test_r29_academic_is_a_further_percentage_of_what_the_promotion_leaves(
    price: Decimal, percent: Decimal, kind: Kind, purchase_kind: PurchaseKind
) -> None:
    promotion = PromotionTerms(percent, TWENTY.starts_at, TWENTY.ends_at, False)
    bought = purchase(kind, str(price), purchase_kind)
    plain = discounts(bought, promotion, academic=False)
    flagged = discounts(bought, promotion, academic=True)
    # The academic flag only ever adds a discount, leaving the promotion as it was.
    assert flagged[: len(plain)] == plain
    if kind in (Kind.PERPETUAL, Kind.SUBSCRIPTION):
        rate = Decimal(7) if kind == Kind.PERPETUAL else Decimal(5)
        after_promotion = price + sum((a.amount.amount for a in plain), Decimal(0))
        expected = quantize(-(after_promotion * rate / 100), "EUR")
        found = [a.amount.amount for a in flagged if a.code == ACADEMIC]
        assert found == ([expected] if expected else [])
