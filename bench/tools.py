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
    pip = [str(LOCUST_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(LOCUST_REQUIREMENTS)], check=True)
    stamp.write_text(digest)
    return locust
