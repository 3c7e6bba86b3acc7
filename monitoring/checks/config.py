"""Validation of check configurations, shared by forms, the API and the worker.

Every error names its field (``ValidationError({"url": [...]})``) so a form can put
the message next to the input. The cleaned dict carries defaults and is exactly
the keyword arguments of the check function plus the scheduling keys.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from typing import Any

import httpx
from django.core.exceptions import ValidationError

from monitoring.checks.dns import MATCH_MODES, RECORD_TYPES
from monitoring.checks.http import JSON_OPERATORS, parse_json_path, parse_status_spec
from monitoring.checks.ping import DEFAULT_TCP_PORTS, METHODS

CHECK_TYPES = ("http", "keyword", "ssl", "tcp", "ping", "dns", "heartbeat")
MIN_INTERVAL_S = 30
MAX_INTERVAL_S = 3600
MAX_TIMEOUT_S = 60
# Consumed by the scheduler / registry, never passed to a check function.
SCHEDULING_KEYS = ("interval_s", "upside_down")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_DAY_S = 86400


class _Cleaner:
    """Collects per-field errors so one submission reports every problem at once."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.raw = config
        self.errors: dict[str, list[str]] = {}
        self.cleaned: dict[str, Any] = {}
        self.seen: set[str] = set()

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def value(self, field: str, default: Any = None, *, required: bool = False) -> Any:
        self.seen.add(field)
        value = self.raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(field, "This field is required.")
            return default
        return value

    def number(
        self,
        field: str,
        default: float | None,
        *,
        low: float | None = None,
        high: float | None = None,
        integer: bool = True,
        required: bool = False,
    ) -> Any:
        value = self.value(field, default, required=required)
        if value is None or value is default:
            self.cleaned[field] = value
            return value
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
        except (TypeError, ValueError):
            self.error(field, f"Enter a number, not {value!r}.")
            return default
        if integer:
            if number != int(number):
                self.error(field, "Enter a whole number.")
                return default
            number = int(number)
        if low is not None and number < low:
            self.error(field, f"Must be at least {low:g}." if low else "Must not be negative.")
            return default
        if high is not None and number > high:
            self.error(field, f"Must be at most {high:g}.")
            return default
        self.cleaned[field] = number
        return number

    def boolean(self, field: str, default: bool) -> bool:
        value = self.value(field, default)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
            value = value.lower() in ("true", "1", "on")
        if not isinstance(value, bool):
            self.error(field, "Enter true or false.")
            value = default
        self.cleaned[field] = value
        return value

    def text(self, field: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.value(field, default, required=required)
        if value is not None and not isinstance(value, str):
            self.error(field, "Enter text.")
            value = default
        self.cleaned[field] = value
        return value

    def choice(
        self, field: str, choices: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        value = self.text(field, default)
        if isinstance(value, str):
            value = value.strip().upper() if upper else value.strip()
            if value not in choices:
                self.error(field, f"'{value}' is not one of: {', '.join(choices)}.")
                value = default
        self.cleaned[field] = value
        return value

    def port(self, field: str, default: int | None, *, required: bool = False) -> Any:
        return self.number(field, default, low=1, high=65535, required=required)

    def host(self, field: str, *, required: bool = True) -> Any:
        value = self.text(field, required=required)
        if isinstance(value, str):
            value = value.strip()
            problem = host_problem(value)
            if problem:
                self.error(field, problem)
            self.cleaned[field] = value
        return value


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a usable host name or IP literal, or None."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return f"'{host}' is not a valid host name."
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"'{host}' is not a valid host name."
    if labels[-1].isdigit():
        return f"'{host}' is not a valid IP address."
    return None


def _common(c: _Cleaner, *, default_timeout: float) -> None:
    c.number("interval_s", 60, low=MIN_INTERVAL_S, high=MAX_INTERVAL_S)
    timeout = c.number("timeout_s", default_timeout, low=0.5, high=MAX_TIMEOUT_S, integer=False)
    interval = c.cleaned.get("interval_s")
    if timeout is not None and interval is not None and timeout > interval:
        c.error("timeout_s", "Must not exceed the check interval.")
    c.boolean("upside_down", False)


def _degraded_after(c: _Cleaner) -> None:
    threshold = c.number("degraded_after_ms", None, low=0)
    timeout = c.cleaned.get("timeout_s")
    if threshold is not None and timeout is not None and threshold >= timeout * 1000:
        c.error("degraded_after_ms", "Must be below the timeout, or it can never trigger.")


def _clean_http(c: _Cleaner, *, keyword_required: bool = False) -> None:
    url = c.text("url", required=True)
    if isinstance(url, str):
        url = url.strip()
        c.cleaned["url"] = url
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            c.error("url", f"Malformed URL: {exc}.")
        else:
            if parsed.scheme not in ("http", "https"):
                scheme = parsed.scheme or "(none)"
                c.error("url", f"Unsupported scheme '{scheme}'; use http or https.")
            elif not parsed.host:
                c.error("url", "The URL has no host.")
            elif parsed.userinfo:
                c.error("url", "Put credentials in the basic auth fields, not in the URL.")
            else:
                problem = host_problem(parsed.host)
                if problem:
                    c.error("url", problem)
    c.choice("method", HTTP_METHODS, "GET", upper=True)
    headers = c.value("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        c.error("headers", "Give headers as a mapping of names to text values.")
    else:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                c.error("headers", f"'{name}' is not a valid header name.")
            if "\r" in value or "\n" in value:
                c.error("headers", f"The value of '{name}' must be on one line.")
        c.cleaned["headers"] = headers
    c.text("body")
    spec = c.text("accepted_status", "200-299")
    if isinstance(spec, str):
        try:
            parse_status_spec(spec)
        except ValueError as exc:
            c.error("accepted_status", f"{exc}.")
    keyword = c.text("keyword", required=keyword_required)
    if keyword_required and isinstance(keyword, str) and not keyword.strip():
        c.error("keyword", "This field is required.")
    c.boolean("keyword_absent", False)
    c.boolean("keyword_case_sensitive", True)
    if c.cleaned["keyword_absent"] and not keyword and "keyword" not in c.errors:
        c.error("keyword", "Give the keyword that must be absent.")
    json_path = c.text("json_path")
    c.choice("json_op", JSON_OPERATORS, "==")
    c.cleaned["json_expected"] = c.value("json_expected")
    if json_path is not None:
        try:
            parse_json_path(json_path)
        except ValueError as exc:
            c.error("json_path", f"{exc}.")
        if c.cleaned["json_expected"] is None:
            c.error("json_expected", "Give the value to compare with.")
    elif c.cleaned["json_expected"] is not None:
        c.error("json_path", "Give the JSON path whose value to compare.")
    _common(c, default_timeout=10)
    _degraded_after(c)
    c.boolean("follow_redirects", True)
    c.number("max_redirects", 5, low=0, high=20)
    user = c.text("basic_auth_user")
    password = c.text("basic_auth_password", "")
    if password and user is None:
        c.error("basic_auth_user", "A password needs a user name.")
    if isinstance(user, str) and ":" in user:
        c.error("basic_auth_user", "A user name cannot contain ':'.")
    c.boolean("verify_tls", True)
    c.number("cert_expiry_warn_days", 14, low=0, high=365)


def _clean_keyword(c: _Cleaner) -> None:
    _clean_http(c, keyword_required=True)


def _clean_ssl(c: _Cleaner) -> None:
    c.host("host")
    c.port("port", 443)
    name = c.text("server_name")
    if isinstance(name, str) and host_problem(name.strip()):
        c.error("server_name", host_problem(name.strip()) or "")
    warn = c.number("warn_days", 14, low=0, high=365)
    critical = c.number("critical_days", 3, low=0, high=365)
    if warn is not None and critical is not None and critical > warn:
        c.error("critical_days", "Must not be above the warning threshold.")
    _common(c, default_timeout=10)


def _clean_tcp(c: _Cleaner) -> None:
    c.host("host")
    c.port("port", None, required=True)
    _common(c, default_timeout=10)
    _degraded_after(c)


def _clean_ping(c: _Cleaner) -> None:
    c.host("host")
    c.number("count", 3, low=1, high=10)
    c.choice("method", METHODS, "auto")
    ports = c.value("tcp_ports", list(DEFAULT_TCP_PORTS))
    if not isinstance(ports, list | tuple) or not ports or not all(_is_port(p) for p in ports):
        c.error("tcp_ports", "Give a list of port numbers between 1 and 65535.")
    else:
        c.cleaned["tcp_ports"] = list(ports)
    _common(c, default_timeout=5)
    _degraded_after(c)


def _clean_dns(c: _Cleaner) -> None:
    record_type = c.choice("record_type", RECORD_TYPES, "A", upper=True)
    name = c.text("name", required=True)
    if isinstance(name, str):
        name = name.strip()
        c.cleaned["name"] = name
        is_ip = host_problem(name) is None and _is_ip(name)
        if record_type != "PTR" and is_ip:
            c.error("name", "Give a domain name (an IP address only makes sense for PTR).")
        elif not is_ip and host_problem(name):
            c.error("name", host_problem(name) or "")
    expected = c.value("expected", [])
    if isinstance(expected, str):
        expected = [part.strip() for part in re.split(r"[,\n]", expected) if part.strip()]
    if not isinstance(expected, list | tuple) or not all(isinstance(v, str) for v in expected):
        c.error("expected", "Give the expected values as a list of text.")
        expected = []
    for value in expected:
        if record_type in ("A", "AAAA"):
            version = 4 if record_type == "A" else 6
            try:
                if ipaddress.ip_address(value.strip()).version != version:
                    raise ValueError
            except ValueError:
                c.error("expected", f"'{value}' is not an IPv{version} address.")
    c.cleaned["expected"] = [v.strip() for v in expected]
    c.choice("match", MATCH_MODES, "any")
    resolver = c.text("resolver_ip")
    if isinstance(resolver, str):
        resolver = resolver.strip()
        if not _is_ip(resolver):
            c.error("resolver_ip", f"'{resolver}' is not an IP address.")
        c.cleaned["resolver_ip"] = resolver
    c.port("resolver_port", 53)
    _common(c, default_timeout=5)


def _clean_heartbeat(c: _Cleaner) -> None:
    c.number("period_s", None, low=MIN_INTERVAL_S, high=30 * _DAY_S, required=True)
    c.number("grace_s", 60, low=0, high=30 * _DAY_S)


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


_CLEANERS: dict[str, Callable[[_Cleaner], None]] = {
    "http": _clean_http,
    "keyword": _clean_keyword,
    "ssl": _clean_ssl,
    "tcp": _clean_tcp,
    "ping": _clean_ping,
    "dns": _clean_dns,
    "heartbeat": _clean_heartbeat,
}


def validate_check_config(check_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return the cleaned config (defaults filled in) or raise a field-keyed ValidationError.

    Unknown keys are errors too: a typo such as ``timout_s`` would otherwise be
    silently ignored and the check would run with a default the user never chose.
    """
    cleaner = _CLEANERS.get(check_type)
    if cleaner is None:
        known = ", ".join(CHECK_TYPES)
        raise ValidationError(
            {"check_type": [f"Unknown check type '{check_type}'; use one of {known}."]}
        )
    if not isinstance(config, dict):
        raise ValidationError({"config": ["The configuration must be a mapping."]})
    c = _Cleaner(config)
    cleaner(c)
    for key in config:
        if key not in c.seen:
            c.error(key, f"Unknown setting for a {check_type} check.")
    if c.errors:
        raise ValidationError(c.errors)
    return c.cleaned
