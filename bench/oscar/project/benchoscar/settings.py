"""A minimal production-style django-oscar shop: the reference the licence shop is compared to.

Follows Oscar's "Building your own shop" guide with the least on top: SQLite in WAL mode,
DEBUG off, anonymous checkout on, Oscar's default (no-op) payment step. The database file
and the secret key come from the environment that bench/run.py sets.
"""

import os
from pathlib import Path

from oscar import INSTALLED_APPS as OSCAR_APPS
from oscar.defaults import *  # noqa: F403  (Oscar's documented way to take its defaults)

BUILD = Path(os.environ.get("BENCH_OSCAR_BUILD", Path(__file__).resolve().parents[3] / ".build"))

SECRET_KEY = os.environ.get("BENCH_OSCAR_SECRET_KEY", "only-for-building-the-template-db")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [*OSCAR_APPS, "sorl.thumbnail", "benchoscar"]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "benchoscar.urls"
WSGI_APPLICATION = "benchoscar.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_OSCAR_DB", str(BUILD / "oscar" / "template.sqlite3")),
        # WAL like the licence shop; IMMEDIATE transactions and a busy timeout are what
        # Django's documentation recommends for concurrent writers on SQLite.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# The load tools fetch pages, not their assets: static files are not served.
STATIC_URL = "/static/"
STATIC_ROOT = str(BUILD / "oscar" / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(BUILD / "oscar" / "media")

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

OSCAR_SHOP_NAME = "Bench Oscar"
OSCAR_DEFAULT_CURRENCY = "EUR"
OSCAR_ALLOW_ANON_CHECKOUT = True

# Errors go to the server's log, where bench/run.py looks for them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}
