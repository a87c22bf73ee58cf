"""Quote and invoice PDFs (R9): the order's language and currency, read back as text."""

from __future__ import annotations

import datetime
from io import BytesIO
from pathlib import Path

import pypdf
import reportlab
from babel.support import NullTranslations
from reportlab.pdfbase.ttfonts import TTFont

from shop.documents import DocumentLine, OrderDocument, Party, render_pdf
from shop.i18n import Translator
from shop.money import Money

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
VERA = Path(reportlab.__file__).parent / "fonts"

SELLER = Party(
    name="Anna Bakker",
    organisation="Goldsmith Software B.V.",
    email="billing@goldsmith.example",
    country="NL",
    tax_number="NL123456782B01",
    address_lines=("Keizersgracht 1", "1015 CJ Amsterdam"),
)


def german_quote() -> OrderDocument:
    """A reseller's quote with a PO number, in EUR, with a thousands separator."""
    buyer = Party(
        name="Jürgen Müller",
        organisation="Juwelier Müller & Söhne GmbH",
        email="einkauf@mueller.example",
        country="DE",
        tax_number="DE811907980",
        address_lines=("Königsallee 12", "40212 Düsseldorf"),
    )
    base = Money.of("1014.50", "EUR")
    person = Money.of("12", "EUR")
    lines = (
        DocumentLine("Basispaket (jährlich)", 1, base, base, "pro Jahr"),
        DocumentLine("Zusätzliche Personen", 20, person, person.times(20), "pro Jahr"),
    )
    return OrderDocument(
        kind="quote",
        number="2025-0042",
        issued_on=datetime.date(2025, 4, 1),
        valid_until=datetime.date(2025, 5, 1),
        locale="de",
        seller=SELLER,
        buyer=buyer,
        po_number="PO-7781/B",
        reseller_for="Schmuckatelier Weiß <info@weiss.example>",
        lines=lines,
        total=Money.of("1254.50", "EUR"),
        paid=Money.of("0", "EUR"),
        payment_instructions=(
            "Überweisung an Goldsmith Software B.V.",
            "IBAN: NL91 ABNA 0417 1643 00, BIC: ABNANL2A",
            "Verwendungszweck: 2025-0042",
        ),
        exchange_rate_note=None,
    )


def dutch_invoice() -> OrderDocument:
    """An Algerian customer's invoice in DZD at a frozen rate (R14), partly paid (R5)."""
    buyer = Party(
        name="Karim Benali",
        organisation="Bijouterie El Djazair",
        email="karim@djazair.example",
        country="DZ",
        tax_number="099916000123456",
    )
    line = DocumentLine(
        "Serverlicentie Professional",
        1,
        Money.of("1456789.25", "DZD"),
        Money.of("1456789.25", "DZD"),
    )
    return OrderDocument(
        kind="invoice",
        number="2025-0043",
        issued_on=datetime.date(2025, 4, 2),
        valid_until=None,
        locale="nl",
        seller=SELLER,
        buyer=buyer,
        po_number=None,
        reseller_for=None,
        lines=(line,),
        total=Money.of("1456789.25", "DZD"),
        paid=Money.of("456789.25", "DZD"),
        payment_instructions=(
            "Stuur een cheque naar Goldsmith Software B.V., Keizersgracht 1, Amsterdam",
            "Vermeld als referentie: 2025-0043",
        ),
        exchange_rate_note="Koers: 1 EUR = 160,25 DZD (incl. marge), vastgelegd op 2 april 2025",
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)


def lines_of(pdf: bytes) -> list[str]:
    return [line.strip() for line in text_of(pdf).splitlines()]


def printed(shown: str) -> str:
    """``shown`` as a PDF reader gets it back.

    reportlab draws U+00A0 with the space glyph and maps it back to U+0020; it still keeps
    "1.254,50 €" together on one line, which ``lines_of`` checks.
    """
    assert "\xa0" in shown  # Babel's own output, not something the test made up
    return shown.replace("\xa0", " ")


def assert_every_glyph_exists(text: str) -> None:
    """A character without a glyph in Vera would print as a box ("tofu")."""
    glyphs = {
        code
        for name in ("Vera.ttf", "VeraBd.ttf")
        for code in TTFont(name, str(VERA / name)).face.charToGlyph
    }
    missing = {ch for ch in text if not ch.isspace() or ch == "\xa0"} - set(map(chr, glyphs))
    assert missing == set()


def test_r9_german_quote_in_eur() -> None:
    t = Translator.for_locale(LOCALES_DIR, "de")
    doc = german_quote()
    pdf = render_pdf(doc, t)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "Angebot" in text
    assert "2025-0042" in text
    assert "PO-7781/B" in text  # R7
    assert "DE811907980" in text  # R11
    assert "NL123456782B01" in text
    lines = lines_of(pdf)
    assert printed(t.money(doc.total)) in lines  # "1.254,50\xa0€" on a line of its own, R15
    assert printed(t.money(Money.of("240", "EUR"))) in lines
    assert "IBAN: NL91 ABNA 0417 1643 00, BIC: ABNANL2A" in text  # R12
    assert "Verwendungszweck: 2025-0042" in text
    assert "Schmuckatelier Weiß <info@weiss.example>" in text  # R7 reseller
    assert "Juwelier Müller & Söhne GmbH" in text
    assert "Königsallee 12" in text
    assert "Gültig bis" in text
    assert "1. Mai 2025" in text
    assert_every_glyph_exists(text)


def test_r9_dutch_invoice_in_dzd() -> None:
    t = Translator.for_locale(LOCALES_DIR, "nl")
    doc = dutch_invoice()
    pdf = render_pdf(doc, t)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "Factuur" in text
    lines = lines_of(pdf)
    assert printed(t.money(doc.total)) in lines  # "DZD\xa01.456.789,25", R15
    assert printed(t.money(doc.paid)) in lines  # R5: partial payments are shown
    assert printed(t.money(doc.due)) in lines
    assert "DZD 1.000.000,00" in lines
    assert "Algerije" in text
    assert "099916000123456" in text
    assert "Vermeld als referentie: 2025-0043" in text
    assert "Koers: 1 EUR = 160,25 DZD" in text  # R14
    assert "Offerte" not in text
    assert_every_glyph_exists(text)


def test_r9_metadata_names_the_document_and_its_language() -> None:
    pdf = render_pdf(german_quote(), Translator.for_locale(LOCALES_DIR, "de"))
    reader = pypdf.PdfReader(BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "Angebot 2025-0042"
    assert reader.trailer["/Root"]["/Lang"] == "de"


def test_r9_long_documents_continue_on_numbered_pages() -> None:
    doc = german_quote()
    line = doc.lines[1]
    long = OrderDocument(**{**doc.__dict__, "lines": (line,) * 60})
    text = text_of(render_pdf(long, Translator.for_locale(LOCALES_DIR, "de")))
    assert "Seite 2" in text
    assert text.count("Beschreibung") >= 2  # the column headings repeat


def test_r9_paid_invoice_says_so_instead_of_how_to_pay() -> None:
    t = Translator.for_locale(LOCALES_DIR, "en")
    unpaid = dutch_invoice()
    seller = Party("Goldsmith Software", "", "", "", None)  # only what the settings know
    changes = {"locale": "en", "paid": unpaid.total, "seller": seller}
    paid = OrderDocument(**{**unpaid.__dict__, **changes})
    text = text_of(render_pdf(paid, t))
    assert "Paid in full" in text
    assert text.count("Goldsmith Software") == 2  # letterhead and footer
    assert "2025-0043" in text
    assert "Vermeld als referentie" not in text


def test_r9_amounts_keep_together_whatever_spaces_babel_uses() -> None:
    """French amounts group digits with U+202F, which Vera lacks and reportlab breaks at.

    The amount is printed with no-break spaces instead: no box, and on one line even where
    "123 456 789 012,50 €" is wider than its column.
    """
    t = Translator("fr", NullTranslations())
    doc = german_quote()
    huge = Money.of("123456789012.50", "EUR")
    line = DocumentLine("Enterprise", 1, huge, huge)
    big = OrderDocument(**{**doc.__dict__, "lines": (line,), "total": huge})
    assert "\u202f" in t.money(huge)
    text = text_of(render_pdf(big, t))
    expected = t.money(huge).replace("\u202f", " ").replace("\xa0", " ")
    amounts = [line.strip() for line in text.splitlines() if "456 789" in line or "012,50" in line]
    assert amounts == [expected] * 4  # unit price, line, total, amount due
    assert_every_glyph_exists(text)
