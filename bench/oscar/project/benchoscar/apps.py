"""The reference shop's own app: only its management command."""

from django.apps import AppConfig


class BenchOscarConfig(AppConfig):
    name = "benchoscar"
