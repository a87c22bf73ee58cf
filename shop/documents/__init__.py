"""Documents a buyer downloads: quotes and invoices as PDF (R9).

The order code fills plain values (``OrderDocument``); rendering knows nothing of the database,
so a document looks the same whichever code path asks for it.
"""

from shop.documents.pdf import DocumentLine, OrderDocument, Party, render_pdf

__all__ = ["DocumentLine", "OrderDocument", "Party", "render_pdf"]
