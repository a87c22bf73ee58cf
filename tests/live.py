"""The real app served by uvicorn in a thread, for page tests and provider round trips."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from shop.app import create_app
from shop.settings import Settings

STARTUP_TIMEOUT = 15.0


def bound_socket() -> socket.socket:
    """A socket on 127.0.0.1 with a free port, bound now so no other process can take it
    (its address is known before the app starts, e.g. for the fakes' webhook URLs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()
    return f"http://{host}:{port}"


def _wait_until_answering(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the shop's server thread died while starting at {url}")
        if server.started:
            try:
                httpx.get(url + "/", timeout=2.0)
                return
            except httpx.HTTPError as exc:
                last_error = exc
        time.sleep(0.05)
    raise RuntimeError(f"the shop did not answer at {url} within {STARTUP_TIMEOUT}s: {last_error}")


@contextmanager
def serve(settings: Settings, sock: socket.socket) -> Iterator[str]:
    """Serve the app on ``sock`` until the block ends; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="shop-live-server", daemon=True
    )
    thread.start()
    base_url = url_of(sock)
    try:
        _wait_until_answering(base_url, server, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "the shop's server thread did not stop"
