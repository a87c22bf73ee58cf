"""Input no handler should see: JSON too deep to walk, text a database cannot store, ids no
database column holds. Checked once, before a handler's arguments are read, so every
route answers it the same way (problem+json with a ``code``, never a 500)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request

from shop.accounts.tokens import bearer_token, unauthorized
from shop.catalog.products import N_
from shop.errors import ShopError

# Deeper than any body the shop reads (an order is 3 levels deep); msgspec and json stop
# near 1,000 with a RecursionError, which must not reach anyone.
MAX_JSON_DEPTH = 32
# The largest id a BIGINT column holds (PostgreSQL; SQLite's INTEGER alike).
MAX_ID = 2**63 - 1
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHECKED_PREFIXES = ("/api/", "/webhooks/")


class TooDeep(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``."""


def storable(text: str) -> bool:
    """Text every database keeps as sent: no NUL (PostgreSQL refuses it, and SQLite would
    cut it off in C strings, e-mail addresses included) and no lone surrogate (not UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_field(data: Any) -> str | None:
    """The dotted path (``reseller.customer_name``, ``items.0.sku``) of the first key or
    string in ``data`` that cannot be stored; walked without recursion. Raises ``TooDeep``."""
    pending: list[tuple[str, Any, int]] = [("", data, 0)]
    while pending:
        path, value, depth = pending.pop()
        if isinstance(value, str):
            if not storable(value):
                return path or "body"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise TooDeep(path)
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in entries:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not storable(key):
                return where
            pending.append((where, item, depth + 1))
    return None


def unreadable_json() -> ShopError:
    # ``validation_error`` as the API always answered a syntax error; the reason says which.
    return (
        ShopError(400, "validation_error", N_("The request body is not JSON the shop can read."))
        .on_field("body")
        .with_reason("invalid_json")
    )


def too_deep() -> ShopError:
    return ShopError(
        400,
        "invalid_json",
        N_("The request body is nested more than %(depth)s levels deep."),
        depth=MAX_JSON_DEPTH,
    ).on_field("body")


def unstorable(field: str) -> ShopError:
    return ShopError(
        422,
        "validation_error",
        N_("This field contains characters that cannot be used (such as NUL)."),
    ).on_field(field)


def decode_json(body: bytes) -> Any:
    """The JSON document in ``body``; ``invalid_json`` for anything else, however deep."""
    try:
        return msgspec.json.decode(body)
    except RecursionError:
        raise too_deep() from None
    except msgspec.DecodeError:
        pass
    # msgspec refuses lone surrogates ("\ud800"); the standard parser reads them, so the
    # answer can name the field that holds one.
    try:
        return json.loads(body)
    except RecursionError:
        raise too_deep() from None
    except ValueError:
        raise unreadable_json() from None


def check_body(body: bytes, model: type[msgspec.Struct] | None = None) -> None:
    """Raise the answer for a JSON body no handler can use."""
    if not body.strip():
        if model is not None:
            check_shape(None, model)
        return
    data = decode_json(body)
    try:
        field = unstorable_field(data)
    except TooDeep:
        raise too_deep() from None
    if field is not None:
        raise unstorable(field)
    if model is not None:
        check_shape(data, model)


def invalid_value(message: str, name: str) -> ShopError:
    """msgspec's (English) message on a value, as the shop's translated field error:
    ``Expected `str` of length <= 320 - at `$.email` `` names ``email``."""
    _, at, path = message.partition(" - at `$")
    dotted = path.rstrip("`").replace("[", ".").replace("]", "").lstrip(".") if at else ""
    missing = message.partition("missing required field `")[2].partition("`")[0]
    field = ".".join(p for p in (name if name != "body" else "", dotted, missing) if p)
    limit = message.partition("of length <= ")[2].partition(" ")[0].rstrip("`")
    if missing:
        error = ShopError(422, "validation_error", N_("Please fill in this field."))
    elif limit.isdigit():
        error = ShopError(
            422, "validation_error", N_("Use at most %(limit)s characters."), limit=int(limit)
        )
    else:
        error = ShopError(422, "validation_error", N_("This value is not valid here."))
    return error.on_field(field or "body")


def body_model(request: Request[Any, Any, Any]) -> type[msgspec.Struct] | None:
    """The Struct a route reads its body as, if it declares one."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    model = getattr(parameter, "annotation", None)
    return model if isinstance(model, type) and issubclass(model, msgspec.Struct) else None


def check_shape(data: Any, model: type[msgspec.Struct]) -> None:
    """The body against its Struct, strictly: Litestar converts leniently (a quantity of
    "2" would pass as 2), and a JSON API takes a number as a number."""
    try:
        msgspec.convert(data, type=model, strict=True)
    except msgspec.ValidationError as error:
        raise invalid_value(str(error), "") from None


def check_parameters(request: Request[Any, Any, Any]) -> None:
    """Path and query values that no row can match or hold."""
    api = request.url.path.startswith(CHECKED_PREFIXES)
    for name, value in request.path_params.items():
        bad_text = isinstance(value, str) and not storable(value)
        huge = isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID
        if huge or (bad_text and not api):
            # No order, licence or file has such an address.
            raise ShopError(404, "not_found", N_("There is nothing at this address."))
        if bad_text:
            raise unstorable(name)
    for name, value in request.query_params.items():
        if not storable(value):
            raise unstorable(name)


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def check_form(request: Request[Any, Any, Any]) -> None:
    """A page's form fields, as the API's strings: nothing a database cannot store."""
    form = await request.form()  # parsed once; the CSRF check and the handler reuse it
    for name, value in form.multi_items():
        if isinstance(value, str) and not storable(value):
            raise unstorable(name)


OPERATOR_PREFIX = "/api/v1/admin/"


async def refuse_hostile_input(request: Request[Any, Any, Any]) -> None:
    """Before-request hook: the shop's answers to input that must not reach a handler."""
    check_parameters(request)
    path = request.url.path
    if request.method not in BODY_METHODS:
        return
    if not path.startswith(CHECKED_PREFIXES):
        if request.headers.get("content-type", "").startswith(FORMS):
            await check_form(request)
        return
    if (
        path.startswith(OPERATOR_PREFIX)
        and bearer_token(request.headers.get("authorization", "")) is None
    ):
        raise unauthorized()  # without a token, nothing about the body is told (R35)
    try:
        check_body(await request.body(), body_model(request))
    except ShopError as error:
        if not path.startswith("/webhooks/") or error.status >= 500:
            raise
        # What a provider sends is an event or nothing the shop can use: 400 either way.
        raise ShopError(
            400, "invalid_event", N_("The body is not an event the shop can read.")
        ).with_reason(error.code) from None
