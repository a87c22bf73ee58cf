"""The load tools, installed when missing: Debian's wrk, and locust in its own venv."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCUST_VENV = HERE / ".build" / "locust"
LOCUST_REQUIREMENTS = HERE / "locust" / "requirements.txt"


def pip_install(venv: Path, *args: str) -> None:
    """pip install into ``venv``, showing pip's output only when it fails."""
    argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package first if it is missing (as .ci/run does)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("Installing Debian's wrk", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is missing and could not be installed")
    return found


def ensure_locust() -> Path:
    """locust's command in bench/.build/locust, built once (again when its pin changes).

    A venv of its own keeps gevent and locust's other dependencies out of the shop's."""
    locust = LOCUST_VENV / "bin" / "locust"
    stamp = LOCUST_VENV / "requirements.sha256"
    digest = hashlib.sha256(LOCUST_REQUIREMENTS.read_bytes()).hexdigest()
    if locust.exists() and stamp.exists() and stamp.read_text() == digest:
        return locust
    print(f"Installing locust into {LOCUST_VENV} (once)", flush=True)
    shutil.rmtree(LOCUST_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True)
    pip_install(LOCUST_VENV, "--upgrade", "pip")
    pip_install(LOCUST_VENV, "-r", str(LOCUST_REQUIREMENTS))
    stamp.write_text(digest)
    return locust
