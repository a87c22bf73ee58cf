"""Fake Stripe and PayPal servers on 127.0.0.1, for the tests and the demo's test mode.

No machine here reaches the real providers, so the real SDKs are pointed at these fakes.
They speak the providers' request and response shapes for the calls the shop uses, sign
their webhooks the way the providers do, and deliver them to the shop in the background.
"""
