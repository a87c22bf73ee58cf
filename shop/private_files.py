"""Secrets the shop makes for itself on first start, kept in files only the owner reads."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_once(path: Path, content: bytes) -> bytes:
    """Write ``content`` to a new file readable by the owner only; if another process got
    there first, its content wins intact. Returns what the file holds.

    The content goes to a private temporary file that is then hard-linked into place: the
    link fails if the file exists, so two workers starting at once end up with one secret,
    and no reader ever sees a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only narrow the mode; make it exact
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_bytes()
    finally:
        temporary.unlink(missing_ok=True)
    return content


def secret_from_file(path: Path) -> str:
    """The secret in ``path``, made on first use (a random 256-bit value)."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    return create_once(path, secrets.token_urlsafe(32).encode("ascii")).decode("ascii").strip()
