"""Errors a user can cause, each with a stable ``code`` and a translatable message.

The web layer turns a ``ShopError`` into application/problem+json (API) or a page with the
message (storefront); ``title`` and ``detail`` are message ids, translated there.
"""

from __future__ import annotations

from typing import Any

from shop.catalog.products import N_

TITLES = {
    "validation_error": N_("The request is not valid"),
    "not_found": N_("Not found"),
    "unauthorized": N_("Operator token required"),
    "currency_not_allowed": N_("Currency not allowed"),
    "currency_unknown": N_("Unknown currency"),
    "exchange_rate_missing": N_("No exchange rate set"),
    "plugin_disabled": N_("Not available"),
    "plugin_essential": N_("Plugin cannot be disabled"),
    "method_not_allowed": N_("Method not allowed"),
    "internal_error": N_("Something went wrong on our side"),
    "forbidden": N_("Not allowed"),
    "switch_not_allowed": N_("Upgrade or Downgrade is not available"),
    "licence_exists": N_("This e-mail address already has a licence"),
    "unknown_product": N_("Unknown product"),
    "not_for_sale": N_("Not for sale"),
    "no_trial": N_("No free trial"),
    "method_not_available": N_("Payment method not available"),
    "currency_mismatch": N_("Wrong currency"),
    "order_closed": N_("Order closed"),
    "order_paid": N_("Order already paid"),
    "invalid_amount": N_("Invalid amount"),
    "absurd_amount": N_("Implausible amount"),
    "overpayment": N_("More than is due"),
    "nothing_to_resolve": N_("Nothing to resolve"),
    "order_expired": N_("Order expired"),
    "order_not_payable": N_("Order cannot be paid"),
    "order_not_cancellable": N_("Order cannot be cancelled"),
    "invalid_signature": N_("Invalid signature"),
    "provider_unavailable": N_("Payment provider unavailable"),
    "busy": N_("Busy"),
    "rate_limited": N_("Too many attempts"),
    "not_resumable": N_("Cannot be resumed"),
    "link_expired": N_("Link expired"),
    "operator_exists": N_("Operator exists"),
    "contact_exists": N_("Contact exists"),
    "idempotency_key_reused": N_("Idempotency-Key already used"),
    "review_pending": N_("Under review"),
    "not_under_review": N_("Not under review"),
    "invalid_json": N_("Unreadable JSON"),
    "body_too_large": N_("Request too large"),
    "invalid_event": N_("Not a provider event"),
    "activation_limit": N_("No free instance"),
    "licence_expired": N_("Licence expired"),
    "licence_cancelled": N_("Licence cancelled"),
    "licence_not_paid": N_("Licence not paid"),
    "activation_deactivated": N_("Instance deactivated"),
    "erasure_refused": N_("Customer not erased"),
    "invoice_locked": N_("Invoice issued"),
    "not_creditable": N_("No credit note possible"),
}


class ShopError(Exception):
    def __init__(self, status: int, code: str, detail: str, **params: Any) -> None:
        super().__init__(f"{code}: {detail % params if params else detail}")
        self.status = status
        self.code = code
        self.title = TITLES.get(code, TITLES["validation_error"])
        self.detail = detail
        self.params = params
        self.field: str | None = None
        self.fields: list[str] = []  # every field at fault, when several are
        self.reason: str | None = None

    def with_reason(self, reason: str) -> ShopError:
        """A machine word for why (e.g. why switching is not allowed)."""
        self.reason = reason
        return self

    def on_field(self, field: str) -> ShopError:
        """Name the input field this error is about (shown beside it on forms)."""
        self.field = field
        return self
