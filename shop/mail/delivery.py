"""Sending the outbox in three short steps, so that no lock ever waits for a mail server.

1. Claim: one short transaction marks the due messages as taken by this sender until a
   lease ends (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two senders claim different
   messages; on SQLite the one writer makes the claim a short queue).
2. Send: compose each message (``documents`` renders the document it links to, reading
   the order in a short read of its own) and hand it over SMTP with no transaction and no
   database connection held, however long the server takes.
3. Record: each outcome in its own short transaction: sent, or the error with the next
   attempt backed off (1 min, 5 min, 30 min, 2 h, ... a day), failed after MAX_ATTEMPTS.

A sender that dies between claim and record leaves its messages claimed until the lease
ends; then they are due again (at least once; the Message-ID stays the same). A sender
stops before its lease could run out in the middle of a message, so while two senders are
alive no message is sent by both. All times come from the shop's clock.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from shop.clock import Clock
from shop.db import session_scope
from shop.mail.outbox import (
    Attachment,
    MailStatus,
    OutboxMessage,
    SmtpServer,
    compose,
    parse_smtp_url,
)

SMTP_TIMEOUT = 30.0  # seconds per reply; a hanging server must not hold a sender for long
LEASE = timedelta(minutes=15)
BATCH = 20  # messages per claim
MAX_ATTEMPTS = 8
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
)
# Handing one message over waits for the server's reply to MAIL, RCPT, DATA and the end of
# the data: up to this many timeouts.
REPLIES_PER_MESSAGE = 4
MAX_ERROR_LENGTH = 1000

# Renders the document a message links to (an order's quote or invoice); None without one.
Documents = Callable[[OutboxMessage], Attachment | None]


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # given up


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failed attempt."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def claim_due(
    engine: Engine, sender_id: str, now: datetime, *, lease: timedelta = LEASE, limit: int = BATCH
) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for ``sender_id`` until ``now + lease``."""
    with session_scope(engine) as session:
        messages = list(
            session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == MailStatus.PENDING,
                    col(OutboxMessage.next_attempt_at) <= now,
                    or_(
                        col(OutboxMessage.claimed_until).is_(None),
                        col(OutboxMessage.claimed_until) <= now,
                    ),
                )
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for message in messages:
            message.claimed_until = now + lease
            message.claimed_by = sender_id
    return messages


def deliver_due(
    engine: Engine,
    smtp_url: str | None,
    sender: str,
    clock: Clock,
    *,
    documents: Documents | None = None,
    timeout: float = SMTP_TIMEOUT,
    lease: timedelta = LEASE,
    batch: int = BATCH,
    batches: int | None = None,
) -> DeliveryReport:
    """Send what is due, ``batch`` messages per claim, until nothing is due (or after
    ``batches`` claims). Without an SMTP URL nothing is sent.

    Nothing raises for a failed delivery: the message counts the attempt and keeps the
    error for the operator. Call it outside any transaction: it opens its own short ones.
    """
    report = DeliveryReport()
    if smtp_url is None:
        return report
    server = parse_smtp_url(smtp_url)
    sender_id = uuid.uuid4().hex
    lease = max(lease, 2 * _longest_hand_over(timeout))  # long enough for a message or two
    claims = 0
    while batches is None or claims < batches:
        claimed = claim_due(engine, sender_id, clock.now(), lease=lease, limit=batch)
        claims += 1
        if claimed:
            finished = _send(
                engine, server, sender, clock, sender_id, claimed, documents, timeout, report
            )
            if not finished:
                break  # a slow server: what is left waits for the next run
        if len(claimed) < batch:
            break
    return report


def _longest_hand_over(timeout: float) -> timedelta:
    return timedelta(seconds=timeout * REPLIES_PER_MESSAGE)


# Errors that concern one message; the connection stays usable for the next one.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPResponseException,
    smtplib.SMTPNotSupportedError,
    ValueError,  # a header the message cannot carry, e.g. an address it cannot encode
)


def _send(
    engine: Engine,
    server: SmtpServer,
    sender: str,
    clock: Clock,
    sender_id: str,
    claimed: Sequence[OutboxMessage],
    documents: Documents | None,
    timeout: float,
    report: DeliveryReport,
) -> bool:
    """Hand the claimed messages over one SMTP connection; no transaction is open here.

    False if the lease ran short and the rest was handed back."""
    lease_end = min(message.claimed_until or clock.now() for message in claimed)
    longest_hand_over = _longest_hand_over(timeout)
    waiting = list(claimed)  # a message leaves once its outcome is recorded
    try:
        with _connect(server, timeout) as smtp:
            while waiting and clock.now() + longest_hand_over < lease_end:
                message = waiting[0]
                try:
                    email = compose(message, sender, documents(message) if documents else None)
                    smtp.send_message(email)
                except _MESSAGE_ERRORS as error:
                    _record_failure(engine, message, sender_id, error, clock.now(), report)
                except (OSError, smtplib.SMTPException):
                    raise  # the connection's failure, below
                except Exception as error:  # a document that cannot be made: this one's problem
                    _record_failure(engine, message, sender_id, error, clock.now(), report)
                else:
                    _record_sent(engine, message, clock.now(), report)
                waiting.pop(0)
    except (OSError, smtplib.SMTPException) as error:
        for message in waiting:  # the connection failed: the current message and the rest
            _record_failure(engine, message, sender_id, error, clock.now(), report)
        return True
    _release(engine, sender_id, waiting)  # the lease ran short; due again at once
    return not waiting


def _connect(server: SmtpServer, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        if server.username is not None:
            if not server.implicit_tls:
                smtp.starttls(context=context)
            smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]


def _record_sent(
    engine: Engine, message: OutboxMessage, now: datetime, report: DeliveryReport
) -> None:
    # Recorded even if the lease was lost meanwhile: the mail is out, whoever holds it now.
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message.id,
                col(OutboxMessage.status) == MailStatus.PENDING,
            )
            .values(
                status=MailStatus.SENT,
                sent_at=now,
                attempts=message.attempts + 1,
                last_error=None,
                next_attempt_at=None,
                claimed_until=None,
            )
        )
    report.sent += 1


def _record_failure(
    engine: Engine,
    message: OutboxMessage,
    sender_id: str,
    error: BaseException,
    now: datetime,
    report: DeliveryReport,
) -> None:
    attempts = message.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message.id,
                col(OutboxMessage.status) == MailStatus.PENDING,
                col(OutboxMessage.claimed_by) == sender_id,  # not another sender's claim
            )
            .values(
                status=MailStatus.FAILED if gave_up else MailStatus.PENDING,
                attempts=attempts,
                last_error=_describe(error),
                next_attempt_at=None if gave_up else now + retry_delay(attempts),
                claimed_until=None,
            )
        )
    if gave_up:
        report.failed += 1
    else:
        report.retrying += 1


def _release(engine: Engine, sender_id: str, messages: Sequence[OutboxMessage]) -> None:
    if not messages:
        return
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_([message.id for message in messages]),
                col(OutboxMessage.claimed_by) == sender_id,
            )
            .values(claimed_until=None)
        )
