"""An order as its quote or invoice PDF (R7, R9, R11), in the order's language and currency.

The PDF is never stored: it is rendered from the order's frozen data when it is downloaded
and when a mail that links to it is sent (``mail_documents``). An invoice's PDF carries its
Factur-X XML (``e_invoice_facts``); a business buyer's invoice also downloads as XRechnung
(``has_xrechnung``, ``xrechnung_xml``). A credit note (``credit_note_document``) prints the
invoice it cancels, with negative amounts, in the order's language."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop.catalog.products import N_
from shop.db import reader, session_scope
from shop.documents.einvoice import (
    XRECHNUNG,
    EInvoiceFacts,
    PostalAddress,
    cii_xml,
    payment_means_code,
    render_document,
    seller_address,
)
from shop.documents.pdf import DocumentLine, OrderDocument, Party
from shop.i18n import Translator
from shop.mail import Attachment, Documents, OutboxMessage
from shop.money import Money
from shop.orders.adjustment_lines import is_adjustment
from shop.orders.billing import BillingAddress, address_lines
from shop.orders.consents import statements_of
from shop.orders.credit_notes import credit_note_reference, credit_notes_of, reason_text
from shop.orders.line_text import line_text, payment_label
from shop.orders.models import CreditNote, Order, OrderStatus
from shop.orders.numbers import invoice_reference, quote_reference
from shop.orders.payments import order_lines, payments_of, start_payment
from shop.orders.review import awaiting_review
from shop.plugins.manager import EnabledPlugins, Plugins
from shop.plugins.state import enabled_view
from shop.settings import Settings

DocumentKind = Literal["quote", "invoice"]
QUOTE: DocumentKind = "quote"
INVOICE: DocumentKind = "invoice"
CREDIT_NOTE = "credit_note"  # an outbox message's document: one of the order's credit notes
PDF = "application/pdf"
XML = "application/xml"
# A closed order's document says so and asks for nothing (R8: its number stays taken).
CLOSED: dict[str, Literal["cancelled", "expired"]] = {
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.EXPIRED: "expired",
}


def document_kind(order: Order) -> DocumentKind:
    """An order with an invoice number is its invoice; one without, its quote (R8)."""
    return QUOTE if order.invoice_number is None and order.quote_number is not None else INVOICE


def document_number(order: Order, kind: DocumentKind | None = None) -> str:
    """The document's number as printed (``Q-17``, ``INV-42``), from its own series."""
    if (kind or document_kind(order)) == QUOTE:
        number = quote_reference(order)
    else:
        number = invoice_reference(order)
    return number or str(order.number)  # an order from before the series (R8)


def parse_document_kind(value: str) -> DocumentKind:
    if value == QUOTE:
        return QUOTE
    if value == INVOICE:
        return INVOICE
    raise ValueError(f"not a document kind: {value!r}")


def document_filename(order: Order, t: Translator, kind: DocumentKind | None = None) -> str:
    name = t.gettext("Quote") if (kind or document_kind(order)) == QUOTE else t.gettext("Invoice")
    return f"{name}-{document_number(order, kind)}.pdf"


def order_document(
    session: Session,
    order: Order,
    enabled: EnabledPlugins,
    settings: Settings,
    t: Translator,
    kind: DocumentKind | None = None,
) -> OrderDocument:
    """What the PDF shows; ``kind`` ("quote" or "invoice") defaults to the order's state."""
    start = start_payment(order, enabled, settings, t, online=False)
    kind = kind or document_kind(order)
    issued = order.invoice_issued_at if kind == INVOICE and order.invoice_issued_at else None
    today = t.local(issued or order.created_at).date()  # the day in the shop's time zone
    rate_note = None
    if order.exchange_rate is not None:
        rate_note = t.gettext(
            N_("Exchange rate: 1 EUR = %(rate)s %(currency)s, including a %(margin)s margin."),
            rate=t.decimal(order.exchange_rate),
            currency=order.currency,
            margin=t.percent(order.exchange_margin or Decimal(0)),
        )
    document = OrderDocument(
        kind=kind,
        number=document_number(order, kind),
        order_number=str(order.number),
        quote_number=quote_reference(order),
        under_review=awaiting_review(order),
        closed=CLOSED.get(order.status),
        issued_on=today,
        valid_until=(
            t.local(order.valid_until).date() if order.valid_until and kind == QUOTE else None
        ),
        locale=order.locale,
        seller=Party(
            name=settings.seller_name,
            organisation="",
            email=settings.mail_from,
            country=settings.seller_country,
            tax_number=settings.seller_tax_number,
            address_lines=settings.seller_address,
        ),
        buyer=Party(
            name=order.name,
            organisation=order.organisation or "",
            email=order.email,
            country=order.country,
            tax_number=order.tax_number,
            address_lines=billing_lines(order),
        ),
        statements=tuple(
            t.gettext(
                "Your statement of %(time)s: %(statement)s",
                time=t.date(consent.given_at),
                statement=consent.text,
            )
            for consent in statements_of(session, order)
        ),
        po_number=order.po_number,
        reseller_for=(
            f"{order.reseller_customer_name} <{order.reseller_customer_email}>"
            if order.reseller_customer_name
            else None
        ),
        lines=tuple(
            DocumentLine(
                description=line_text(line, order.currency, t),
                quantity=line.quantity,
                unit_price=Money.of(line.unit_price, order.currency),
                total=Money.of(line.total, order.currency),
                period=t.period(line.billing_period_months),
                discount=is_adjustment(line),
            )
            for line in order_lines(session, order)
        ),
        total=Money.of(order.total, order.currency),
        paid=Money.of(order.paid_amount, order.currency),
        payment_instructions=start.instructions if start else (),
        exchange_rate_note=rate_note,
        payments=tuple(
            f"{t.day(p.created_at)} · {payment_label(p, t, enabled.payment_methods)} · "
            f"{t.money(Money.of(p.amount, order.currency))}"
            for p in payments_of(session, order)
        ),
    )
    if kind == INVOICE:
        document = replace(
            document,
            e_invoice=e_invoice_facts(order, settings, t, document),
            credit_notes=tuple(
                t.gettext(
                    "Cancelled by credit note %(number)s of %(date)s.",
                    number=credit_note_reference(note),
                    date=t.date(note.issued_at.date(), "long"),
                )
                for note in credit_notes_of(session, order)
            ),
        )
    return document


def credit_note_document(
    session: Session,
    note: CreditNote,
    order: Order,
    enabled: EnabledPlugins,
    settings: Settings,
    t: Translator,
) -> OrderDocument:
    """The credit note as printed: the invoice's parties and lines, negative, referencing
    the invoice's number and date; it asks for nothing and records no payment."""
    invoice = order_document(session, order, enabled, settings, t, INVOICE)
    zero = Money.of(0, note.currency)
    issued_on = note.issued_at.date()
    return replace(
        invoice,
        kind="credit_note",
        number=credit_note_reference(note),
        issued_on=issued_on,
        valid_until=None,
        quote_number=None,
        closed=None,
        under_review=False,
        statements=(),
        lines=tuple(
            replace(line, unit_price=zero - line.unit_price, total=zero - line.total)
            for line in invoice.lines
        ),
        total=zero - Money.of(note.amount, note.currency),
        paid=zero,
        payment_instructions=(),
        payments=(),
        # Factur-X type 381, nothing to pay: its terms name the reason, due on its date.
        e_invoice=replace(
            invoice.e_invoice, payment_terms=t.gettext(reason_text(note)), due_on=issued_on
        )
        if invoice.e_invoice is not None
        else None,
        credit_notes=(),
        invoice_number=invoice.number,
        invoice_date=invoice.issued_on,
        reason=t.gettext(reason_text(note)),
    )


def credit_note_filename(note: CreditNote, t: Translator) -> str:
    return f"{t.gettext('Credit note')}-{credit_note_reference(note)}.pdf"


def credit_note_of(session: Session, order: Order, number: int) -> CreditNote | None:
    """The order's credit note ``CN-<number>``, None if it has none by that number."""
    for note in credit_notes_of(session, order):
        if note.number == number:
            return note
    return None


def buyer_address(order: Order) -> PostalAddress:
    """The buyer's billing address as the e-invoice structures it."""
    return PostalAddress(
        country=order.country,
        street=order.street,
        postcode=order.postcode,
        city=order.city,
    )


def is_b2b(order: Order) -> bool:
    """A business buyer: an organisation or a VAT/tax number was given (as at checkout)."""
    return bool((order.organisation or "").strip() or (order.tax_number or "").strip())


def has_xrechnung(order: Order) -> bool:
    """Whether the order's XRechnung can be downloaded: an issued invoice, a B2B buyer."""
    return order.invoice_number is not None and document_kind(order) == INVOICE and is_b2b(order)


def e_invoice_facts(
    order: Order, settings: Settings, t: Translator, document: OrderDocument
) -> EInvoiceFacts:
    """What the invoice's Factur-X / XRechnung XML says beyond the printed document."""
    due = document.issued_on
    if order.expires_at is not None and order.expires_at.date() > due:
        due = order.expires_at.date()  # an unpaid order is released then (R1)
    if document.due.amount <= 0:
        terms: str | None = t.gettext("Paid in full. Thank you.")
    else:
        terms = " ".join(document.payment_instructions) or None
    return EInvoiceFacts(
        seller_address=seller_address(settings.seller_address, settings.seller_country),
        buyer_address=buyer_address(order),
        payment_means=payment_means_code(order.payment_method, order.currency),
        due_on=due,
        buyer_reference=order.po_number or str(order.number),
        vat_exemption_reason=t.gettext("Prices without VAT: no VAT is charged for now."),
        payment_terms=terms,
        payee_iban=settings.bank_iban,
        payee_bic=settings.bank_bic,
        payee_account_name=settings.bank_account_holder,
    )


def xrechnung_filename(order: Order) -> str:
    return f"XRechnung-{document_number(order, INVOICE)}.xml"


def xrechnung_document(
    session: Session, order: Order, enabled: EnabledPlugins, settings: Settings
) -> OrderDocument:
    """The B2B invoice's document in the order's language, for ``xrechnung_xml`` once the
    transaction has ended; only for an order that ``has_xrechnung``."""
    if not has_xrechnung(order):
        raise LookupError(f"order {order.number} has no XRechnung")
    t = Translator.for_settings(settings, order.locale)
    return order_document(session, order, enabled, settings, t, INVOICE)


def xrechnung_xml(document: OrderDocument) -> bytes:
    """The invoice as XRechnung 3.0 in CII syntax (EN 16931 with the German CIUS)."""
    return cii_xml(document, XRECHNUNG)


def billing_lines(order: Order) -> tuple[str, ...]:
    """The buyer's street, postcode and city as their country's post writes them."""
    if not order.street or not order.city:
        return ()  # an order from before the address was asked, or from the API without one
    address = BillingAddress(order.street, order.postcode, order.city, order.country, order.region)
    return address_lines(address)


def mail_documents(engine: Engine, plugins: Plugins, settings: Settings) -> Documents:
    """Renders the quote, invoice or credit note an outbox message links to, for its
    sending: the order is read in a short transaction of its own, the PDF drawn after it
    has ended."""

    def render(message: OutboxMessage) -> Attachment | None:
        if message.document_kind is None or message.order_number is None:
            return None
        credit_note = message.document_kind == CREDIT_NOTE
        kind = None if credit_note else parse_document_kind(message.document_kind)
        t = Translator.for_settings(settings, message.locale)
        with session_scope(reader(engine)) as session:
            number = int(message.order_number)
            order = session.exec(select(Order).where(Order.number == number)).first()
            if order is None:
                raise LookupError(f"order {number} of outbox message {message.id} is gone")
            enabled = enabled_view(session, plugins, settings)
            if credit_note:
                note = credit_note_of(session, order, message.document_number or 0)
                if note is None:
                    raise LookupError(f"credit note of outbox message {message.id} is gone")
                document = credit_note_document(session, note, order, enabled, settings, t)
                name = message.attachment_name or credit_note_filename(note, t)
            else:
                document = order_document(session, order, enabled, settings, t, kind)
                name = message.attachment_name or document_filename(order, t, kind)
        return Attachment(name, message.attachment_mime or PDF, render_document(document, t))

    return render
