"""The tables of ``webhooks_out``: the endpoints operators register, and one delivery per
event and endpoint, which is also the delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: str = Field(primary_key=True, max_length=40)  # "we_…"
    url: str = Field(sa_type=Text)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)  # "whsec_…": signs every delivery
    active: bool = True
    # Only events stored after it was registered are sent to it (``shop_event.seq``).
    after_seq: int = 0
    created_at: datetime


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or being sent right now)
    DELIVERED = "delivered"  # answered 2xx: never sent again (unless replayed)
    FAILED = "failed"  # given up after MAX_ATTEMPTS; replay sends it again


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # One delivery per event and endpoint, whatever the number of runners.
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", max_length=40)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=50)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None  # pending: when it is due; None once done
    # A sender's lease: until then no other runner takes it (a crashed one's falls due).
    claimed_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    last_attempt_at: datetime | None = None
    last_status: int | None = None  # the receiver's HTTP status, None without an answer
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = None
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        def at(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": at(self.next_attempt_at),
            "last_attempt_at": at(self.last_attempt_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "delivered_at": at(self.delivered_at),
            "created_at": at(self.created_at),
        }
