"""Validators for contact details: these reach pagers at 3 a.m., so reject bad ones early."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def validate_e164(value: str) -> None:
    """Phone numbers must be E.164 (``+14155550123``): what Twilio dials without guessing."""
    if not E164.match(value or ""):
        raise ValidationError(
            "Enter the phone number in E.164 format, e.g. +14155550123.", code="invalid_phone"
        )


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (e.g. Europe/Berlin).",
            code="invalid_time_zone",
            params={"value": value},
        )


def validate_https_url(value: str) -> None:
    URLValidator(schemes=["https"])(value)


def validate_apprise_url(value: str) -> None:
    """An Apprise URL names its service by scheme (``tgram://``, ``ntfys://``, ...)."""
    import apprise

    if "://" not in (value or "") or apprise.Apprise.instantiate(value) is None:
        raise ValidationError(
            "Enter an Apprise URL this server supports, e.g. ntfys://ntfy.sh/my-topic.",
            code="invalid_apprise_url",
        )


CONTACT_VALIDATORS = {
    "email": validate_email,
    "sms": validate_e164,
    "voice": validate_e164,
    "slack": validate_https_url,
    "teams": validate_https_url,
    "apprise": validate_apprise_url,
}
