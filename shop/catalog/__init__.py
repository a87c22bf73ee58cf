"""What the shop sells: products from package-line plugins, currencies, prices."""
