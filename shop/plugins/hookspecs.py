"""Every hook a shop plugin can implement, in one place.

A plugin is a module (or package) with functions decorated by ``shop.hookimpl`` whose names
match these specs; it is registered through the ``shop.plugins`` entry-point group. An
implementation names only the arguments it uses (pluggy passes those).

Besides hooks, a plugin that is a package brings folders by convention, found next to its
``__init__.py`` (``shop.plugins.folders``):

- ``locales/<lang>/LC_MESSAGES/messages.mo``: its translations, merged into the shop's;
- ``templates/``: its pages and mails, looked up before the core's, so a plugin can
  override a core template and still ``{% extends "core:…" %}`` the original;
- ``migrations/``: Alembic revisions of its own tables, on a branch named after the plugin,
  applied by ``shop db upgrade``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from sqlmodel import Session

    from shop.catalog.adjustments import Adjustment, Purchase
    from shop.catalog.currencies import Currency
    from shop.catalog.products import ProductLine
    from shop.payments.methods import PaymentMethod
    from shop.plugins.context import HookContext
    from shop.plugins.events import Event
    from shop.plugins.jobs import JobContext
    from shop.plugins.settings import Setting

hookspec = pluggy.HookspecMarker("shop")
hookimpl = pluggy.HookimplMarker("shop")


@hookspec
def shop_currencies() -> list[Currency]:
    """Return the currencies this plugin lets buyers pay in."""
    raise NotImplementedError


@hookspec
def shop_product_lines() -> list[ProductLine]:
    """Return the package lines, with their products, this plugin sells."""
    raise NotImplementedError


@hookspec
def shop_payment_methods() -> list[PaymentMethod]:
    """Return the payment methods this plugin offers at checkout."""
    raise NotImplementedError


@hookspec
def shop_settings() -> list[Setting]:
    """Return the settings this plugin reads (``shop.plugins.settings.Setting``).

    Each is read from ``SHOP_<PLUGIN>_<NAME>`` at start and checked there; read the values
    with ``settings.plugin(name)`` or ``context.plugin_settings(name)``."""
    raise NotImplementedError


@hookspec
def shop_routes() -> list[Any]:
    """Return Litestar route handlers or routers to serve beside the shop's own.

    Pages get ``t`` (the request's translator), ``shop``, ``db`` and ``enabled`` by
    dependency injection like the core's; wrap database work in ``shop.web.transaction``."""
    raise NotImplementedError


@hookspec
def shop_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``shop`` command (``cli.add_command``)."""


@hookspec
def shop_price_adjustments(context: HookContext, purchase: Purchase) -> list[Adjustment]:
    """Return changes to the prices of ``purchase``'s lines (discounts are negative).

    Called whenever the shop prices something a buyer pays: checkout, quotes, renewals,
    setup fees, maintenance. ``context.customer`` is the buyer; ``context.session`` the
    transaction the price is stored in."""
    raise NotImplementedError


@hookspec
def shop_event(context: HookContext, event: Event) -> None:
    """Return nothing; react to a lifecycle event (``shop.plugins.events.EVENT_TYPES``)
    after the transaction that stored it committed.

    Called once per event, in the process that committed it (a request, a provider's
    webhook, ``shop jobs run``), outside any transaction (``context.session`` is None); an
    exception is logged and stops nothing. Work that must not be lost belongs in the
    plugin's own durable outbox, done by ``shop_jobs`` from the stored events
    (``shop.plugins.events.stored_after``), as ``webhooks_out`` does."""


@hookspec
def shop_jobs(context: JobContext) -> str | None:
    """Return a line for the report of ``shop jobs run`` (or None), having done this
    plugin's due work there.

    Called after the shop's own steps (renewals, charges, expiries, mail), for each
    enabled plugin in turn; one that raises is reported and the others still run. Keep
    transactions short (``context.retry``) and hold none during slow calls."""
    raise NotImplementedError


@hookspec
def shop_customer_data(session: Session, email: str) -> dict[str, Any]:
    """Return what this plugin keeps about the customer ``email`` (normalised), JSON-able
    (amounts as strings, times ISO 8601), for their data export (GDPR Art. 15); an empty
    dict when nothing. Called for every installed plugin, enabled or not."""
    raise NotImplementedError


@hookspec
def shop_customer_erase(session: Session, email: str, pseudonym: str) -> int:
    """Return how many of this plugin's records of the customer ``email`` (normalised) it
    erased or gave ``pseudonym`` now (GDPR Art. 17), in ``session``'s transaction; 0 when
    none (it is asked again on every erasure). Called for every installed plugin."""
    raise NotImplementedError
