"""Bank transfer: the buyer transfers the total with the order number as reference."""

from __future__ import annotations

from dataclasses import dataclass

from shop import hookimpl
from shop.catalog.products import N_
from shop.i18n import Translator
from shop.payments.methods import OfflineMethod, PaymentMethod, PaymentRequest, PaymentStart
from shop.settings import Settings


@dataclass(frozen=True)
class BankTransfer(OfflineMethod):
    code: str = "bank_transfer"
    name: str = N_("Bank transfer")

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        return PaymentStart(
            instructions=(
                t.gettext(
                    "Please transfer %(amount)s to the account below, with the reference "
                    "%(reference)s.",
                    amount=t.money(request.amount),
                    reference=str(request.order_number),
                ),
                t.gettext("Account holder: %(holder)s", holder=settings.bank_account_holder),
                t.gettext("IBAN: %(iban)s", iban=settings.bank_iban),
                t.gettext("BIC: %(bic)s", bic=settings.bank_bic),
                t.gettext("Bank: %(bank)s", bank=settings.bank_name),
                t.gettext("Your licence key is sent as soon as the full amount has arrived."),
            )
        )


@hookimpl
def shop_payment_methods() -> list[PaymentMethod]:
    return [BankTransfer()]
