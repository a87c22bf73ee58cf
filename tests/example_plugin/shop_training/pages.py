"""The plugin's own page, ``/{lang}/training``: its courses with their prices and the dates
they run on (from its table), in the buyer's language and currency.

Built like the shop's own pages: ``shop``, ``db``, ``enabled`` and ``t`` come by dependency
injection, ``@transaction`` runs the handler in the request's one transaction, and the
shop's page helpers give the frame (language links, currency choice)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from shop.catalog.rates import current_rates
from shop.catalog.service import priced_catalog
from shop.i18n import LOCALES
from shop.web.deps import Db, Enabled, ShopDep, T
from shop.web.pages import buyer_choice, render_page
from shop.web.transaction import transaction
from shop_training.config import PLUGIN, value
from shop_training.models import upcoming

LINE = "training"


@get("/{lang:str}/training", sync_to_thread=True)
@transaction
def training_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
) -> Template:
    if lang not in LOCALES:
        raise NotFoundException()
    choice = buyer_choice(request, shop, enabled, t)
    lines = priced_catalog(enabled, choice.currency, choice.country, current_rates(db))
    return render_page(
        "training/courses.html",
        request,
        shop,
        t,
        choice,
        courses=next((line for line in lines if line.line.code == LINE), None),
        sessions=upcoming(db, shop.clock.today()),
        invoice_days=value(shop.settings.plugin(PLUGIN), "invoice_days"),
    )
