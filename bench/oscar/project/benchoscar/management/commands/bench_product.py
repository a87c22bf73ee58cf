"""Creates the one product the benchmark buys: a yearly licence at 490.00 EUR, in stock."""

import json
from decimal import Decimal

from django.core.management.base import BaseCommand
from oscar.core.loading import get_model

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
StockRecord = get_model("partner", "StockRecord")


class Command(BaseCommand):
    help = "Create the benchmark's product and print its URLs as JSON."

    def handle(self, *args, **options):
        # requires_shipping keeps Oscar's whole checkout (address and shipping method).
        kind, _ = ProductClass.objects.get_or_create(
            name="Licence", defaults={"requires_shipping": True, "track_stock": True}
        )
        product, _ = Product.objects.get_or_create(
            upc="base-yearly",
            defaults={
                "title": "Base package (yearly)",
                "description": "The complete alarm and dispatch software for one organisation.",
                "product_class": kind,
                "structure": Product.STANDALONE,
            },
        )
        partner, _ = Partner.objects.get_or_create(name="Bench")
        StockRecord.objects.update_or_create(
            product=product,
            partner=partner,
            defaults={
                "partner_sku": "base-yearly",
                "price_currency": "EUR",
                "price": Decimal("490.00"),
                "num_in_stock": 10**9,
            },
        )
        self.stdout.write(
            json.dumps({"product_url": product.get_absolute_url(), "product_id": product.pk})
        )
