"""An order as its quote or invoice PDF (R7, R9, R11), in the order's language and currency."""

from __future__ import annotations

from sqlmodel import Session

from shop.catalog.products import N_
from shop.documents.pdf import DocumentLine, OrderDocument, Party, render_pdf
from shop.i18n import Translator
from shop.money import Money
from shop.orders.models import Order, OrderStatus
from shop.orders.payments import order_lines, start_payment
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings


def document_filename(order: Order, t: Translator) -> str:
    kind = t.gettext("Quote") if order.status == OrderStatus.QUOTE else t.gettext("Invoice")
    return f"{kind}-{order.number}.pdf"


def order_document(
    session: Session, order: Order, enabled: EnabledPlugins, settings: Settings, t: Translator
) -> OrderDocument:
    start = start_payment(order, enabled, settings, t, online=False)
    today = order.created_at.date()
    rate_note = None
    if order.exchange_rate is not None:
        rate_note = t.gettext(
            N_("Exchange rate: 1 EUR = %(rate)s %(currency)s, including a %(margin)s margin."),
            rate=f"{order.exchange_rate.normalize():f}",
            currency=order.currency,
            margin=f"{(order.exchange_margin or 0) * 100:.2f} %",
        )
    return OrderDocument(
        kind="quote" if order.status == OrderStatus.QUOTE else "invoice",
        number=str(order.number),
        issued_on=today,
        valid_until=order.valid_until.date() if order.valid_until else None,
        locale=order.locale,
        seller=Party(
            name=settings.seller_name,
            organisation="",
            email=settings.mail_from,
            country="",
            tax_number=settings.seller_tax_number,
            address_lines=settings.seller_address,
        ),
        buyer=Party(
            name=order.name,
            organisation=order.organisation or "",
            email=order.email,
            country=order.country,
            tax_number=order.tax_number,
        ),
        po_number=order.po_number,
        reseller_for=(
            f"{order.reseller_customer_name} <{order.reseller_customer_email}>"
            if order.reseller_customer_name
            else None
        ),
        lines=tuple(
            DocumentLine(
                description=t.gettext(line.name),
                quantity=line.quantity,
                unit_price=Money.of(line.unit_price, order.currency),
                total=Money.of(line.total, order.currency),
                period=t.period(line.billing_period_months),
            )
            for line in order_lines(session, order)
        ),
        total=Money.of(order.total, order.currency),
        paid=Money.of(order.paid_amount, order.currency),
        payment_instructions=start.instructions if start else (),
        exchange_rate_note=rate_note,
    )


def order_pdf(
    session: Session, order: Order, enabled: EnabledPlugins, settings: Settings, t: Translator
) -> bytes:
    return render_pdf(order_document(session, order, enabled, settings, t), t)
