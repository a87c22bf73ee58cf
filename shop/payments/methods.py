"""The one small protocol between the core and a payment method (R12).

The core knows no provider: it asks the method chosen at checkout to start a payment and
shows what comes back (instructions, a redirect, a client secret). Offline methods (bank
transfer, cheque) are paid when the operator records the money. Online methods (card,
PayPal) also implement ``OnlineMethod``: they turn a provider's webhook or the buyer's
return into a ``ProviderPayment`` the core applies once (R13), and may charge renewals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shop.catalog.products import N_
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
    return_url: str = ""  # where an online method sends the buyer back (the order page)
    save_for_renewals: bool = False  # a subscription: keep the card for renewals (R21)
    # The provider's payment already opened for this order (its id, e.g. "pi_…"): reuse
    # it, never open a second one (provider idempotency keys last a day only).
    provider_payment: str | None = None
    # Renewal charges: the key the attempt was claimed with, sent again when it is resumed.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class PaymentStart:
    """What the buyer is shown or sent to after checkout."""

    instructions: tuple[str, ...] = ()  # translated lines, for offline methods
    redirect_url: str | None = None
    client_secret: str | None = None
    publishable_key: str | None = None  # for the provider's script on the order page
    script_url: str | None = None
    provider_payment: str | None = None  # the provider's payment now open (kept on the order)


@dataclass(frozen=True)
class ProviderPayment:
    """Money a provider confirmed, from a verified webhook or the provider's API (R13)."""

    reference: str  # the provider's id of the money (PaymentIntent, capture): one payment each
    order_number: int | None
    amount: Money
    saved_customer: str | None = None  # what charges renewals later, when the buyer agreed
    saved_method: str | None = None
    # What the buyer is shown about the source, e.g. {"brand": "visa", "last4": "4242"}.
    detail: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ChargeFailure:
    """A charge the provider refused (declined, authentication required)."""

    order_number: int | None
    code: str
    message: str


@dataclass(frozen=True)
class WebhookEvent:
    """A provider event whose signature checked out."""

    event_id: str
    type: str
    payment: ProviderPayment | None = None
    failure: ChargeFailure | None = None
    # A verified event of a kind the shop uses whose content it cannot read (an amount as
    # text, no currency, ...): acknowledged and stored as "malformed", so it is not resent.
    malformed: bool = False


FAILURE_REASONS = {
    "card_declined": N_("Your card was declined."),
    "generic_decline": N_("Your card was declined."),
    "insufficient_funds": N_("Your card has insufficient funds."),
    "expired_card": N_("Your card has expired."),
    "authentication_required": N_("Your bank wants you to confirm this payment yourself."),
    "payment_intent_authentication_failure": N_("Your bank did not confirm the payment."),
}


def failure_reason(code: str) -> str:
    """What to tell the buyer about a refused charge (a message id, translated when shown)."""
    return FAILURE_REASONS.get(code, N_("The payment provider refused the charge."))


class InvalidWebhook(Exception):
    """The signature (or the body) did not check out: answer 400, change nothing."""


class MalformedEvent(InvalidWebhook):
    """Signed, but not an event at all (no id or type, not a JSON object): answer 400."""


# What a provider's ids may be: the shop stores them in columns of 200 characters, and
# refers to a payment as "<method>:<id>".
MAX_PROVIDER_ID = 150


def provider_id(value: object) -> str:
    """An event or payment id as a provider sends one; ``ValueError`` for anything else."""
    if not isinstance(value, str) or not value or len(value) > MAX_PROVIDER_ID:
        raise ValueError(f"not a provider id: {value!r}")
    return value


def order_number(value: object) -> int | None:
    """The shop's order number a provider echoes back (metadata, custom_id), if it is one."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


class ProviderUnavailable(Exception):
    """The provider could not be asked (e.g. to verify a webhook): answer 503, so the
    provider delivers again later."""


@dataclass(frozen=True)
class ChargeResult:
    payment: ProviderPayment | None = None
    failure: ChargeFailure | None = None
    # Neither: the provider has not decided yet (e.g. "processing"); ask again later.

    @property
    def decided(self) -> bool:
        return self.payment is not None or self.failure is not None


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

    def missing_settings(self, settings: Settings) -> tuple[str, ...]:
        """The environment variables still to set; a method missing any stays out of
        checkout and the back office says why."""
        ...

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        """Begin paying ``request``: instructions, a redirect or a client secret."""
        ...


@runtime_checkable
class OnlineMethod(PaymentMethod, Protocol):
    """A payment method a provider confirms: webhooks, the buyer's return, renewal charges."""

    @property
    def provider(self) -> str:
        """Its name in the webhook address: ``/webhooks/<provider>``."""
        ...

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], settings: Settings
    ) -> WebhookEvent:
        """Verify and read a webhook; raise ``InvalidWebhook`` when it does not check out."""
        ...

    def confirm_return(
        self, query: Mapping[str, str], settings: Settings
    ) -> ProviderPayment | ChargeFailure | None:
        """Ask the provider, server-side, what became of the payment the buyer returns
        from (never trusting the browser's word); None while it is still open."""
        ...

    def charge_renewal(
        self, request: PaymentRequest, customer: str, method: str, settings: Settings
    ) -> ChargeResult:
        """Charge a saved payment method off-session, idempotently per order."""
        ...


@runtime_checkable
class ReconcilesCharges(Protocol):
    """An online method that can say what became of a renewal charge whose answer was lost
    (the job died after asking): the provider is the record of what was charged."""

    def find_renewal_charge(
        self, request: PaymentRequest, customer: str, settings: Settings
    ) -> ChargeResult | None:
        """What the provider holds for the charge of ``request`` (by its order number and
        ``request.idempotency_key``); None when nothing was charged for it; raise
        ``ProviderUnavailable`` when the provider cannot be asked."""
        ...


@runtime_checkable
class CancelsPayments(Protocol):
    """An online method whose opened payments can be cancelled at the provider, so an
    order closed unpaid (cancelled, superseded, expired) can no longer take money."""

    def cancel_payment(self, provider_payment: str, settings: Settings) -> bool:
        """Cancel it; True once it is cancelled (or was already, or can no longer take
        money), False when the provider could not be asked (try again later)."""
        ...


@dataclass(frozen=True)
class ContentSources:
    """Origins a provider's script on the order page needs, for the Content-Security-Policy:
    where it is loaded from, the frames it opens and the APIs it calls."""

    scripts: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()


@runtime_checkable
class EmbedsProviderScript(Protocol):
    """A method whose order page runs the provider's script (Stripe.js for cards); a method
    that only redirects (PayPal) or shows instructions needs nothing from the page."""

    def content_sources(self, settings: Settings) -> ContentSources:
        """The origins the provider's script is allowed, derived from the settings."""
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

    def missing_settings(self, settings: Settings) -> tuple[str, ...]:
        return ()

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        raise NotImplementedError
