"""The real app served by uvicorn in a thread, for page tests and provider round trips."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from shop.app import create_app
from shop.settings import Settings

STARTUP_TIMEOUT = 180.0  # an upper bound only: a loaded machine starts slowly (2 workers: ~70 s)
SHOP = Path(sys.executable).parent / "shop"
CROWD_RATE_LIMITS = "checkout=off, trial=off, activation=off"


def bound_socket() -> socket.socket:
    """A socket on 127.0.0.1 with a free port, bound now so no other process can take it
    (its address is known before the app starts, e.g. for the fakes' webhook URLs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", _port_to_try()))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", _port_to_try()))
        port: int = sock.getsockname()[1]
        return port


def _port_to_try() -> int:
    """0 (any free port), or a free one of ``SHOP_TEST_PORTS=19300-19399`` on machines where
    each developer keeps to a range."""
    low, _, high = os.environ.get("SHOP_TEST_PORTS", "").partition("-")
    if not (low and high):
        return 0
    for port in range(int(low), int(high) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in SHOP_TEST_PORTS={low}-{high}")


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment that makes a ``shop`` process use ``settings``."""
    others = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    # The suite's choice of plugins (tests/conftest.py) holds in the processes it starts.
    chosen = {k: os.environ[k] for k in ("SHOP_PLUGINS",) if k in os.environ}
    return {**others, **chosen, **settings.to_env()}


@dataclass
class ShopProcess:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """As a crash or ``kill -9`` would: no chance to finish anything."""
        self.process.kill()
        self.process.wait(timeout=10)


@contextmanager
def shop_process(settings: Settings, *args: str, **env: str) -> Iterator[str]:
    """``shop serve`` as its own process, as an operator starts it, with more ``SHOP_*``
    variables in ``env``; yields its base URL."""
    with running_shop(settings, *args, **env) as shop:
        yield shop.url


@contextmanager
def running_shop(settings: Settings, *args: str, **env: str) -> Iterator[ShopProcess]:
    """``shop_process``, with the process at hand (to kill it)."""
    port = free_port()
    command = [str(SHOP), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    url = f"http://127.0.0.1:{port}"
    # These tests are crowds from one address: checkout and trial limits would turn them
    # into 429s (tests/test_rate_limits.py checks the limits themselves).
    env = {"SHOP_RATE_LIMITS": CROWD_RATE_LIMITS, **env}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env={**environment_of(settings), **env}, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise RuntimeError(f"shop serve exited: {output}")
                try:
                    httpx.get(url + "/", timeout=2.0)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)  # polling for the server to start, not timing logic
            yield ShopProcess(url, process)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
