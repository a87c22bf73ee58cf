"""Cheque: the buyer posts a cheque, the order number written on its back."""

from __future__ import annotations

from dataclasses import dataclass

from shop import hookimpl
from shop.catalog.products import N_
from shop.i18n import Translator
from shop.payments.methods import OfflineMethod, PaymentMethod, PaymentRequest, PaymentStart
from shop.settings import Settings


@dataclass(frozen=True)
class Cheque(OfflineMethod):
    code: str = "cheque"
    name: str = N_("Cheque")

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        return PaymentStart(
            instructions=(
                t.gettext(
                    "Please send a cheque for %(amount)s, payable to %(payee)s, to:",
                    amount=t.money(request.amount),
                    payee=settings.cheque_payee,
                ),
                settings.seller_name,
                *settings.seller_address,
                t.gettext(
                    "Write the reference %(reference)s on the back of the cheque.",
                    reference=str(request.order_number),
                ),
                t.gettext("Your licence key is sent as soon as the full amount has arrived."),
            )
        )


@hookimpl
def shop_payment_methods() -> list[PaymentMethod]:
    return [Cheque()]
