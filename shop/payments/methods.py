"""The one small protocol between the core and a payment method (R12).

The core knows no provider: it asks the method chosen at checkout to start a payment and
shows what comes back (instructions, a redirect, a client secret). Offline methods (bank
transfer, cheque) are paid when the operator records the money.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop.i18n import Translator
from shop.money import Money
from shop.settings import Settings


@dataclass(frozen=True)
class PaymentRequest:
    """What a method is told about the order to be paid."""

    order_number: int
    order_token: str
    amount: Money
    email: str
    locale: str


@dataclass(frozen=True)
class PaymentStart:
    """What the buyer is shown or sent to after checkout."""

    instructions: tuple[str, ...] = ()  # translated lines, for offline methods
    redirect_url: str | None = None
    client_secret: str | None = None


class PaymentMethod(Protocol):
    @property
    def code(self) -> str:
        """card, paypal, bank_transfer, cheque."""
        ...

    @property
    def name(self) -> str:
        """A message id, translated where it is shown."""
        ...

    @property
    def offline(self) -> bool:
        """Paid when the operator records the money."""
        ...

    @property
    def can_charge_renewals(self) -> bool:
        """Charges a renewal by itself (saved card, PayPal)."""
        ...

    def accepts(self, currency: str) -> bool:
        """Whether this method takes payments in ``currency``."""
        ...

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        """Begin paying ``request``: instructions, a redirect or a client secret."""
        ...


@dataclass(frozen=True)
class OfflineMethod:
    """A method paid outside the shop (bank transfer, cheque): the operator records the money.

    Subclasses give ``code``, ``name`` and ``start`` (the instructions)."""

    code: str
    name: str
    offline: bool = True
    can_charge_renewals: bool = False

    def accepts(self, currency: str) -> bool:
        return True  # money in any currency can be transferred or written on a cheque

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        raise NotImplementedError
