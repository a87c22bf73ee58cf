"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
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
        """The received mails once there are ``count`` (mail goes out after the response,
        so a live server's mail may still be on its way when the page has loaded)."""
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


@contextmanager
def running(handler: Any) -> Iterator[str]:
    """Serve ``handler`` (e.g. a ``Collector``) over SMTP on 127.0.0.1; yields its URL."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


class HungServer:
    """A mail server that hangs: it accepts connections and never says a word.

    ``connected`` is set once a client holds a connection; ``release()`` hangs up on every
    client (and on any that comes later), as a server that finally gives up does."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.url = f"smtp://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connected = threading.Event()
        self._connections: list[socket.socket] = []
        self._released = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="hung-smtp", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self._released:
                    connection.close()
                    continue
                self._connections.append(connection)
            self.connected.set()

    def release(self) -> None:
        with self._lock:
            self._released = True
            for connection in self._connections:
                connection.close()

    def close(self) -> None:
        self.release()
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        self._listener.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HungServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
