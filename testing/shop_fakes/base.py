"""What both fakes share: a threaded HTTP server on 127.0.0.1 and webhook delivery.

Webhooks are delivered from a background thread, as the real providers do, so a shop that
calls the provider while holding a database lock never waits for its own webhook.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Response:
        return cls(
            status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers}
        )

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", {"Location": location})


@dataclass
class Delivery:
    """One webhook the fake sent, with the shop's answer (None: not reached)."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a killed test process) is no fake's bug."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeServer:
    """Serve ``handle`` on 127.0.0.1 in a thread; deliver webhooks to ``webhook_url``."""

    def __init__(self, port: int = 0, webhook_url: str | None = None) -> None:
        self.webhook_url = webhook_url
        self.deliveries: list[Delivery] = []
        self._lock = threading.RLock()
        self._outbox: queue.Queue[Delivery | None] = queue.Queue()
        self._delivered = threading.Condition(self._lock)
        self._httpd = _QuietServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self._sending = threading.Event()  # cleared: webhooks wait (a slow provider)
        self._sending.set()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        for target in (self._httpd.serve_forever, self._deliver_forever):
            thread = threading.Thread(target=target, daemon=True, name=type(self).__name__)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._outbox.put(None)
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    # Webhooks ---------------------------------------------------------------------------

    def send_webhook(self, body: bytes, headers: dict[str, str]) -> None:
        """Queue a webhook for the shop; nothing is sent while no webhook_url is set."""
        if self.webhook_url:
            self._outbox.put(Delivery(self.webhook_url, body, headers))

    @contextmanager
    def webhooks_held(self) -> Iterator[None]:
        """Webhooks queued inside the block go out when it ends, as from a provider whose
        notifications lag behind its API (for tests that need one order of events)."""
        self._sending.clear()
        try:
            yield
        finally:
            self._sending.set()

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Block until ``count`` webhooks were answered (for tests); return them all."""
        with self._delivered:
            self._delivered.wait_for(
                lambda: sum(d.status is not None for d in self.deliveries) >= count, timeout
            )
            return list(self.deliveries)

    def _deliver_forever(self) -> None:
        while (delivery := self._outbox.get()) is not None:
            self._sending.wait()
            request = urllib.request.Request(
                delivery.url, data=delivery.body, headers=delivery.headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    delivery.status = answer.status
            except urllib.error.HTTPError as error:
                delivery.status = error.code
            except OSError:
                delivery.status = 0
            with self._delivered:
                self.deliveries.append(delivery)
                self._delivered.notify_all()

    # HTTP plumbing ----------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        handle: Callable[[Request], Response] = lambda request: self.handle(request)  # noqa: E731

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query, keep_blank_values=True),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                try:
                    # A CORS preflight (Stripe.js calls the API from the shop's pages).
                    response = Response(204) if self.command == "OPTIONS" else handle(request)
                except Exception as error:  # a fake's bug shows as a 500, like a real outage
                    response = Response.json({"error": {"message": repr(error)}}, 500)
                self.send_response(response.status)
                # Stripe.js talks to the API from the shop's pages: allow it, like Stripe does.
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PATCH = do_DELETE = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and the demo read their own output

        return Handler
