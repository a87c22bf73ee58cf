"""What the API reads and answers, as msgspec Structs: Litestar checks request bodies against
them and the OpenAPI document at ``/schema`` shows every field (contract: shared/API.md).

Request bodies are checked for shape and type here; what a value means (an e-mail address,
a sku on sale, an amount of the currency) is the domain's check, with its translated message.
Answers are built by the handlers as the contract's JSON; the Structs below document them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from msgspec import Meta, Struct

from shop.web.hostile_input import MAX_ID

# --- shared shapes ---------------------------------------------------------------------

Id = Annotated[int, Meta(ge=1, le=MAX_ID, examples=[1])]
Sku = Annotated[str, Meta(min_length=1, max_length=100, examples=["base-yearly"])]
CurrencyCode = Annotated[str, Meta(max_length=3, examples=["EUR"], description="ISO 4217")]
CountryCode = Annotated[str, Meta(max_length=2, examples=["DE"], description="ISO 3166 alpha-2")]
Email = Annotated[str, Meta(max_length=320, examples=["anna@example.nl"])]
# Money as the contract writes it: a decimal string, never a float or an exponent.
Amount = Annotated[
    str,
    Meta(
        pattern=r"^-?[0-9]{1,18}(\.[0-9]{1,6})?$",
        examples=["120.00"],
        description="a decimal string with the currency's minor digits",
    ),
]
# Wide bounds: the cart says, translated, which quantities a product takes.
Quantity = Annotated[int, Meta(ge=-1_000_000, le=1_000_000, examples=[1])]


class Money(Struct, frozen=True):
    """An amount in a currency: ``{"amount": "120.00", "currency": "EUR"}``."""

    amount: Amount
    currency: Annotated[str, Meta(examples=["EUR"])]


class Item(Struct, frozen=True):
    """A product and how many of it; quantities are totals (R18)."""

    sku: Sku
    quantity: Quantity = 1


class FieldError(Struct, frozen=True):
    field: str
    detail: str


class ReleaseLinkBody(Struct, frozen=True):
    email: str


class ReleaseLink(Struct, frozen=True):
    """How the owner of an address held by someone else's unpaid order frees it (R1)."""

    title: str
    href: Annotated[str, Meta(examples=["/api/v1/address-release"])]
    method: Annotated[str, Meta(examples=["POST"])]
    body: ReleaseLinkBody


class Problem(Struct, frozen=True):
    """application/problem+json (RFC 9457); ``title`` and ``detail`` are translated."""

    type: Annotated[str, Meta(examples=["urn:shop:problem:validation_error"])]
    title: str
    status: int
    detail: str
    code: Annotated[str, Meta(description="a stable machine word", examples=["not_found"])]
    field: str | None = None
    reason: str | None = None
    errors: list[FieldError] | None = None
    release_link: ReleaseLink | None = None
    # activation_limit: the instances in use (issue 14)
    instances: list[dict[str, Any]] | None = None


# --- request bodies ----------------------------------------------------------------------


class Reseller(Struct, frozen=True):
    customer_name: Annotated[str, Meta(max_length=200, examples=["Bakkerij Jansen"])]
    customer_email: Email


class AddressRequest(Struct, frozen=True):
    """The billing address (§14 UStG), checked for the country; all of it or none."""

    street: Annotated[str, Meta(max_length=1_000, examples=["Musterstraße 1"])] | None = None
    postcode: Annotated[str, Meta(max_length=1_000, examples=["10115"])] | None = None
    city: Annotated[str, Meta(max_length=1_000, examples=["Berlin"])] | None = None
    region: Annotated[str, Meta(max_length=1_000)] | None = None


class OrderRequest(Struct, frozen=True):
    """Check out: pay now, or ``quote: true`` to save a quote (R7)."""

    email: Email
    name: Annotated[str, Meta(max_length=1_000, examples=["Anna de Vries"])]
    country: CountryCode
    currency: CurrencyCode
    items: list[Item]
    payment_method: (
        Annotated[
            str,
            Meta(
                max_length=32,
                examples=["bank_transfer"],
                description=("card, paypal, bank_transfer or cheque; not needed for a quote"),
            ),
        ]
        | None
    ) = None
    quote: bool = False
    organisation: Annotated[str, Meta(max_length=1_000)] | None = None
    tax_number: Annotated[str, Meta(max_length=1_000)] | None = None
    po_number: Annotated[str, Meta(max_length=1_000, examples=["PO-2025-117"])] | None = None
    reseller: Reseller | None = None
    # The billing address, as `address` (API.md) or as these fields of the order itself.
    address: AddressRequest | None = None
    street: Annotated[str, Meta(max_length=1_000, examples=["Musterstraße 1"])] | None = None
    postcode: Annotated[str, Meta(max_length=1_000, examples=["10115"])] | None = None
    city: Annotated[str, Meta(max_length=1_000, examples=["Berlin"])] | None = None
    region: Annotated[str, Meta(max_length=1_000)] | None = None
    statements: (
        Annotated[
            list[Annotated[str, Meta(max_length=100)]],
            Meta(
                max_length=10,
                description=(
                    "A consumer's statements at checkout (§356(5) BGB), each as its code: "
                    "immediate_performance, withdrawal_loss"
                ),
            ),
        ]
        | None
    ) = None


ORDER_EXAMPLE = {
    "email": "anna.berg@example.com",
    "name": "Anna Berg",
    "organisation": "Berg Planung GmbH",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 6}],
    "po_number": "PO-2025-117",
    "street": "Musterstraße 1",
    "postcode": "10115",
    "city": "Berlin",
}


class ImportRequest(Struct, frozen=True):
    """An existing customer's subscription and licence, as they run today (R33)."""

    email: Email
    name: Annotated[str, Meta(max_length=1_000, examples=["Anna de Vries"])]
    country: CountryCode
    currency: CurrencyCode
    payment_method: Annotated[str, Meta(max_length=32, examples=["bank_transfer"])]
    items: list[Item]
    term_start: Annotated[
        str, Meta(max_length=100, examples=["2025-03-01"], description="ISO 8601 date")
    ]
    term_end: Annotated[
        str,
        Meta(max_length=100, examples=["2026-03-01"], description="ISO 8601 date, exclusive"),
    ]
    status: Annotated[
        str,
        Meta(
            max_length=32,
            examples=["active"],
            description="active, pending-cancel, on-hold, cancelled or expired",
        ),
    ]
    organisation: Annotated[str, Meta(max_length=1_000)] | None = None
    licence_key: (
        Annotated[
            str, Meta(max_length=10_000, description="a key this shop signed for this e-mail")
        ]
        | None
    ) = None
    locale: Annotated[str, Meta(max_length=5, examples=["de"])] | None = None


IMPORT_EXAMPLE = {
    "email": "jan.smit@example.nl",
    "name": "Jan Smit",
    "organisation": "Smit Advies B.V.",
    "country": "NL",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "package-3", "quantity": 1}],
    "term_start": "2025-03-01",
    "term_end": "2026-03-01",
    "status": "active",
}


class AddressReleaseRequest(Struct, frozen=True):
    """The address an unpaid order holds; the release link goes only to it (R1)."""

    email: Email


class AddressReleaseAnswer(Struct):
    status: Annotated[str, Meta(examples=["accepted"])]


class TrialRequest(Struct, frozen=True):
    email: Email
    sku: Sku


class SwitchRequest(Struct, frozen=True):
    """The subscription's items as they should be (totals, R18); ``preview`` changes nothing."""

    items: list[Item]
    preview: bool = False


SWITCH_EXAMPLE = {
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 10}],
    "preview": True,
}


class PaymentReceived(Struct, frozen=True):
    """A bank transfer or cheque received, in the order's currency."""

    amount: Amount
    currency: CurrencyCode
    method: Annotated[str, Meta(max_length=32, examples=["bank_transfer"])] | None = None
    reference: Annotated[str, Meta(max_length=200, examples=["SEPA 2025-04-01 #4711"])] | None = (
        None
    )
    # More than is due (or money for a paid or closed order) is refused unless confirmed;
    # then it is recorded and the order flagged for the operator.
    accept_overpayment: bool = False


class ResolveRequest(Struct, frozen=True):
    """What the operator did about a flagged order (kept with the order)."""

    note: Annotated[str, Meta(max_length=2_000, examples=["Refunded the difference by bank."])]


class PaymentMethodChoice(Struct, frozen=True):
    """Another enabled method for an unpaid order or quote (R7, R12)."""

    payment_method: Annotated[str, Meta(max_length=32, examples=["card"])]


class ReviewDecision(Struct, frozen=True):
    """An operator's decision on a co-terming quote (R27)."""

    decision: Annotated[str, Meta(max_length=16, examples=["accept"])]
    aligned_to: Annotated[str, Meta(max_length=10, examples=["2026-09-10"])] | None = None


PAYMENT_EXAMPLE = {
    "amount": "526.00",
    "currency": "EUR",
    "method": "bank_transfer",
    "reference": "SEPA 2025-04-01 #4711",
}


class PluginToggle(Struct, frozen=True):
    enabled: bool


Rate = Annotated[str | int | float, Meta(examples=["150.25"])]


class ExchangeRateRequest(Struct, frozen=True):
    """The rate from the base currency and the margin on top (0 up to 1)."""

    rate: Rate
    margin: Rate = "0"


class MaintenanceRequest(Struct, frozen=True):
    years: Annotated[int, Meta(ge=-1_000, le=1_000, examples=[1])] = 1
    coterm_with: Annotated[int, Meta(ge=1, le=MAX_ID)] | None = None


class TierUpgradeRequest(Struct, frozen=True):
    sku: Annotated[str, Meta(max_length=100, examples=["base-yearly"])] = ""


def as_dict(body: Struct) -> dict[str, Any]:
    """A checked body as the plain JSON the domain's parsers read."""
    data: dict[str, Any] = msgspec.to_builtins(body)
    return data


# --- answers -------------------------------------------------------------------------


class OrderLine(Struct):
    sku: str
    name: str
    kind: str
    quantity: int
    unit_price: Money
    total: Money
    billing_period_months: int | None


class PaymentRecord(Struct):
    amount: Money
    method: str
    reference: str | None
    received_at: datetime
    label: Annotated[str, Meta(description="as the buyer sees it", examples=["Visa •••• 4242"])]
    detail: dict[str, Any] | None = None  # what the provider told: card brand, last four


class RateUsed(Struct):
    rate: str
    margin: str


class PaymentInfo(Struct):
    """How to pay: bank details as ``instructions``, a PayPal ``redirect_url``, or the card
    form's ``client_secret`` with Stripe's ``publishable_key``."""

    method: str | None
    instructions: list[str]
    redirect_url: str | None
    client_secret: str | None
    publishable_key: str | None


class BillingAddress(Struct):
    street: str
    postcode: str | None
    city: str | None
    region: str | None


class CreditNoteRef(Struct):
    number: Annotated[str, Meta(description="as printed: CN-<n>, its own gapless series (R8)")]
    issued_at: datetime
    amount: Annotated[Money, Meta(description="the gross amount the credit note cancels")]
    currency: str
    pdf_url: str


class Order(Struct):
    number: Annotated[int, Meta(examples=[1001])]
    quote_number: Annotated[int | None, Meta(description="R8: the quote series")]
    invoice_number: Annotated[int | None, Meta(description="R8: the invoice series")]
    token: str
    under_review: Annotated[bool, Meta(description="R27: not payable until accepted")]
    status: Annotated[
        str, Meta(description="quote, pending, paid, expired or cancelled", examples=["pending"])
    ]
    kind: Annotated[str, Meta(description="new, renewal, switch, …", examples=["new"])]
    email: str
    name: str
    organisation: str | None
    country: str
    billing_address: BillingAddress | None
    tax_number: str | None
    po_number: str | None
    reseller: Reseller | None
    locale: str
    currency: str
    total: Money
    paid: Money
    due: Money
    lines: list[OrderLine]
    payments: list[PaymentRecord]
    exchange_rate: RateUsed | None
    licence_id: int | None
    subscription_id: int | None
    licence_key: str | None
    created_at: datetime
    valid_until: datetime | None
    paid_at: datetime | None
    document_url: str
    payment: PaymentInfo
    needs_action: Annotated[
        str | None, Meta(description="why an operator must look at it (money kept), or null")
    ]
    needs_action_text: str | None
    needs_action_since: datetime | None
    xrechnung_url: Annotated[
        str | None,
        Meta(
            description="the invoice as XRechnung (CII XML): only for an issued invoice to a "
            "business buyer (organisation or VAT/tax number); absent otherwise"
        ),
    ] = None
    invoice_retained_until: Annotated[
        date | None,
        Meta(
            description="GoBD: the issued invoice is kept unchanged until this day; absent "
            "without an invoice"
        ),
    ] = None
    credit_notes: Annotated[
        list[CreditNoteRef],
        Meta(description="the credit notes that cancelled or corrected the invoice"),
    ] = []


class OrderAnswer(Struct):
    order: Order


class OrderList(Struct):
    orders: list[Order]


class Licence(Struct):
    id: int
    email: str
    status: Annotated[str, Meta(examples=["trial"])]
    product: str
    quantities: dict[str, int]
    paid_until: date | None
    trial_ends_at: datetime | None
    support: str | None
    key: str | None


class LicenceAnswer(Struct):
    licence: Licence


class LicenceList(Struct):
    licences: list[Licence]


class ScheduledChange(Struct):
    items: list[Item]
    effective_at: date


class SubscriptionEvent(Struct):
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason: str


class Subscription(Struct):
    id: int
    status: str
    email: str
    items: list[Item]
    term_start: date | None
    term_end: date | None
    billing_period_months: int
    scheduled_change: ScheduledChange | None
    recurring_total: Money
    next_renewal_total: Annotated[
        Money | None, Meta(description="with a scheduled change; null when nothing renews")
    ]
    open_switch_order: Annotated[
        Order | None, Meta(description="the unpaid setup-fee order of an upgrade")
    ]
    licence_id: int
    can_switch: bool
    reason: str | None
    reason_text: str | None
    page_url: str
    events: list[SubscriptionEvent] | None = None


class ImportAnswer(Struct):
    subscription: Subscription
    licence: Licence


class SwitchLine(Struct):
    sku: str
    name: str
    quantity: int
    recurring_total: Money


class SwitchAnswer(Struct):
    kind: Annotated[str, Meta(description="upgrade or downgrade", examples=["upgrade"])]
    setup_fee: Money
    fee_waived: bool
    days_left: int
    days_in_term: int
    term_start: date
    term_end: date
    formula: Annotated[str, Meta(examples=["(670.00 − 610.00) × 275 / 365 = 45.21"])]
    explanation: str
    effective_at: date
    current_recurring_total: Money
    new_recurring_total: Money
    next_renewal_total: Money
    lines: list[SwitchLine]
    applied: bool
    scheduled: bool
    order: Order | None


class ResponseTime(Struct):
    level: str
    time: str


class Support(Struct):
    name: str
    channels: list[str]
    availability: str | None
    response_times: list[ResponseTime]


class ProductRate(Struct):
    base: str
    rate: str
    margin: str


class Product(Struct):
    sku: str
    name: str
    description: str
    line: str
    line_name: str
    kind: Annotated[str, Meta(description="subscription, perpetual, addon or agreement")]
    billing_period_months: int | None
    invoice_every_months: int | None
    trial_days: int
    self_service_switch: bool
    sold_to_new_customers: bool
    tier: int | None
    addons: list[str]
    price: Money
    exchange_rate: ProductRate | None
    support: Support | None


class ProductList(Struct):
    currency: str
    country: str | None
    locale: str
    products: list[Product]


class Plugin(Struct):
    name: str
    enabled: bool
    description: str
    version: str | None
    distribution: str | None
    builtin: bool
    essential: bool
    hooks: list[str]
    configured: bool
    missing_settings: list[str]


class PluginList(Struct):
    plugins: list[Plugin]


class PluginAnswer(Struct):
    plugin: Plugin


class ExchangeRate(Struct):
    currency: str
    base: str
    rate: str
    margin: str
    effective_rate: str


class ExchangeRateAnswer(Struct):
    exchange_rate: ExchangeRate


class OutboxEntry(Struct):
    id: int
    to: str
    subject: str
    kind: str
    order_number: str | None
    locale: str
    text: str
    attachment: str | None
    created_at: datetime
    sent_at: datetime | None
    status: Annotated[str, Meta(description="pending, sending, sent or failed")]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


class Outbox(Struct):
    messages: list[OutboxEntry]


class MaintenanceAnswer(Struct):
    order: Order
    maintenance_until: date | None
    review: str | None


class CatchUpPrice(Struct):
    sku: str
    months_without_agreement: int
    licence_price: Money
    price: Money


class WebhookAck(Struct):
    received: bool
    event: str
    outcome: Annotated[
        str, Meta(description="applied, duplicate, unknown_order, malformed, ignored, …")
    ]


# --- documented statuses -----------------------------------------------------------------

PROBLEM = "application/problem+json"
# What every route may answer, whatever it does: a body it cannot read, a busy database.
ALWAYS = {
    400: ("validation_error", "invalid_json"),
    413: ("body_too_large",),
    422: ("validation_error",),
    503: ("busy",),
}
DESCRIPTIONS = {
    400: "The body is not JSON, or is nested too deeply",
    401: "No valid operator token",
    403: "Not allowed",
    404: "Nothing at this address",
    409: "The state of the order or subscription does not allow it",
    413: "The body is larger than SHOP_MAX_BODY_BYTES",
    422: "A field is not valid; ``field`` names it",
    429: "Too many requests from this address (SHOP_RATE_LIMITS); retry after Retry-After s",
    503: "Busy or a provider unreachable; try again after Retry-After seconds",
}


def answers(status: int, model: Any, **errors: tuple[str, ...]) -> dict[int, ResponseSpec]:
    """``responses=`` of a route: its answer, and each error status with its ``code``s.
    ``errors`` are keyed ``e404=("not_found",)``; the ones in ``ALWAYS`` are added."""
    codes: dict[int, set[str]] = {s: set(c) for s, c in ALWAYS.items()}
    for key, more in errors.items():
        codes.setdefault(int(key.removeprefix("e")), set()).update(more)
    specs = {status: ResponseSpec(data_container=model, generate_examples=False, description="OK")}
    for code_status, names in sorted(codes.items()):
        listed = ", ".join(f"`{n}`" for n in sorted(names))
        specs[code_status] = ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type=PROBLEM,
            description=f"{DESCRIPTIONS[code_status]}. code: {listed}",
            examples=[
                Example(
                    summary=name,
                    value={
                        "type": f"urn:shop:problem:{name}",
                        "title": "…",
                        "status": code_status,
                        "detail": "…",
                        "code": name,
                    },
                )
                for name in sorted(names)
            ],
        )
    return specs


OPERATOR = {"e401": ("unauthorized",)}
# The calls shop.web.rate_limits counts.
RATE_LIMITED = {"e429": ("rate_limited",)}


class ReviewRequestInfo(Struct):
    """What the buyer asked for beside a co-terming quote (R27)."""

    reason: str | None
    coterm_with: int | None
    current_maintenance_end: date | None
    requested_maintenance_end: date | None
    coterm_licence_end: date | None
    latest_allowed_end: date | None


class Review(Struct):
    order: Order
    request: ReviewRequestInfo


class ReviewList(Struct):
    reviews: list[Review]


class ReviewAnswer(Struct):
    order: Order
    request: ReviewRequestInfo
    decision: Annotated[str, Meta(examples=["accept"])]


class LoginLinkRequest(Struct, frozen=True):
    """The address to mail a login link to; only an address the shop knows gets one."""

    email: Email


class LoginLinkAnswer(Struct):
    status: Annotated[str, Meta(examples=["accepted"])]


# --- activations (issue 14) -------------------------------------------------------------


class ActivationRequest(Struct, frozen=True):
    """An installation of the vendor's software asks for a slot of the licence."""

    key: Annotated[str, Meta(max_length=10_000, description="the licence key (any of its keys)")]
    fingerprint: Annotated[
        str,
        Meta(
            max_length=1_000,
            examples=["srv-4f1c2a9e"],
            description="what identifies this installation, at most 200 characters",
        ),
    ]
    name: Annotated[str, Meta(max_length=1_000, examples=["Main server"])] | None = None


ACTIVATION_EXAMPLE = {"key": "LS1.…", "fingerprint": "srv-4f1c2a9e", "name": "Main server"}


class Activation(Struct):
    id: int
    licence_id: int
    fingerprint: str
    name: str | None
    activated_at: datetime
    last_check_in_at: datetime
    deactivated_at: datetime | None
    deactivated_by: Annotated[str | None, Meta(description="software, customer or operator")]
    check_in_by: Annotated[datetime | None, Meta(description="when the file wants a check-in")]
    licence_file: Annotated[
        str | None,
        Meta(description="the signed licence file (JSON text), to be saved as it is"),
    ]
    reused: Annotated[bool, Meta(description="the installation's activation existed already")]


class ActivationAnswer(Struct):
    activation: Activation
