"""Exact money (R15) and the one pricing function (R14), tested directly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.catalog.currencies import Currency
from shop.catalog.pricing import ExchangeRate, NotSold, Price, unit_price
from shop.catalog.products import Kind, Product
from shop.money import CurrencyMismatch, Money, minor_unit, quantize

EUR = Currency("EUR", minimum_charge=Decimal("0.50"))
USD = Currency("USD", minimum_charge=Decimal("0.50"))
DZD = Currency("DZD", minimum_charge=Decimal(50), countries=frozenset({"DZ"}), priced_from="EUR")
RATE = {"DZD": ExchangeRate("EUR", "DZD", Decimal(150), Decimal("0.05"))}

prices = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)
rates = st.decimals(min_value=Decimal("0.000001"), max_value=10_000, places=6)
margins = st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6)


def product(eur: Decimal, usd: Decimal | None = None) -> Product:
    listed = {"EUR": eur} if usd is None else {"EUR": eur, "USD": usd}
    return Product("p", "P", "", Kind.SUBSCRIPTION, listed, billing_period_months=12)


def test_r15_minor_units_come_from_babel() -> None:
    assert minor_unit("EUR") == Decimal("0.01")
    assert minor_unit("DZD") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal(1)


def test_r15_rounding_is_half_up_not_bankers() -> None:
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert quantize(Decimal("0.135"), "EUR") == Decimal("0.14")
    assert quantize(Decimal("-0.125"), "EUR") == Decimal("-0.13")
    assert Money.of("45.205479", "EUR").amount == Decimal("45.21")


def test_r15_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = Money.of(1, "EUR") + Money.of(1, "USD")
    assert Money.of(1, "EUR").to_json() == {"amount": "1.00", "currency": "EUR"}


def test_r14_list_price_wins_over_conversion() -> None:
    result = unit_price(product(Decimal("490.00"), Decimal("540.00")), USD, "US", RATE)
    assert result == Price(Money.of("540.00", "USD"))


def test_r14_dzd_only_for_algeria() -> None:
    assert unit_price(product(Decimal(10)), DZD, "DE", RATE) == NotSold("currency_not_allowed")
    assert unit_price(product(Decimal(10)), DZD, None, RATE) == NotSold("currency_not_allowed")
    assert isinstance(unit_price(product(Decimal(10)), DZD, "DZ", RATE), Price)


def test_r14_dzd_without_a_rate_is_not_sold() -> None:
    assert unit_price(product(Decimal(10)), DZD, "DZ", {}) == NotSold("exchange_rate_missing")


def test_r14_product_without_price_in_currency_is_not_sold() -> None:
    assert unit_price(product(Decimal(10)), USD, "US", RATE) == NotSold("price_missing")


@given(eur=prices, rate=rates, margin=margins)
def test_r14_dzd_price_is_eur_times_rate_times_margin_rounded_once(
    eur: Decimal, rate: Decimal, margin: Decimal
) -> None:
    rates_ = {"DZD": ExchangeRate("EUR", "DZD", rate, margin)}
    result = unit_price(product(eur), DZD, "DZ", rates_)
    assert isinstance(result, Price)
    exact = eur * rate * (1 + margin)
    assert result.unit.currency == "DZD"
    assert result.unit.amount.as_tuple().exponent == -2
    assert abs(result.unit.amount - exact) <= Decimal("0.005")
    assert result.rate == rates_["DZD"]  # the rate used travels with the price


@given(eur=prices, rate=rates, margin=margins, more=margins)
def test_r14_a_larger_margin_never_lowers_the_price(
    eur: Decimal, rate: Decimal, margin: Decimal, more: Decimal
) -> None:
    low, high = sorted([margin, more])
    cheap = unit_price(product(eur), DZD, "DZ", {"DZD": ExchangeRate("EUR", "DZD", rate, low)})
    dear = unit_price(product(eur), DZD, "DZ", {"DZD": ExchangeRate("EUR", "DZD", rate, high)})
    assert isinstance(cheap, Price) and isinstance(dear, Price)
    assert cheap.unit.amount <= dear.unit.amount
