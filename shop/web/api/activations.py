"""Activations for the vendor's software (issue 14): take a slot of a licence and get a
signed licence file, check in for a fresh one, free the slot. Authorised by the licence
key (in the body, or the ``Licence-Key`` header); a wrong key is a 404 that tells nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Router, delete, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, HeaderParameter

from shop.licences.activations import (
    SOFTWARE,
    Issued,
    activate_instance,
    activation_for_key,
    check_in,
    deactivate,
)
from shop.licences.models import Activation
from shop.settings import Settings
from shop.web.api.schemas import (
    ACTIVATION_EXAMPLE,
    RATE_LIMITED,
    ActivationAnswer,
    ActivationRequest,
    answers,
)
from shop.web.deps import Db, ShopDep
from shop.web.transaction import transaction

LicenceKey = Annotated[
    str,
    HeaderParameter(
        name="Licence-Key",
        max_length=10_000,
        description="the licence key the activation was made with (or a newer key of it)",
    ),
]
REFUSED = ("licence_expired", "licence_cancelled", "licence_not_paid")


def activation_json(
    activation: Activation, settings: Settings, issued: Issued | None = None
) -> dict[str, Any]:
    check_in_by = (
        activation.last_check_in_at + timedelta(days=settings.activation_check_in_days)
        if activation.deactivated_at is None
        else None
    )
    return {
        "id": activation.id,
        "licence_id": activation.licence_id,
        "fingerprint": activation.fingerprint,
        "name": activation.name,
        "activated_at": activation.activated_at.isoformat(),
        "last_check_in_at": activation.last_check_in_at.isoformat(),
        "deactivated_at": activation.deactivated_at.isoformat()
        if activation.deactivated_at
        else None,
        "deactivated_by": activation.deactivated_by,
        "check_in_by": check_in_by.isoformat() if check_in_by else None,
        "licence_file": issued.licence_file if issued else None,
        "reused": issued.reused if issued else False,
    }


@post(
    "/",
    sync_to_thread=True,
    status_code=201,
    responses=answers(
        201,
        ActivationAnswer,
        e404=("not_found",),
        e409=("activation_limit", *REFUSED),
        **RATE_LIMITED,
    ),
)
@transaction
def create_activation(
    db: Db,
    shop: ShopDep,
    data: Annotated[ActivationRequest, Body(examples=[Example(value=ACTIVATION_EXAMPLE)])],
) -> dict[str, Any]:
    """Activate an installation: 201 with the signed ``licence_file``. The same fingerprint
    again answers its existing activation (``reused``), never a second slot; a licence
    with every slot in use answers 409 ``activation_limit`` naming them."""
    issued = activate_instance(
        db,
        shop.plugins.everything.products,
        shop.settings,
        data.key,
        data.fingerprint,
        data.name,
        shop.clock.now(),
    )
    return {"activation": activation_json(issued.activation, shop.settings, issued)}


@post(
    "/{activation_id:int}/check-in",
    sync_to_thread=True,
    status_code=200,
    responses=answers(
        200,
        ActivationAnswer,
        e404=("not_found",),
        e409=("activation_deactivated", *REFUSED),
        **RATE_LIMITED,
    ),
)
@transaction
def check_in_activation(
    db: Db, shop: ShopDep, activation_id: FromPath[int], licence_key: LicenceKey
) -> dict[str, Any]:
    """A fresh licence file with the licence's entitlements now: after a renewal, upgrade
    or maintenance extension, the new paid-until, maintenance and quantities."""
    issued = check_in(
        db,
        shop.plugins.everything.products,
        shop.settings,
        activation_id,
        licence_key,
        shop.clock.now(),
    )
    return {"activation": activation_json(issued.activation, shop.settings, issued)}


@delete(
    "/{activation_id:int}",
    sync_to_thread=True,
    status_code=200,
    responses=answers(200, ActivationAnswer, e404=("not_found",)),
)
@transaction
def delete_activation(
    db: Db, shop: ShopDep, activation_id: FromPath[int], licence_key: LicenceKey
) -> dict[str, Any]:
    """Free the slot (the installation is uninstalled or moves); twice is the same."""
    activation, _licence = activation_for_key(db, shop.settings, activation_id, licence_key)
    deactivate(db, activation, SOFTWARE, shop.clock.now())
    return {"activation": activation_json(activation, shop.settings)}


activations_router = Router(
    path="/api/v1/activations",
    route_handlers=[create_activation, check_in_activation, delete_activation],
    tags=["activations"],
)
