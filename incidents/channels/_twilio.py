"""The official Twilio SDK, configured from settings, with errors mapped to results.

``TWILIO_API_BASE_URL`` (unset in production) sends the SDK's requests to a stand-in
server instead of ``https://api.twilio.com``: the SDK builds absolute URLs, and its
``http_client`` hook is the supported place to change where a request goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from incidents.channels.base import DeliveryResult

NOT_CONFIGURED = "Twilio is not configured"
TWILIO_API = "https://api.twilio.com"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class BaseUrlHttpClient(TwilioHttpClient):
    """A ``TwilioHttpClient`` that rewrites ``https://api.twilio.com`` to ``base_url``."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def is_configured() -> bool:
    return bool(
        settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER
    )


def client() -> Client:
    """A Client with a per-request timeout (connect and each read), no retries."""
    http_client = BaseUrlHttpClient(
        settings.TWILIO_API_BASE_URL, timeout=settings.NOTIFICATION_HTTP_TIMEOUT
    )
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


def call_twilio(target: str, create: Callable[[Client], Any]) -> DeliveryResult:
    """Run one ``create`` call against Twilio and map its outcome to a result."""
    if not is_configured():
        return DeliveryResult.skipped(NOT_CONFIGURED)
    if not E164.match(target):
        return DeliveryResult.failed(
            f"{target!r} is not an E.164 phone number (+<country><number>)", retryable=False
        )
    try:
        instance = create(client())
    except TwilioRestException as exc:
        retryable = exc.status >= 500 or exc.status == 429
        return DeliveryResult.failed(
            f"Twilio HTTP {exc.status} error {exc.code}: {exc.msg}", retryable=retryable
        )
    except requests.Timeout:
        return DeliveryResult.failed(
            f"Twilio timed out after {settings.NOTIFICATION_HTTP_TIMEOUT:g}s", retryable=True
        )
    except requests.RequestException as exc:
        return DeliveryResult.failed(
            f"Twilio connection error: {type(exc).__name__}", retryable=True
        )
    except TwilioException as exc:
        return DeliveryResult.failed(f"Twilio error: {exc}", retryable=False)
    return DeliveryResult.sent(instance.sid or "")
