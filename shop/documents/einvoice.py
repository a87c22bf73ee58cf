"""E-invoices: every invoice PDF is also a Factur-X / ZUGFeRD invoice (PDF/A-3 with the
embedded CII XML, profile EN 16931), and a B2B buyer can download the same invoice as an
XRechnung (CII syntax) of its own (R9, R11, R15).

The XML is built with ``drafthorse`` from the ``OrderDocument`` the PDF is drawn from, plus
the few facts the PDF prints as plain text only (``EInvoiceFacts``: structured addresses,
payment means, due date, buyer reference). ``factur-x`` embeds it into the PDF. Nothing here
reads the database: the order code fills the values (``shop.orders.documents``).

VAT (R11: none is charged): every line, allowance and the breakdown use category ``E``
(exempt) at 0 % with the PDF's own sentence as exemption reason (BT-120). ``O`` (outside the
scope of VAT) would forbid the seller's and the buyer's VAT ids on the invoice (BR-O-02,
BR-O-03), which we print; ``AE`` (reverse charge) needs both VAT ids and claims the buyer owes
the tax, which is not what R11 says. ``E`` validates for consumers and businesses alike, in
and outside the EU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from typing import Any

import facturx
from drafthorse.models.accounting import (
    ApplicableTradeTax,
    CategoryTradeTax,
    TradeAllowanceCharge,
)
from drafthorse.models.document import Document
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
from PIL import ImageCms
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from shop.documents.pdf import OrderDocument, Party, render_pdf
from shop.i18n import Translator
from shop.money import Money, quantize

# BT-24, the specification identifier: the Factur-X profile EN 16931 ("COMFORT") and the
# German CIUS XRechnung 3.0 on top of it.
FACTURX_EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

VAT_EXEMPT = "E"  # see the module's docstring
ONE = "C62"  # UN/ECE Rec. 20 "one": a licence, a seat, a month of support
INVOICE_TYPE = "380"  # UNTDID 1001 commercial invoice
CREDIT_NOTE_TYPE = "381"  # UNTDID 1001 credit note: its amounts are positive (BR-DE, EN 16931)

# UNTDID 4461 payment means (BT-81) per payment method code (API.md). Bank transfer is a
# SEPA credit transfer (58) in EUR, a plain credit transfer (30) otherwise.
PAYMENT_MEANS = {"card": "54", "paypal": "68", "cheque": "20"}
CREDIT_TRANSFER = "30"
SEPA_CREDIT_TRANSFER = "58"
NOT_DEFINED = "1"  # a third-party method the code list has no code for
_VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z+*.]{2,13}$")  # BT-31/BT-48: a country prefix


@dataclass(frozen=True)
class PostalAddress:
    """A structured address; what is unknown stays None (only the country is required)."""

    country: str  # ISO 3166 alpha-2
    street: str | None = None
    postcode: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class EInvoiceFacts:
    """What the e-invoice needs beyond the printed document."""

    seller_address: PostalAddress
    buyer_address: PostalAddress
    payment_means: str  # UNTDID 4461
    due_on: date  # BT-9
    buyer_reference: str  # BT-10: the PO number, else the order number (XRechnung needs one)
    vat_exemption_reason: str  # BT-120, translated: the PDF's "no VAT is charged" sentence
    payment_terms: str | None = None  # BT-20, translated
    payee_iban: str | None = None  # BT-84, for a credit transfer
    payee_bic: str | None = None  # BT-86
    payee_account_name: str | None = None  # BT-85


def payment_means_code(method: str, currency: str) -> str:
    """The UNTDID 4461 code of a payment method (BT-81)."""
    if method == "bank_transfer":
        return SEPA_CREDIT_TRANSFER if currency == "EUR" else CREDIT_TRANSFER
    return PAYMENT_MEANS.get(method, NOT_DEFINED)


def seller_address(lines: tuple[str, ...], country: str) -> PostalAddress:
    """The seller's printed address lines ("Musterstraße 1", "10115 Berlin", ...) as
    street, postcode and city: the first line is the street, the first line that starts
    with a postcode (a word with a digit) gives postcode and city."""
    street = lines[0] if lines else None
    for line in lines[1:]:
        match = re.match(r"^(\S*\d\S*(?: [A-Z]{2})?)\s+(.+)$", line.strip())
        if match:
            return PostalAddress(country, street, match.group(1), match.group(2))
    return PostalAddress(country, street)


def _amount(money: Money) -> Decimal:
    """An amount with exactly its currency's minor digits (R15): "120.00", "96075.00"."""
    return quantize(money.amount, money.currency)


def _party(target: Any, party: Party, address: PostalAddress) -> None:
    """Name, contact, address, e-mail and tax registration of a seller or buyer."""
    target.name = party.organisation or party.name
    if party.organisation and party.name:
        target.contact.person_name = party.name
    if party.email:
        target.contact.email.address = party.email
    if address.postcode:
        target.address.postcode = address.postcode
    if address.street:
        target.address.line_one = address.street
    if address.city:
        target.address.city_name = address.city
    target.address.country_id = address.country
    if party.email:
        target.electronic_address.uri_ID = ("EM", party.email)  # BT-34 / BT-49
    number = (party.tax_number or "").replace(" ", "").upper()
    if _VAT_ID.match(number):
        target.tax_registrations.add(TaxRegistration(id=("VA", number)))
    elif number:  # a national tax number without a country prefix (e.g. an Algerian NIF)
        target.legal_organization.id = number


def _tax(target: Any) -> None:
    target.type_code = "VAT"
    target.category_code = VAT_EXEMPT
    target.rate_applicable_percent = Decimal("0.00")


def cii_xml(doc: OrderDocument, guideline: str = FACTURX_EN16931) -> bytes:
    """The invoice as UN/CEFACT Cross Industry Invoice (EN 16931), UTF-8 bytes.

    ``guideline`` is BT-24: ``FACTURX_EN16931`` for the XML inside the PDF, ``XRECHNUNG``
    for the download. Not validated here (it is done per download): the tests validate it
    against the Factur-X EN 16931 and the full CII D22B schemas."""
    facts = doc.e_invoice
    if doc.kind not in ("invoice", "credit_note") or facts is None:
        raise ValueError("only an invoice or credit note with its e-invoice facts is one")
    currency = doc.total.currency
    zero = Money.of(0, currency)
    credit_note = doc.kind == "credit_note"
    if credit_note:
        # Printed negative; in the XML the type code says "credited", the amounts are not.
        doc = replace(
            doc,
            lines=tuple(
                replace(line, unit_price=zero - line.unit_price, total=zero - line.total)
                for line in doc.lines
            ),
            total=zero - doc.total,
            paid=zero,
        )
    x = Document()
    x.context.guideline_parameter.id = guideline
    x.header.id = doc.number
    x.header.type_code = CREDIT_NOTE_TYPE if credit_note else INVOICE_TYPE
    x.header.issue_date_time = doc.issued_on
    agreement = x.trade.agreement
    agreement.buyer_reference = facts.buyer_reference
    _party(agreement.seller, doc.seller, facts.seller_address)
    _party(agreement.buyer, doc.buyer, facts.buyer_address)
    if doc.po_number:
        agreement.buyer_order.issuer_assigned_id = doc.po_number  # BT-13

    products = [line for line in doc.lines if not line.discount]
    discounts = [line for line in doc.lines if line.discount]
    for position, line in enumerate(products, start=1):
        item = LineItem()
        item.document.line_id = str(position)
        item.product.name = line.description
        item.agreement.net.amount = _amount(line.unit_price)
        item.delivery.billed_quantity = (Decimal(line.quantity), ONE)
        _tax(item.settlement.trade_tax)
        item.settlement.monetary_summation.total_amount = _amount(line.total)
        x.trade.items.add(item)

    settlement = x.trade.settlement
    settlement.currency_code = currency
    if credit_note and doc.invoice_number:  # BG-3: the invoice it cancels (BT-25, BT-26)
        settlement.invoice_referenced_document.issuer_assigned_id = doc.invoice_number
        if doc.invoice_date is not None:
            settlement.invoice_referenced_document.issue_date_time = doc.invoice_date
    settlement.payment_reference = doc.order_number or doc.number  # BT-83, as printed
    means = PaymentMeans()
    means.type_code = facts.payment_means
    if facts.payment_means in (CREDIT_TRANSFER, SEPA_CREDIT_TRANSFER) and facts.payee_iban:
        means.payee_account.iban = facts.payee_iban.replace(" ", "")
        if facts.payee_account_name:
            means.payee_account.account_name = facts.payee_account_name
        if facts.payee_bic:
            means.payee_institution.bic = facts.payee_bic
    settlement.payment_means.add(means)

    # Discounts (R28, R29) are document-level allowances: a line's price may not be negative
    # (BR-27), an allowance's amount is positive and lowers the tax basis.
    allowances = zero
    for line in discounts:
        allowance = TradeAllowanceCharge()
        allowance.indicator = False
        amount = Money(-line.total.amount, currency)
        allowance.actual_amount = _amount(amount)
        allowance.reason = line.description
        category = CategoryTradeTax()
        _tax(category)
        allowance.trade_tax.add(category)
        settlement.allowance_charge.add(allowance)
        allowances += amount

    line_total = sum((line.total for line in products), zero)
    basis = line_total - allowances
    breakdown = ApplicableTradeTax()
    breakdown.calculated_amount = Decimal(0).quantize(zero.amount)
    breakdown.type_code = "VAT"
    breakdown.exemption_reason = facts.vat_exemption_reason
    breakdown.basis_amount = _amount(basis)
    breakdown.category_code = VAT_EXEMPT
    breakdown.rate_applicable_percent = Decimal("0.00")
    settlement.trade_tax.add(breakdown)

    terms = PaymentTerms()
    if facts.payment_terms:
        terms.description = facts.payment_terms
    terms.due = facts.due_on
    settlement.terms.add(terms)

    paid = doc.paid if doc.paid.amount > 0 else zero
    totals = settlement.monetary_summation
    totals.line_total = _amount(line_total)
    totals.charge_total = _amount(zero)
    totals.allowance_total = _amount(allowances)
    totals.tax_basis_total = _amount(basis)
    totals.tax_total = (_amount(zero), currency)
    totals.grand_total = _amount(basis)
    totals.prepaid_total = _amount(paid)
    totals.due_amount = _amount(basis - paid)
    xml: bytes = x.serialize(schema=None)
    return xml


@cache
def _srgb_profile() -> bytes:
    """An sRGB ICC profile for the PDF/A output intent, made by Pillow's littleCMS."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data: bytes = profile.tobytes()
    return data


def _with_output_intent(pdf: bytes) -> bytes:
    """PDF/A needs an output intent for the device colours reportlab draws with."""
    writer = PdfWriter(clone_from=BytesIO(pdf))
    icc = StreamObject()
    icc.set_data(_srgb_profile())
    icc.update({NameObject("/N"): NumberObject(3)})
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB"),
            NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/DestOutputProfile"): writer._add_object(icc),
        }
    )
    writer._root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def factur_x_pdf(pdf: bytes, xml: bytes, title: str, author: str, lang: str) -> bytes:
    """``pdf`` as PDF/A-3 with ``xml`` embedded as factur-x.xml (Factur-X EN 16931)."""
    result: bytes = facturx.generate_from_binary(
        _with_output_intent(pdf),
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,  # validated by the tests; a schema load per download is slow
        pdf_metadata={"author": author, "title": title, "subject": title, "keywords": ""},
        lang=lang,
    )
    return result


def render_document(doc: OrderDocument, t: Translator) -> bytes:
    """The quote, invoice or credit note PDF as downloaded and mailed: an invoice or credit
    note with its e-invoice facts is Factur-X (PDF/A-3 with its CII XML, type code 380 or
    381); a quote is a plain PDF."""
    pdf = render_pdf(doc, t)
    if doc.kind == "quote" or doc.e_invoice is None:
        return pdf
    name = t.gettext("Credit note") if doc.kind == "credit_note" else t.gettext("Invoice")
    title = f"{name} {doc.number}"  # as render_pdf names it
    author = doc.seller.organisation or doc.seller.name
    return factur_x_pdf(pdf, cii_xml(doc), title, author, t.locale)
