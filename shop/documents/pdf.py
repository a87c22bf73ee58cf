"""Quote, invoice and credit note PDFs (R9) in the order's language and currency, drawn
with reportlab.

Every label goes through the Translator (R34) and every amount through ``Translator.money``
(R15), so the PDF says exactly what the web page says. The standard PDF fonts cannot show
"€" or Babel's no-break spaces reliably, hence the bundled Vera TrueType fonts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import escape

import reportlab  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib import colors  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib.enums import TA_RIGHT  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped,unused-ignore]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped,unused-ignore]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped,unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped,unused-ignore]
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from shop.i18n import Translator
from shop.money import Money

if TYPE_CHECKING:
    from shop.documents.einvoice import EInvoiceFacts

FONT = "ShopVera"
FONT_BOLD = "ShopVera-Bold"
MARGIN = 18 * mm
FRAME_PADDING = 6  # SimpleDocTemplate's frame pads inside the margins; wider tables stick out
LEFT = MARGIN + FRAME_PADDING
RIGHT = A4[0] - MARGIN - FRAME_PADDING
CONTENT_WIDTH = RIGHT - LEFT
MUTED = colors.HexColor("#555555")
ALERT = colors.HexColor("#B00020")
RULE = colors.HexColor("#BBBBBB")

# Spaces Babel may emit that Vera has no glyph for; shown as the no-break space it does have.
_SPACES_WITHOUT_GLYPH = str.maketrans({"\u202f": "\xa0", "\u2009": "\xa0", "\u2007": "\xa0"})


@dataclass(frozen=True)
class Party:
    """Seller or buyer as printed; ``country`` is an ISO 3166 code, shown by name."""

    name: str
    organisation: str
    email: str
    country: str
    tax_number: str | None  # R11: stored and printed, no VAT charged
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentLine:
    """One charged line; amounts are already rounded once by the order code (R15)."""

    description: str  # already translated
    quantity: int
    unit_price: Money
    total: Money
    period: str = ""  # already translated, e.g. "per year"
    discount: bool = False  # a price adjustment (R28, R29): shown without quantity and unit


@dataclass(frozen=True)
class OrderDocument:
    """Everything a quote or invoice shows, as plain values filled by the order code.

    ``number`` is the document's own, from its series (R8: ``Q-17``, ``INV-42``);
    ``order_number`` the order's, the reference a payment quotes. A ``closed`` document
    (cancelled, or expired unpaid) says so in its head and asks for nothing."""

    kind: Literal["quote", "invoice", "credit_note"]
    number: str
    issued_on: date
    valid_until: date | None  # quotes only (R7: 30 days)
    locale: str
    seller: Party
    buyer: Party
    po_number: str | None  # R7: printed, not a way to pay
    reseller_for: str | None  # R7: the end customer's name and e-mail
    lines: tuple[DocumentLine, ...]
    total: Money
    paid: Money
    payment_instructions: tuple[str, ...]  # already translated, order number as reference
    exchange_rate_note: str | None  # R14: the frozen rate, already translated
    payments: tuple[str, ...] = ()  # received: date, method label, amount; translated
    order_number: str | None = None
    quote_number: str | None = None  # on an invoice: the quote it came from
    closed: Literal["cancelled", "expired"] | None = None
    under_review: bool = False  # R27: a quote an operator must accept before it is paid
    statements: tuple[str, ...] = ()  # §356(5) BGB: the consumer's, with their time
    # An invoice's e-invoice facts (``shop.documents.einvoice``): with them its PDF is a
    # Factur-X invoice. None: a quote, or a plain PDF.
    e_invoice: EInvoiceFacts | None = None
    # An invoice: the credit notes that corrected or cancelled it, already translated
    # ("Credit note CN-1 of 3 December 2026"). A credit note: the invoice it corrects, its
    # date and why; its lines and total are negative (GoBD).
    credit_notes: tuple[str, ...] = ()
    invoice_number: str | None = None
    invoice_date: date | None = None
    reason: str | None = None

    @property
    def due(self) -> Money:
        return self.total - self.paid


@cache
def _register_fonts() -> None:
    """Register Vera once per process; reportlab's font registry is global."""
    fonts = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(fonts / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(fonts / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def _styles() -> dict[str, Any]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=MUTED),
        "small_right": ParagraphStyle(
            "small_right",
            parent=base,
            fontSize=8,
            leading=10.5,
            textColor=MUTED,
            alignment=TA_RIGHT,
        ),
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "right_bold": ParagraphStyle(
            "right_bold", parent=base, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
        # An amount never breaks inside "DZD 1.456.789,25", even if it must overflow.
        "amount": ParagraphStyle("amount", parent=base, alignment=TA_RIGHT, splitLongWords=0),
        "amount_bold": ParagraphStyle(
            "amount_bold", parent=base, fontName=FONT_BOLD, alignment=TA_RIGHT, splitLongWords=0
        ),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=20, leading=24),
        "stamp": ParagraphStyle(
            "stamp", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20, textColor=ALERT
        ),
        "heading": ParagraphStyle(
            "heading", parent=base, fontName=FONT_BOLD, fontSize=10.5, leading=14, spaceAfter=2
        ),
    }


def _text(value: str) -> str:
    """Plain text made safe for Paragraph markup and for the font's glyphs."""
    return escape(value.translate(_SPACES_WITHOUT_GLYPH))


def _titles(kind: str, t: Translator) -> tuple[str, str, str]:
    """Title, number label and date label; literal msgids so extraction finds them."""
    if kind == "quote":
        return t.gettext("Quote"), t.gettext("Quote number"), t.gettext("Quote date")
    if kind == "credit_note":
        return (
            t.gettext("Credit note"),
            t.gettext("Credit note number"),
            t.gettext("Credit note date"),
        )
    return t.gettext("Invoice"), t.gettext("Invoice number"), t.gettext("Invoice date")


def _stamp(doc: OrderDocument, t: Translator) -> tuple[str, str] | None:
    """What a closed document says in its head, and below its totals."""
    if doc.closed == "cancelled" and doc.kind == "quote":
        return t.gettext("Cancelled"), t.gettext("This quote was cancelled; it cannot be paid.")
    if doc.closed == "cancelled":
        return t.gettext("Cancelled"), t.gettext("This invoice was cancelled; nothing is due.")
    if doc.closed == "expired" and doc.kind == "quote":
        return t.gettext("Expired"), t.gettext("This quote has expired; it cannot be paid.")
    if doc.closed == "expired":
        return t.gettext("Cancelled"), t.gettext(
            "This invoice was cancelled as it stayed unpaid; nothing is due."
        )
    if doc.under_review:
        return t.gettext("Under review"), t.gettext(
            "This quote is being reviewed by our team; it can be paid once accepted."
        )
    return None


def _party(party: Party, t: Translator, s: dict[str, Any]) -> list[Any]:
    """A seller or buyer block: organisation first, as on a letterhead; blank fields left out."""
    first, *rest = [name for name in (party.organisation, party.name) if name] or [""]
    lines = [*rest, *party.address_lines]
    lines.append(t.country(party.country) if party.country else "")
    lines.append(party.email)
    if party.tax_number:
        lines.append(t.gettext("VAT/tax number: %(number)s", number=party.tax_number))
    rows = [Paragraph(f"<b>{_text(first)}</b>", s["body"])]
    return rows + [Paragraph(_text(line), s["body"]) for line in lines if line]


def _header(doc: OrderDocument, t: Translator, s: dict[str, Any]) -> Table:
    """Seller top left; title, number, dates and PO number top right."""
    title, number_label, date_label = _titles(doc.kind, t)
    facts = [(number_label, doc.number), (date_label, t.date(doc.issued_on, "long"))]
    if doc.quote_number and doc.kind == "invoice":
        facts.append((t.gettext("Quote number"), doc.quote_number))
    if doc.invoice_number and doc.kind == "credit_note":
        facts.append((t.gettext("Invoice number"), doc.invoice_number))
        if doc.invoice_date is not None:
            facts.append((t.gettext("Invoice date"), t.date(doc.invoice_date, "long")))
    if doc.order_number:
        facts.append((t.gettext("Order number"), doc.order_number))
    if doc.valid_until is not None:
        facts.append((t.gettext("Valid until"), t.date(doc.valid_until, "long")))
    if doc.po_number:
        facts.append((t.gettext("Your purchase order number"), doc.po_number))
    fact_table = Table(
        [[Paragraph(_text(k), s["small"]), Paragraph(_text(v), s["right"])] for k, v in facts],
        colWidths=[48 * mm, 37 * mm],
        style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)],
    )
    right = [Paragraph(_text(f"{title} {doc.number}"), s["title"])]
    stamp = _stamp(doc, t)
    if stamp is not None:
        right.append(Paragraph(_text(stamp[0].upper()), s["stamp"]))
    right += [Spacer(1, 4 * mm), fact_table]
    return Table(
        [[_party(doc.seller, t, s), right]],
        colWidths=[CONTENT_WIDTH - 85 * mm, 85 * mm],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )


def _customer(doc: OrderDocument, t: Translator, s: dict[str, Any]) -> list[Any]:
    flow = [Paragraph(_text(t.gettext("Customer")), s["heading"]), *_party(doc.buyer, t, s)]
    if doc.reseller_for:
        line = t.gettext("End customer: %(customer)s", customer=doc.reseller_for)
        flow += [Spacer(1, 2 * mm), Paragraph(_text(line), s["body"])]
    return flow


def _lines_table(doc: OrderDocument, t: Translator, s: dict[str, Any]) -> Table:
    """Lines, then total, amount paid and amount due; amounts right-aligned."""
    head = [
        t.gettext("Description"),
        t.gettext("Quantity"),
        t.gettext("Unit price"),
        t.gettext("Amount"),
    ]
    rows: list[list[Any]] = [
        [Paragraph(_text(head[0]), s["bold"])]
        + [Paragraph(_text(h), s["right_bold"]) for h in head[1:]]
    ]
    for line in doc.lines:
        unit: list[Any] = []
        if not line.discount:
            unit.append(Paragraph(_text(t.money(line.unit_price)), s["amount"]))
        if line.period:
            unit.append(Paragraph(_text(line.period), s["small_right"]))
        rows.append(
            [
                Paragraph(_text(line.description), s["body"]),
                Paragraph("" if line.discount else str(line.quantity), s["right"]),
                unit,
                Paragraph(_text(t.money(line.total)), s["amount"]),
            ]
        )
    first_total = len(rows)
    totals = [(t.gettext("Total"), doc.total, doc.kind == "credit_note")]
    if doc.kind != "credit_note":  # a credit note credits; it neither asks nor records
        totals.append((t.gettext("Amount paid"), doc.paid, False))
    if doc.closed is None and doc.kind != "credit_note":  # a closed document asks for nothing
        totals.append((t.gettext("Amount due"), doc.due, True))
    for label, amount, bold in totals:
        rows.append(
            [
                "",
                Paragraph(_text(label), s["right_bold" if bold else "right"]),
                "",
                Paragraph(_text(t.money(amount)), s["amount_bold" if bold else "amount"]),
            ]
        )
    return Table(
        rows,
        colWidths=[CONTENT_WIDTH - 100 * mm, 22 * mm, 38 * mm, 40 * mm],
        repeatRows=1,
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, first_total - 1), 0.3, RULE),
                *[("SPAN", (1, row), (2, row)) for row in range(first_total, len(rows))],
                ("LINEABOVE", (1, len(rows) - 1), (-1, len(rows) - 1), 0.8, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                # Text lines up with the paragraphs above and below the table.
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        ),
    )


def _closing(doc: OrderDocument, t: Translator, s: dict[str, Any]) -> list[Any]:
    """VAT statement (R11), rate note (R14), how to pay (R12) and a quote's validity (R7)."""
    flow: list[Any] = [
        Paragraph(_text(t.gettext("Prices without VAT: no VAT is charged for now.")), s["small"])
    ]
    if doc.exchange_rate_note:
        flow.append(Paragraph(_text(doc.exchange_rate_note), s["small"]))
    flow.append(Spacer(1, 6 * mm))
    if doc.payments:
        received = [Paragraph(_text(t.gettext("Payments received")), s["heading"])]
        received += [Paragraph(_text(line), s["body"]) for line in doc.payments]
        flow += [KeepTogether(received), Spacer(1, 4 * mm)]
    if doc.statements:
        made = [Paragraph(_text(t.gettext("Right of withdrawal")), s["heading"])]
        made += [Paragraph(_text(line), s["small"]) for line in doc.statements]
        flow += [KeepTogether(made), Spacer(1, 4 * mm)]
    if doc.kind == "credit_note":
        if doc.invoice_number:
            cancels = t.gettext(
                "This credit note cancels invoice %(number)s of %(date)s in full.",
                number=doc.invoice_number,
                date=t.date(doc.invoice_date, "long") if doc.invoice_date else "",
            )
            flow.append(Paragraph(_text(cancels), s["bold"]))
        if doc.reason:
            reason = t.gettext("Reason: %(reason)s", reason=doc.reason)
            flow.append(Paragraph(_text(reason), s["body"]))
        return flow
    references = [Paragraph(_text(line), s["body"]) for line in doc.credit_notes]
    stamp = _stamp(doc, t)
    if stamp is not None:
        flow.append(Paragraph(_text(stamp[1]), s["bold"]))
        return flow + references
    if references:  # corrected by a credit note while it stays paid
        flow += [*references, Spacer(1, 4 * mm)]
    if doc.due.amount <= 0 and doc.kind == "invoice":
        flow.append(Paragraph(_text(t.gettext("Paid in full. Thank you.")), s["bold"]))
    elif doc.payment_instructions:
        payment = [Paragraph(_text(t.gettext("How to pay")), s["heading"])]
        payment += [Paragraph(_text(line), s["body"]) for line in doc.payment_instructions]
        flow.append(KeepTogether(payment))
    if doc.kind == "quote" and doc.valid_until is not None:
        days = (doc.valid_until - doc.issued_on).days
        validity = t.ngettext(
            "This quote is valid for %(num)s day, until %(date)s.",
            "This quote is valid for %(num)s days, until %(date)s.",
            days,
            date=t.date(doc.valid_until, "long"),
        )
        flow += [Spacer(1, 4 * mm), Paragraph(_text(validity), s["body"])]
    return flow


def render_pdf(doc: OrderDocument, t: Translator) -> bytes:
    """The quote, invoice or credit note as an A4 PDF in ``t``'s language, with title and
    language set."""
    _register_fonts()
    s = _styles()
    title, _number_label, _date_label = _titles(doc.kind, t)
    full_title = f"{title} {doc.number}"
    footer = " · ".join([doc.seller.organisation or doc.seller.name, full_title])

    def on_page(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(LEFT, 10 * mm, footer.translate(_SPACES_WITHOUT_GLYPH))
        page = t.gettext("Page %(page)s", page=canvas.getPageNumber())
        canvas.drawRightString(RIGHT, 10 * mm, page)
        canvas.restoreState()

    buffer = BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=full_title,
        author=doc.seller.organisation or doc.seller.name,
        subject=full_title,
        creator="licence shop",
        lang=t.locale,  # the language actually printed
    )
    story = [
        _header(doc, t, s),
        Spacer(1, 10 * mm),
        *_customer(doc, t, s),
        Spacer(1, 8 * mm),
        _lines_table(doc, t, s),
        Spacer(1, 3 * mm),
        *_closing(doc, t, s),
    ]
    template.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
