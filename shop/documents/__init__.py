"""Documents a buyer downloads: quotes and invoices as PDF (R9); an invoice's PDF is also a
Factur-X e-invoice, and a business buyer's invoice an XRechnung (``einvoice``).

The order code fills plain values (``OrderDocument``); rendering knows nothing of the database,
so a document looks the same whichever code path asks for it.
"""

from shop.documents.pdf import DocumentLine, OrderDocument, Party, render_pdf

__all__ = ["DocumentLine", "OrderDocument", "Party", "render_pdf"]
