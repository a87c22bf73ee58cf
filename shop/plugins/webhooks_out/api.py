"""Operator API of ``webhooks_out`` (contract: shared/API.md): register endpoints, read
their delivery log, replay a delivery. Every call needs an operator's bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Response, Router, get, patch, post, route
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import Meta, Struct
from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.plugins.events import EVENT_TYPES, last_seq
from shop.plugins.state import enabled_names
from shop.plugins.webhooks_out.delivery import new_endpoint_id, new_secret, replay
from shop.plugins.webhooks_out.models import WebhookDelivery, WebhookEndpoint
from shop.web.api.schemas import OPERATOR, answers
from shop.web.deps import Db, Operator, ShopDep, provide_operator
from shop.web.transaction import transaction

PLUGIN = "webhooks_out"
MAX_URL = 2000
DELIVERY_LOG = 100  # the newest deliveries shown


class EndpointRequest(Struct, frozen=True):
    """Where to POST which events: ``url`` (http or https), ``events`` (their types)."""

    url: Annotated[str, Meta(max_length=MAX_URL, examples=["https://crm.example.com/hooks"])]
    events: Annotated[
        list[Annotated[str, Meta(max_length=50)]],
        Meta(max_length=len(EVENT_TYPES), examples=[["order.paid", "licence.issued"]]),
    ]


class EndpointChange(Struct, frozen=True):
    """Pause (``false``) or resume (``true``) deliveries to an endpoint."""

    active: bool


class Endpoint(Struct, frozen=True):
    id: Annotated[str, Meta(examples=["we_4f1c2a"])]
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class EndpointCreated(Struct, frozen=True):
    """The new endpoint with its signing secret, shown this once."""

    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    secret: Annotated[str, Meta(examples=["whsec_…"])]


class EndpointList(Struct, frozen=True):
    webhook_endpoints: list[Endpoint]


class Delivery(Struct, frozen=True):
    """One event's delivery to one endpoint: ``pending``, ``delivered`` or ``failed``."""

    id: int
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class EndpointAnswer(Struct, frozen=True):
    webhook_endpoint: Endpoint


class DeliveryList(Struct, frozen=True):
    deliveries: list[Delivery]


class DeliveryAnswer(Struct, frozen=True):
    delivery: Delivery


NO_ENDPOINT = {"e404": ("not_found",)}


def _switched_on(db: Session, shop: Any) -> None:
    if PLUGIN not in enabled_names(db, shop.plugins):
        raise ShopError(404, "not_found", N_("Outgoing webhooks are switched off."))


def check_url(url: str) -> str:
    """An absolute http(s) address with a host, else 422 on ``url``."""
    try:
        parts = urlsplit(url.strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # e.g. a port that is no number, an unclosed "["
        ok = False
    if not ok or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        raise ShopError(
            422, "validation_error", N_("The URL must be an http:// or https:// address.")
        ).on_field("url")
    return url.strip()


def check_events(events: list[str]) -> list[str]:
    """At least one event type, each a known one; duplicates dropped."""
    if not events or any(e not in EVENT_TYPES for e in events):
        raise ShopError(
            422,
            "validation_error",
            N_("Name at least one event, each of: %(types)s."),
            types=", ".join(EVENT_TYPES),
        ).on_field("events")
    return list(dict.fromkeys(events))


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
    }


def endpoint_by_id(db: Session, endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise ShopError(
            404, "not_found", N_("No webhook endpoint is called “%(id)s”."), id=endpoint_id
        )
    return endpoint


@get("/", sync_to_thread=True, responses=answers(200, EndpointList, **OPERATOR, **NO_ENDPOINT))
@transaction
def list_endpoints(db: Db, shop: ShopDep, operator: Operator) -> dict[str, Any]:
    """The registered endpoints, oldest first (their secrets are shown only on creation)."""
    _switched_on(db, shop)
    endpoints = db.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at)))
    return {"webhook_endpoints": [endpoint_json(e) for e in endpoints]}


@post(
    "/",
    sync_to_thread=True,
    status_code=201,
    responses=answers(201, EndpointCreated, **OPERATOR, **NO_ENDPOINT),
)
@transaction
def create_endpoint(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    data: Annotated[
        EndpointRequest,
        Body(
            examples=[
                Example(
                    value={
                        "url": "https://crm.example.com/hooks",
                        "events": ["order.paid", "licence.issued"],
                    }
                )
            ]
        ),
    ],
) -> dict[str, Any]:
    """Register an endpoint for the events named; it receives those stored from now on,
    each signed with the secret in this answer (``Shop-Signature``, see the README)."""
    _switched_on(db, shop)
    url, events = check_url(data.url), check_events(list(data.events))
    endpoint = WebhookEndpoint(
        id=new_endpoint_id(),
        url=url,
        events=events,
        secret=new_secret(),
        active=True,
        after_seq=last_seq(db),
        created_at=shop.clock.now(),
    )
    db.add(endpoint)
    db.flush()
    return {**endpoint_json(endpoint), "secret": endpoint.secret}


@patch(
    "/{endpoint_id:str}",
    sync_to_thread=True,
    responses=answers(200, EndpointAnswer, **OPERATOR, **NO_ENDPOINT),
)
@transaction
def change_endpoint(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    endpoint_id: FromPath[str],
    data: Annotated[EndpointChange, Body(examples=[Example(value={"active": False})])],
) -> dict[str, Any]:
    """Pause or resume an endpoint. A paused one is sent nothing; resumed, it receives
    what was stored meanwhile too, in order."""
    _switched_on(db, shop)
    endpoint = endpoint_by_id(db, endpoint_id)
    endpoint.active = data.active
    db.add(endpoint)
    db.flush()
    return {"webhook_endpoint": endpoint_json(endpoint)}


@get(
    "/{endpoint_id:str}/deliveries",
    sync_to_thread=True,
    responses=answers(200, DeliveryList, **OPERATOR, **NO_ENDPOINT),
)
@transaction
def list_deliveries(
    db: Db, shop: ShopDep, operator: Operator, endpoint_id: FromPath[str]
) -> dict[str, Any]:
    """The endpoint's delivery log, newest first: each event's state, attempts, the
    receiver's last answer or error."""
    _switched_on(db, shop)
    endpoint = endpoint_by_id(db, endpoint_id)
    deliveries = db.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(DELIVERY_LOG)
    )
    return {"deliveries": [d.as_json() for d in deliveries]}


@post(
    "/{endpoint_id:str}/deliveries/{delivery_id:int}/replay",
    sync_to_thread=True,
    status_code=200,
    responses=answers(200, DeliveryAnswer, **OPERATOR, **NO_ENDPOINT),
)
@transaction
def replay_delivery(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    endpoint_id: FromPath[str],
    delivery_id: FromPath[int],
) -> dict[str, Any]:
    """Send a delivery again at the next ``shop jobs run``, delivered or failed alike
    (same event id: a receiver that dedupes by ``Shop-Event-Id`` ignores it)."""
    _switched_on(db, shop)
    endpoint = endpoint_by_id(db, endpoint_id)
    delivery = db.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise ShopError(
            404, "not_found", N_("This endpoint has no delivery %(id)s."), id=delivery_id
        )
    return {"delivery": replay(db, delivery, shop.clock.now()).as_json()}


@route("/", http_method=["OPTIONS"], include_in_schema=False, sync_to_thread=False)
def endpoints_options() -> Response[None]:
    """Litestar's own OPTIONS answer names only the first method registered at a path
    (its route is rebuilt for the second, the OPTIONS handler is kept): say both."""
    return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": "GET, OPTIONS, POST"})


webhooks_router = Router(
    path="/api/v1/admin/webhook-endpoints",
    # OPTIONS first, so that Litestar adds no OPTIONS handler of its own at "/".
    route_handlers=[
        endpoints_options,
        list_endpoints,
        create_endpoint,
        change_endpoint,
        list_deliveries,
        replay_delivery,
    ],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["admin"],
    security=[{"operatorToken": []}],
)
