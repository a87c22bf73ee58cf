"""Builds the django-oscar reference shop from PyPI into bench/.build/oscar (cached).

    .venv/bin/python bench/oscar_build.py

A virtual environment with bench/oscar/requirements.txt, and a migrated SQLite database
with the one product (the template every benchmark run copies). Both are rebuilt only when
the requirements or the project's files change, so a second `make bench` skips the build.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools import pip_install

HERE = Path(__file__).resolve().parent / "oscar"  # requirements.txt and the Django project
PROJECT = HERE / "project"
REQUIREMENTS = HERE / "requirements.txt"
BUILD = HERE.parent / ".build" / "oscar"
VENV = BUILD / "venv"
TEMPLATE_DB = BUILD / "template.sqlite3"
PRODUCT = BUILD / "product.json"


@dataclass(frozen=True)
class OscarBuild:
    python: Path
    gunicorn: Path
    project: Path
    template_db: Path
    product_url: str
    product_id: int
    version: str


def _digest(*paths: Path) -> str:
    """A fingerprint of files (folders: every file in them) that decides a rebuild."""
    sha = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" not in file.parts:
                sha.update(str(file.relative_to(HERE)).encode())
                sha.update(file.read_bytes())
    return sha.hexdigest()


def _up_to_date(stamp: Path, digest: str) -> bool:
    return stamp.exists() and stamp.read_text() == digest


def _environment() -> None:
    stamp, digest = BUILD / "venv.sha256", _digest(REQUIREMENTS)
    if _up_to_date(stamp, digest) and (VENV / "bin" / "gunicorn").exists():
        return
    print(f"Building the django-oscar environment in {VENV} (once)", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip_install(VENV, "--upgrade", "pip")
    pip_install(VENV, "-r", str(REQUIREMENTS))
    stamp.write_text(digest)


def _manage(*args: str, db: Path) -> str:
    env = {"BENCH_OSCAR_DB": str(db), "BENCH_OSCAR_BUILD": str(BUILD.parent), "PATH": "/usr/bin"}
    done = subprocess.run(
        [str(VENV / "bin" / "python"), "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def _database() -> None:
    stamp, digest = BUILD / "database.sha256", _digest(REQUIREMENTS, PROJECT)
    if _up_to_date(stamp, digest) and TEMPLATE_DB.exists() and PRODUCT.exists():
        return
    print("Creating the django-oscar database (migrate, countries, one product)", flush=True)
    for old in BUILD.glob("template.sqlite3*"):
        old.unlink()
    _manage("migrate", "--noinput", db=TEMPLATE_DB)
    _manage("oscar_populate_countries", "--initial-only", db=TEMPLATE_DB)
    product = json.loads(_manage("bench_product", db=TEMPLATE_DB).strip().splitlines()[-1])
    # Oscar's docs: copy the missing-image picture to MEDIA_ROOT so thumbnails can be made.
    media = BUILD / "media"
    media.mkdir(exist_ok=True)
    site = next((VENV / "lib").glob("python*/site-packages/oscar"))
    shutil.copy(site / "static" / "oscar" / "img" / "image_not_found.jpg", media)
    # Fold the WAL back into the file so that one copy of it is the whole database.
    subprocess.run([str(VENV / "bin" / "python"), "-c", _CHECKPOINT, str(TEMPLATE_DB)], check=True)
    PRODUCT.write_text(json.dumps(product))
    stamp.write_text(digest)


_CHECKPOINT = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.execute('PRAGMA journal_mode=DELETE'); "
    "c.close()"
)


def build() -> OscarBuild:
    """The environment and template database, built if missing or out of date."""
    BUILD.mkdir(parents=True, exist_ok=True)
    _environment()
    _database()
    version = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import oscar; print(oscar.get_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    product = json.loads(PRODUCT.read_text())
    return OscarBuild(
        python=VENV / "bin" / "python",
        gunicorn=VENV / "bin" / "gunicorn",
        project=PROJECT,
        template_db=TEMPLATE_DB,
        product_url=product["product_url"],
        product_id=int(product["product_id"]),
        version=version,
    )


if __name__ == "__main__":
    built = build()
    print(f"django-oscar {built.version} ready: {built.gunicorn}, product {built.product_url}")
