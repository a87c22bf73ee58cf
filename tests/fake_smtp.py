"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives."""

from __future__ import annotations

import email
import socket
import threading
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.smtp import Envelope


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Collector:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refused: set[str] = set()
        self._arrived = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        with self._arrived:
            self.envelopes.append(envelope)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The mails once ``count`` have arrived: the shop sends after its response."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.envelopes) >= count, timeout)
        return self.messages()

    def messages(self) -> list[EmailMessage]:
        """The received mails as a mail client shows them (SMTP ends lines with CRLF)."""
        return [
            email.message_from_bytes(
                bytes(e.content or b"").replace(b"\r\n", b"\n"), policy=default_policy
            )
            for e in self.envelopes
        ]
