"""The pricing pipeline: what a buyer pays (R14, R15, R28, R29).

Every priced purchase goes through here: a first order or quote (``price_cart``), a
renewal or an agreement's invoice, an upgrade's setup fee, a maintenance renewal or tier
upgrade (``adjust``). First the list price: the catalog's unit price in the currency, a
DZD price from the frozen exchange rate (``shop.catalog.pricing``, ``shop.orders.cart``).
Then the enabled plugins' ``shop_price_adjustments`` (promotions, academic discounts),
each answer a line of its own (``shop.orders.adjustment_lines``). The total is the sum of
all lines. Where no enabled plugin adjusts a kind of purchase, nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from shop.catalog.adjustments import Adjustment, Purchase, PurchaseKind, PurchaseLine
from shop.catalog.currencies import Currency
from shop.catalog.pricing import ExchangeRate
from shop.clock import Clock
from shop.money import Money
from shop.orders.adjustment_lines import adjustment_line
from shop.orders.cart import CartItem, PricedCart, price_items
from shop.plugins.context import Customer, HookContext
from shop.plugins.manager import EnabledPlugins


class InvalidAdjustment(ValueError):
    """A plugin answered an adjustment the shop cannot charge (a plugin's bug)."""


@dataclass(frozen=True)
class Adjusted:
    """A purchase's adjustments, their order lines, and what it costs with them."""

    adjustments: tuple[Adjustment, ...]
    lines: tuple[dict[str, Any], ...]  # the adjustments' ``order_line`` columns
    total: Money  # the list total plus every adjustment
    recurring: Money  # the total without the adjustments for this purchase only

    @classmethod
    def none(cls, total: Money) -> Adjusted:
        return cls((), (), total, total)


def context_for(
    enabled: EnabledPlugins,
    session: Session | None,
    now: datetime,
    customer: Customer | None,
) -> HookContext:
    """The hook context of a pricing: the caller's transaction and moment, the buyer."""
    settings = enabled.settings
    return HookContext(
        settings=settings,
        clock=Clock.from_setting(settings.clock, settings.timezone),
        customer=customer,
        session=session,
        now=now,
    )


def adjust(context: HookContext, enabled: EnabledPlugins, purchase: Purchase) -> Adjusted:
    """Ask every enabled plugin for its adjustments of ``purchase``; each is checked (in the
    purchase's currency, on one of its lines, already rounded) and the total never goes
    below zero."""
    listed = Money.of(0, purchase.currency)
    for line in purchase.lines:
        listed = listed + line.total
    if not purchase.lines or not enabled.adjusts_prices:
        return Adjusted.none(listed)
    adjustments = tuple(enabled.price_adjustments(context, purchase))
    skus = {line.sku for line in purchase.lines}
    total, recurring = listed, listed
    for adjustment in adjustments:
        amount = adjustment.amount
        if (
            amount.currency != purchase.currency
            or adjustment.sku not in skus
            or Money.of(amount.amount, amount.currency) != amount
        ):
            raise InvalidAdjustment(f"{adjustment.code}: {amount} on {adjustment.sku}")
        total = total + amount
        if not adjustment.once:
            recurring = recurring + amount
    if total.amount < 0 or recurring.amount < 0:
        raise InvalidAdjustment(f"adjustments exceed the price of {purchase.kind} {skus}")
    lines = tuple(adjustment_line(a) for a in adjustments)
    return Adjusted(adjustments, lines, total, recurring)


def purchase_lines(
    enabled: EnabledPlugins, rows: Iterable[Mapping[str, Any]], currency: str
) -> tuple[PurchaseLine, ...]:
    """The purchase lines of order-line rows (``sku``, ``quantity``, ``total`` and, for a
    line that is not a catalog product, the product ``of`` which it is)."""
    lines = []
    for row in rows:
        product = enabled.products.get(str(row.get("of") or row["sku"]))
        if product is None:
            continue  # not a product on sale here: nothing a plugin can price
        line = enabled.line_of(product.sku)
        lines.append(
            PurchaseLine(
                sku=str(row["sku"]),
                line=line.code if line else "",
                kind=product.kind,
                quantity=int(row["quantity"]),
                total=Money.of(row["total"], currency),
                billing_period_months=product.months_per_charge,
            )
        )
    return tuple(lines)


def adjust_rows(
    context: HookContext,
    enabled: EnabledPlugins,
    kind: PurchaseKind,
    customer: Customer,
    currency: str,
    rows: Sequence[dict[str, Any]],
) -> Adjusted:
    """``adjust`` for a follow-up order's line rows (renewal, setup fee, maintenance); a
    row that is no catalog product names the product it is ``of``."""
    purchase = Purchase(
        kind=kind,
        email=customer.email,
        country=customer.country,
        currency=currency,
        lines=purchase_lines(enabled, rows, currency),
    )
    listed = Money.of(0, currency)
    for row in rows:
        listed = listed + Money.of(row["total"], currency)
    if not purchase.lines:
        return Adjusted.none(listed)  # nothing a plugin can price: the rows' own total
    adjusted = adjust(context.for_customer(customer), enabled, purchase)
    # Rows that are no product on sale any more still count, at their own total.
    priced = adjusted.total - sum_of(purchase.lines, currency)
    lasting = adjusted.recurring - sum_of(purchase.lines, currency)
    return replace(adjusted, total=listed + priced, recurring=listed + lasting)


def sum_of(lines: Iterable[PurchaseLine], currency: str) -> Money:
    total = Money.of(0, currency)
    for line in lines:
        total = total + line.total
    return total


def recurring_price(
    session: Session,
    enabled: EnabledPlugins,
    customer: Customer,
    currency: str,
    lines: Iterable[Any],
    now: datetime,
) -> Money:
    """What a subscription bought with these product lines pays for a later term: priced
    as a renewal (R28: no first-term promotion; R29: a lasting academic discount)."""
    rows = [
        dict(line)
        if isinstance(line, Mapping)
        else {"sku": line.sku, "quantity": line.quantity, "total": line.total}
        for line in lines
    ]
    context = context_for(enabled, session, now, customer)
    return adjust_rows(context, enabled, PurchaseKind.RENEWAL, customer, currency, rows).total


def with_rows(rows: Sequence[dict[str, Any]], adjusted: Adjusted) -> list[dict[str, Any]]:
    """The product rows followed by the adjustments' rows, ``of`` dropped."""
    return [{k: v for k, v in row.items() if k != "of"} for row in rows] + list(adjusted.lines)


def cart_purchase(
    cart: PricedCart, kind: PurchaseKind, customer: Customer | None, country: str | None
) -> Purchase:
    """A cart as a purchase; ``email`` is empty while the buyer is not known."""
    return Purchase(
        kind=kind,
        email=customer.email if customer else "",
        country=country,
        currency=cart.total.currency,
        lines=tuple(
            PurchaseLine(
                sku=item.product.sku,
                line=cart.line.code,
                kind=item.product.kind,
                quantity=item.quantity,
                total=item.total,
                billing_period_months=item.product.months_per_charge,
            )
            for item in cart.items
        ),
    )


def price_cart(
    session: Session | None,
    enabled: EnabledPlugins,
    items: list[CartItem],
    currency: Currency,
    country: str | None,
    rates: dict[str, ExchangeRate],
    now: datetime,
    customer: Customer | None = None,
) -> PricedCart:
    """What a new purchase costs: list prices (currency, DZD rate), then the adjustments
    for ``customer`` (None before the e-mail is known: the cart shows what applies to
    anyone, e.g. a promotion, but no academic discount)."""
    cart = price_items(items, enabled, currency, country, rates)
    context = context_for(enabled, session, now, customer)
    purchase = cart_purchase(cart, PurchaseKind.NEW, customer, country)
    adjusted = adjust(context, enabled, purchase)
    return replace(cart, total=adjusted.total, adjustments=adjusted.adjustments)
