"""The PayPal server SDK (``paypalserversdk``) set up for the shop, and webhook verification.

The SDK only knows PayPal's two hosts (``Environment.PRODUCTION`` and ``SANDBOX``). The
shop also points it at the fake PayPal on 127.0.0.1 (tests, the demo's test mode), so the
client is built from a base URL: the SDK supports ``PaypalServersdkClient(config=...)``, and
the client asks ``config.get_base_uri`` for every call, so a ``Configuration`` subclass that
returns our URL is enough.

Keep one client per process: it caches its OAuth token (PayPal's live 9 hours) and fetches
a new one only when it expired.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.configuration import Configuration, Server
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

LIVE_API = "https://api-m.paypal.com"
SANDBOX_API = "https://api-m.sandbox.paypal.com"

# The webhook headers PayPal's verify call wants, by the name of its request field.
_SIGNATURE_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}


class _BaseUrlConfiguration(Configuration):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's configuration with any API host (the environment is then ignored).

    Note: the SDK's ``clone_with`` builds a plain ``Configuration`` and so would lose the
    URL; nothing in the SDK clones a configuration it was given, and the shop must not.
    """

    def __init__(self, base_url: str, **settings: Any) -> None:
        self._base_url = base_url.rstrip("/")
        super().__init__(**settings)

    def get_base_uri(self, server: Any = Server.DEFAULT) -> str:
        return self._base_url


def paypal_client(
    base_url: str, client_id: str, client_secret: str, *, timeout: float = 30.0
) -> PaypalServersdkClient:
    """An SDK client for the PayPal API at ``base_url`` (``LIVE_API``, ``SANDBOX_API``, a fake)."""
    return PaypalServersdkClient(
        config=_BaseUrlConfiguration(
            base_url,
            timeout=timeout,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id, o_auth_client_secret=client_secret
            ),
        )
    )


class _HeaderSink(dict[str, str]):
    """Collects the headers the SDK's auth manager applies to a request."""

    def add_header(self, name: str, value: str) -> None:
        self[name] = value


def _authorization(client: PaypalServersdkClient) -> dict[str, str]:
    """The ``Authorization: Bearer …`` header, from the SDK's own client-credentials auth.

    ``is_valid`` fetches a token when the client has none or it expired (and keeps it for
    the SDK's own calls); ``apply`` writes the header. Both are the public interface the SDK
    itself uses, so the token is shared with the client's order calls.
    """
    auth = client.oauth_2
    if not auth.is_valid():  # the SDK swallows the token endpoint's 401: credentials wrong
        raise AuthValidationException(auth.error_message)
    headers = _HeaderSink()
    auth.apply(headers)
    return dict(headers)


def verify_webhook(
    client: PaypalServersdkClient,
    headers: Mapping[str, str],
    body: bytes,
    webhook_id: str,
    *,
    timeout: float = 30.0,
) -> bool:
    """Ask PayPal whether a webhook (its headers and raw body) really came from PayPal.

    The SDK has no controller for ``POST /v1/notifications/verify-webhook-signature``, so
    this posts it with ``requests`` (the SDK's own HTTP library), authorised with the SDK's
    OAuth token. False when PayPal answers FAILURE or the request lacks PayPal's headers or
    a JSON body; raises on transport errors and on PayPal refusing the call (non-2xx).
    """
    received = {name.lower(): value for name, value in headers.items()}
    fields = {field: received.get(header, "") for field, header in _SIGNATURE_HEADERS.items()}
    if not all(fields.values()):
        return False  # not sent by PayPal: nothing to ask about
    try:
        text = body.decode()
        event = json.loads(text)
    except ValueError:  # also a body that is not UTF-8
        return False
    if not isinstance(event, dict):
        return False
    # PayPal checks its signature (a CRC of the body) against the event as we send it back,
    # so splice in the body as received instead of re-serialising it: json.dumps may write
    # numbers, escapes or spacing differently, and the verification would then fail.
    head = json.dumps({**fields, "webhook_id": webhook_id})
    payload = f'{head[:-1]}, "webhook_event": {text}}}'.encode()
    answer = requests.post(
        f"{client.config.get_base_uri()}/v1/notifications/verify-webhook-signature",
        data=payload,
        headers={"Content-Type": "application/json", **_authorization(client)},
        timeout=timeout,
    )
    answer.raise_for_status()
    return bool(answer.json().get("verification_status") == "SUCCESS")
