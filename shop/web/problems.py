"""Errors as application/problem+json on the API and as a translated page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Template
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shop.catalog.products import N_
from shop.db import DatabaseBusy
from shop.errors import ShopError
from shop.web.deps import translator_for
from shop.web.hostile_input import invalid_value

log = logging.getLogger("shop")

JSON_PREFIXES = ("/api/", "/webhooks/", "/schema")
RETRY_AFTER_SECONDS = 2
RELEASE_OFFER = N_(
    "Is this your address, held by an unpaid order you did not place? Send a release link "
    "to this address."
)


def _as_shop_error(exc: Exception) -> ShopError:
    if isinstance(exc, ShopError):
        return exc
    if isinstance(exc, NotFoundException):
        return ShopError(404, "not_found", N_("There is nothing at this address."))
    if isinstance(exc, MethodNotAllowedException):
        return ShopError(405, "method_not_allowed", N_("This address does not accept that method."))
    if isinstance(exc, NotAuthorizedException):
        return ShopError(
            401, "unauthorized", N_("Send an operator token as “Authorization: Bearer <token>”.")
        )
    if isinstance(exc, PermissionDeniedException):  # Litestar's CSRF check
        return ShopError(
            403,
            "forbidden",
            N_(
                "This form has expired or came from elsewhere. "
                "Please reload the page and try again."
            ),
        )
    if isinstance(exc, TooManyRequestsException):  # shop.web.rate_limits
        return ShopError(
            429,
            "rate_limited",
            N_("Too many attempts from your address. Please wait a minute and try again."),
        )
    if isinstance(exc, RequestEntityTooLarge):
        return ShopError(
            413, "body_too_large", N_("The request is too large for the shop to read.")
        ).on_field("body")
    if isinstance(exc, ValidationException):
        return invalid_input(exc)
    if isinstance(exc, DatabaseBusy | PoolTimeout | OperationalError):
        # No connection or no write lock in time, or the database is away for a moment:
        # nothing was saved, and the same request may well succeed shortly.
        log.warning("database busy: %s", exc)
        return ShopError(
            503, "busy", N_("The shop is very busy right now. Please try again in a moment.")
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return ShopError(
            exc.status_code,
            "validation_error",
            N_("The request could not be read: %(reason)s"),
            reason=str(exc.detail),
        )
    log.exception("unhandled error", exc_info=exc)
    return ShopError(
        500, "internal_error", N_("Please try again in a moment. Nothing you saved was lost.")
    )


def invalid_input(exc: ValidationException) -> ShopError:
    """Litestar's own check of a typed parameter or body, in the shop's translated shape:
    422 ``validation_error`` naming the first field at fault (``errors`` names them all)."""
    entries = [e for e in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(e, dict)]
    if not entries:
        return invalid_value(str(exc.detail), "body")
    first = entries[0]
    key = str(first.get("key") or "")
    error = invalid_value(str(first.get("message", "")), "" if key == "data" else key)
    error.fields = [
        invalid_value(str(e.get("message", "")), str(e.get("key"))).field or "body" for e in entries
    ]
    return error


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    error = _as_shop_error(exc)
    t = translator_for(request)
    title = t.gettext(error.title)
    detail = t.gettext(error.detail, **error.params)
    headers = {"Content-Language": t.locale}
    if isinstance(exc, MethodNotAllowedException) and exc.headers:
        headers.update(exc.headers)  # Allow: the methods this address takes (RFC 9110)
    if error.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, TooManyRequestsException):
        # RateLimit-* say how many and until when; Retry-After is what clients read.
        headers.update(exc.headers or {})
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    if request.url.path.startswith(JSON_PREFIXES):
        extra: dict[str, Any] = {"code": error.code}
        if error.field:
            extra["field"] = error.field
        if error.fields:
            extra["errors"] = [{"field": name, "detail": detail} for name in error.fields]
        if error.reason:
            extra["reason"] = error.reason
        if error.code == "activation_limit" and "in_use" in error.params:
            extra["instances"] = error.params["in_use"]  # the slots taken (issue 14)
        if error.code == "licence_exists" and error.params.get("email"):
            # R1: the address's owner may free it from an unpaid order they did not place.
            extra["release_link"] = {
                "title": t.gettext(RELEASE_OFFER),
                "href": "/api/v1/address-release",
                "method": "POST",
                "body": {"email": str(error.params["email"])},
            }
        problem = ProblemDetailsException(
            status_code=error.status,
            type_=f"urn:shop:problem:{error.code}",
            title=title,
            detail=detail,
            extra=extra,
            headers=headers,
        )
        return problem.to_response(request)
    return Template(
        "pages/error.html",
        context={
            "t": t,
            "title": title,
            "detail": detail,
            "status": error.status,
            "code": error.code,
            "lang": t.locale,
            "shop_name": request.app.state.shop.settings.shop_name,
            "languages": [],
            "request_path": request.url.path,
        },
        status_code=error.status,
        headers=headers,
        media_type=MediaType.HTML,
    )
