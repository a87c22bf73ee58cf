"""Invoice on account: the buyer receives the invoice and pays it within the payment term.

An offline method like the shop's bank transfer: the order waits until the operator records
the money; its instructions name the term from the plugin's setting ``invoice_days``."""

from __future__ import annotations

from dataclasses import dataclass

from shop.catalog.products import N_
from shop.i18n import Translator
from shop.payments.methods import OfflineMethod, PaymentRequest, PaymentStart
from shop.settings import Settings
from shop_training.config import PLUGIN, value


@dataclass(frozen=True)
class InvoiceOnAccount(OfflineMethod):
    code: str = "invoice"
    name: str = N_("Invoice on account")

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        days = value(settings.plugin(PLUGIN), "invoice_days")
        return PaymentStart(
            instructions=(
                t.gettext(
                    "You will receive an invoice for %(amount)s. Please pay it within "
                    "%(days)s days, quoting the reference %(reference)s.",
                    amount=t.money(request.amount),
                    days=str(days),
                    reference=str(request.order_number),
                ),
                t.gettext("Account holder: %(holder)s", holder=settings.bank_account_holder),
                t.gettext("IBAN: %(iban)s", iban=settings.bank_iban),
                t.gettext("Your course place is confirmed as soon as the invoice is paid."),
            )
        )
