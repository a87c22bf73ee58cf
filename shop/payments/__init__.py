"""Payments: the provider-neutral protocol a payment method plugin implements."""
