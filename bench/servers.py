"""Servers under test, each a subprocess in its own session on a free port.

The shop (`shop serve`, production settings), the bare Litestar reference (uvicorn) and the
django-oscar reference (gunicorn). Each logs to a file in the run's folder; stopping one
ends its whole process group, with SIGKILL when SIGTERM is not enough (a hung server
must not hang the benchmark). Scratch databases are created and dropped here too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from shop.licences.keys import generate_signing_key_b64

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(Exception):
    """A server did not start (its log says why)."""


def free_port() -> int:
    """A port nobody listens on now (bound to port 0, then released for the server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_cpu_seconds(session_id: int) -> float:
    """CPU time (user + system) of every live process in one session, from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        # fields[0] is the state (field 3 of proc(5)); session is field 6, utime/stime 14/15.
        if int(fields[3]) == session_id:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    workers: int
    facts: dict[str, str] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        return session_cpu_seconds(self.process.pid)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def answers(self, path: str, timeout: float = 5.0) -> bool:
        """Whether one plain request still gets an answer below 500 in ``timeout`` s."""
        try:
            return httpx.get(self.base_url + path, timeout=timeout).status_code < 500
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers of a multi-process server may outlive their parent for a moment.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start(
    name: str,
    argv: list[str],
    env: dict[str, str],
    port: int,
    folder: Path,
    ready_path: str,
    workers: int,
    cwd: Path | None = None,
    timeout: float = 90.0,
) -> Server:
    """Start ``argv`` and wait until ``ready_path`` answers; raise ServerFailed if not."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd or folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() ends all its workers
    )
    log.close()
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path, workers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited with {process.returncode}: {_tail(log_path)}")
        try:
            if httpx.get(server.base_url + ready_path, timeout=5).status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise ServerFailed(
        f"{name} did not answer {ready_path} within {timeout:.0f} s: {_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 8) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


def clean_env() -> dict[str, str]:
    """The driver's environment without any SHOP_ setting of the person running it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "BENCH_"))}


def shop_supports_workers() -> bool:
    """Whether this checkout's `shop serve` takes --workers (being added in parallel)."""
    done = subprocess.run(
        [str(BIN / "shop"), "serve", "--help"], capture_output=True, text=True, check=False
    )
    return "--workers" in done.stdout


def start_shop(
    database_url: str, folder: Path, workers: int, extra_env: dict[str, str] | None = None
) -> Server:
    """`shop serve` as an operator runs it: production settings, no test payments."""
    port = free_port()
    env = {
        **clean_env(),
        "SHOP_DATABASE_URL": database_url,
        "SHOP_SECRET_KEY": secrets.token_urlsafe(32),
        "SHOP_LICENCE_SIGNING_KEY": generate_signing_key_b64(),
        "SHOP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The load comes from one address: the bench measures the shop, not its limiter.
        "SHOP_RATE_LIMITS": "checkout=off, trial=off",
        **(extra_env or {}),
    }
    argv = [str(BIN / "shop"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return start("shop", argv, env, port, folder, "/en/", workers)


def start_bare(database_url: str, folder: Path, workers: int) -> Server:
    """The bare Litestar reference under uvicorn, like `shop serve` (access log on)."""
    from bare_app import create_tables

    create_tables(database_url)
    port = free_port()
    env = {**clean_env(), "BARE_DATABASE_URL": database_url}
    argv = [
        str(BIN / "python"),
        "-m",
        "uvicorn",
        "bare_app:app",
        "--app-dir",
        str(ROOT / "bench"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
    ]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return start("bare", argv, env, port, folder, "/en/", workers)


def start_oscar(gunicorn: Path, project: Path, template_db: Path, folder: Path) -> Server:
    """The django-oscar reference: a copy of the built database, gunicorn with 2 workers."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "oscar.sqlite3"
    shutil.copy(template_db, database)
    port = free_port()
    env = {
        **clean_env(),
        "BENCH_OSCAR_DB": str(database),
        "BENCH_OSCAR_SECRET_KEY": secrets.token_urlsafe(32),
        "BENCH_OSCAR_BUILD": str(ROOT / "bench" / ".build"),
    }
    argv = [
        str(gunicorn),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--control-socket",
        str(folder / "gunicorn.ctl"),
        "benchoscar.wsgi",
    ]
    return start("oscar", argv, env, port, folder, "/catalogue/", 2, cwd=project)


@contextmanager
def scratch_database(kind: str, folder: Path, postgres_url: str) -> Iterator[str]:
    """A new empty database for one row: a SQLite file, or a PostgreSQL database that is
    dropped afterwards (uniquely named, so parallel runs never meet)."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    name = f"shop_benchrun_{uuid.uuid4().hex[:10]}"
    admin = make_url(postgres_url).set(drivername="postgresql")
    admin_url = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
