"""What fired: an incident's ``details`` (the event that opened it) as a responder reads it.

``details`` is whatever the sender put there — a PagerDuty Events API v2 trigger, an
Alertmanager notification, a monitor's failure, a caller of the REST API — so every string
in it is untrusted. This module only turns it into plain values for the template, never
markup: the template autoescapes every one of them. A URL becomes a clickable ``href`` only
when it is an absolute http(s) address; anything else (``javascript:``, ``data:``, a
relative path, a URL with control characters a browser would silently drop) is shown as
text, never linked or loaded.

Remote images are not loaded with the page: an image URL is the sender's, so loading it
would tell that server who opened the incident and when (a tracking pixel), and could be
anything. They are listed as links; "Show image previews" (``static/alert24.js``) then
loads them, lazily and with ``referrerpolicy="no-referrer"``.

Payloads can be large (Alertmanager groups up to 2 MB), so everything shown is capped —
rows, alerts, links, characters per value and of the raw JSON — and the page says how much
was left out. PostgreSQL's jsonb does not keep the sender's key order, so keys are sorted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

MAX_ROWS = 100
ROWS_SHOWN_OPEN = 20
ALERTS_SHOWN_OPEN = 5
MAX_VALUE_CHARS = 4_000
MAX_KEY_CHARS = 200
MAX_FACT_CHARS = 1_000
MAX_LINKS = 25
MAX_IMAGES = 10
MAX_ALERTS = 50
MAX_LABELS = 50
MAX_RAW_CHARS = 64_000
MAX_URL_CHARS = 2_048

# C0 controls and DEL: browsers drop tabs and newlines inside URLs ("java\nscript:" runs as
# javascript:), so a URL containing any of them is not trusted to mean what it says.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Alertmanager's "no end yet" (Go's zero time) starts with year 1.
_ZERO_TIME = "0001-01-01"


def web_url(value: object) -> str:
    """``value`` when it is an absolute http(s) URL that a browser reads the same way, else ""."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS or _CONTROL.search(value):
        return ""
    lowered = value.lower()
    for prefix in ("https://", "http://"):
        if lowered.startswith(prefix):
            host = value[len(prefix) :].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            return value if host.strip() else ""
    return ""


@dataclass(frozen=True)
class Value:
    """One value to show: text (pretty JSON when ``structured``), maybe a link or a time."""

    text: str
    url: str = ""
    structured: bool = False
    truncated: bool = False
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Row:
    key: str
    value: Value


@dataclass(frozen=True)
class Link:
    text: str
    url: str  # "" when the address was refused; ``text`` then carries it as plain text


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    href: str


@dataclass
class AlertView:
    """One alert of an Alertmanager group."""

    status: str
    name: str
    labels: list[tuple[str, str]]
    annotations: list[Row]
    starts_at: Value | None
    ends_at: Value | None
    generator_url: str


@dataclass
class AlertDetails:
    kind: str
    facts: list[Row] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    more_rows: int = 0
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    refused_images: list[Link] = field(default_factory=list)
    more_links: int = 0
    common_labels: list[tuple[str, str]] = field(default_factory=list)
    common_annotations: list[Row] = field(default_factory=list)
    alerts: list[AlertView] = field(default_factory=list)
    more_alerts: int = 0
    raw: str = ""
    raw_truncated: bool = False

    @property
    def rows_open(self) -> list[Row]:
        return self.rows[:ROWS_SHOWN_OPEN]

    @property
    def rows_folded(self) -> list[Row]:
        return self.rows[ROWS_SHOWN_OPEN:]

    @property
    def alerts_open(self) -> list[AlertView]:
        return self.alerts[:ALERTS_SHOWN_OPEN]

    @property
    def alerts_folded(self) -> list[AlertView]:
        return self.alerts[ALERTS_SHOWN_OPEN:]


# --- Values --------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit] + "…", True)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pretty(value: object, limit: int, indent: int | None = 2) -> tuple[str, bool]:
    """JSON of ``value``, at most ``limit`` characters, and whether it was cut. Encoding
    stops at the limit, so a 2 MB payload costs about what a small one does."""
    encoder = json.JSONEncoder(indent=indent, ensure_ascii=False, default=str)
    parts, size = [], 0
    for chunk in encoder.iterencode(value):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(parts)[:limit], True
    return "".join(parts), False


def value_of(item: object, limit: int = MAX_VALUE_CHARS) -> Value:
    """A scalar as text (a link when it is a web address); objects and lists as pretty JSON."""
    if isinstance(item, (dict, list)):
        text, cut = _pretty(item, limit)
        return Value(text + "…" if cut else text, structured=True, truncated=cut)
    text, cut = _cut(_scalar(item), limit)
    return Value(text, url="" if cut else web_url(item), truncated=cut)


def _text(item: object, limit: int = MAX_FACT_CHARS) -> str:
    if isinstance(item, (dict, list)):
        text, cut = _pretty(item, limit, indent=None)
        return text + "…" if cut else text
    return "" if item is None else _cut(_scalar(item), limit)[0]


def _time(item: object) -> Value | None:
    """A timestamp the sender gave, read as a time when it parses (shown in the reader's
    zone), else as the sender's text."""
    if not isinstance(item, str) or not item.strip() or item.startswith(_ZERO_TIME):
        return None
    try:
        parsed = parse_datetime(item.strip())
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return Value(_text(item), at=parsed)


def _rows(mapping: object, limit: int = MAX_ROWS) -> tuple[list[Row], int]:
    """Key/value rows of an object (sorted keys), at most ``limit``; and how many were left out."""
    if mapping is None or mapping == {} or mapping == "":
        return [], 0
    if not isinstance(mapping, dict):
        return [Row("details", value_of(mapping))], 0
    keys = sorted(mapping, key=lambda key: (str(key).lower(), str(key)))
    rows = [Row(_text(key, MAX_KEY_CHARS), value_of(mapping[key])) for key in keys[:limit]]
    return rows, max(len(keys) - limit, 0)


def _labels(mapping: object, skip: dict | None = None) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    skip = skip or {}
    pairs = sorted((str(k), v) for k, v in mapping.items() if skip.get(k, object()) != v)
    return [(_text(k, MAX_KEY_CHARS), _text(v)) for k, v in pairs[:MAX_LABELS]]


def _fact(label: str, item: object, url: object = None) -> Row | None:
    text = _text(item)
    if not text.strip():
        return None
    return Row(label, Value(text, url=web_url(url) if url is not None else web_url(item)))


# --- Shapes --------------------------------------------------------------------------------


def _events(details: dict, found: AlertDetails) -> None:
    """PagerDuty Events API v2: ``{payload, links, images, client, client_url}``."""
    payload = details.get("payload") if isinstance(details.get("payload"), dict) else {}
    facts = [
        _fact("Source", payload.get("source"), url=""),
        _fact("Component", payload.get("component"), url=""),
        _fact("Group", payload.get("group"), url=""),
        _fact("Class", payload.get("class"), url=""),
        _fact("Event severity", payload.get("severity"), url=""),
    ]
    found.facts += [fact for fact in facts if fact]
    if (at := _time(payload.get("timestamp"))) is not None:
        found.facts.append(Row("Event time", at))
    client = details.get("client")
    client_url = web_url(details.get("client_url"))
    if client or client_url:
        found.facts.append(Row("Client", Value(_text(client) or client_url, url=client_url)))
    found.rows, found.more_rows = _rows(payload.get("custom_details"))
    _links_and_images(details, found)


def _links_and_images(details: dict, found: AlertDetails) -> None:
    links = details.get("links") if isinstance(details.get("links"), list) else []
    images = details.get("images") if isinstance(details.get("images"), list) else []
    found.more_links = max(len(links) - MAX_LINKS, 0) + max(len(images) - MAX_IMAGES, 0)
    for link in links[:MAX_LINKS]:
        if not isinstance(link, dict):
            continue
        href = _text(link.get("href"), MAX_URL_CHARS)
        text = _text(link.get("text")) or href
        url = web_url(link.get("href"))
        if not url and text != href:
            text = f"{text} ({href})"  # a refused address is shown, as text, with its label
        found.links.append(Link(text, url))
    for image in images[:MAX_IMAGES]:
        if not isinstance(image, dict):
            continue
        src = web_url(image.get("src"))
        alt = _text(image.get("alt")) or "Image"
        if src:
            found.images.append(Image(src, alt, web_url(image.get("href")) or src))
        else:
            found.refused_images.append(Link(f"{alt} ({_text(image.get('src'), 200)})", ""))


def _alertmanager(details: dict, found: AlertDetails) -> None:
    """An Alertmanager ``webhook_config`` notification (version 4), stored whole."""
    common = details.get("commonLabels") if isinstance(details.get("commonLabels"), dict) else {}
    facts = [
        _fact("Status", details.get("status"), url=""),
        _fact("Receiver", details.get("receiver"), url=""),
        _fact("Alertmanager", details.get("externalURL")),
    ]
    found.facts += [fact for fact in facts if fact]
    truncated = details.get("truncatedAlerts")
    if isinstance(truncated, int) and not isinstance(truncated, bool) and truncated > 0:
        found.facts.append(Row("Alerts Alertmanager left out", Value(str(truncated))))
    found.common_labels = _labels(common)
    found.common_annotations, _ = _rows(details.get("commonAnnotations"), MAX_LABELS)
    alerts = details.get("alerts") if isinstance(details.get("alerts"), list) else []
    alerts = [alert for alert in alerts if isinstance(alert, dict)]
    found.more_alerts = max(len(alerts) - MAX_ALERTS, 0)
    for alert in alerts[:MAX_ALERTS]:
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations, _ = _rows(alert.get("annotations"), MAX_LABELS)
        found.alerts.append(
            AlertView(
                status=_text(alert.get("status"), 40),
                name=_text(labels.get("alertname")),
                labels=_labels(labels, skip=common),
                annotations=annotations,
                starts_at=_time(alert.get("startsAt")),
                ends_at=_time(alert.get("endsAt")),
                generator_url=web_url(alert.get("generatorURL")),
            )
        )


def _monitoring(details: dict, found: AlertDetails) -> None:
    """A monitor's confirmed failure (``monitoring_open_incident()``)."""
    locations = details.get("locations")
    if isinstance(locations, list):
        locations = ", ".join(_text(location, 100) for location in locations[:MAX_LABELS])
    facts = [
        _fact("Failure reason", details.get("reason"), url=""),
        _fact("Check type", details.get("check_type"), url=""),
        _fact("Confirmed from", locations, url=""),
    ]
    found.facts += [fact for fact in facts if fact]


def describe(
    details: object,
    *,
    source: str = "",
    dedup_key: str | None = None,
    raw_limit: int = MAX_RAW_CHARS,
) -> AlertDetails | None:
    """The details panel for ``details`` sent by ``source``; None when there is nothing to show.

    The shape is chosen by the source and checked against the data, so a payload that does
    not look like its source's still shows as generic key/value rows, never an error.
    """
    has_details = bool(details) and details != {}
    if not has_details and not dedup_key:
        return None
    found = AlertDetails(kind="generic")
    if has_details:
        if source == "events" and isinstance(details, dict) and "payload" in details:
            found.kind = "events"
            _events(details, found)
        elif source == "alertmanager" and isinstance(details, dict) and "alerts" in details:
            found.kind = "alertmanager"
            _alertmanager(details, found)
        elif source == "monitoring" and isinstance(details, dict) and "check_id" in details:
            found.kind = "monitoring"
            _monitoring(details, found)
        else:
            found.rows, found.more_rows = _rows(details)
        found.raw, found.raw_truncated = _pretty(details, raw_limit)
    if dedup_key:
        found.facts.append(Row("Dedup key", Value(_text(dedup_key, 255))))
    return found


def describe_update(metadata: Any, raw_limit: int = 16_000) -> AlertDetails | None:
    """The event a deduplicated trigger carried (``incident_updates.metadata`` of a ``dedup``
    row: ``{source, details}``), for its timeline entry."""
    if not isinstance(metadata, dict) or not metadata.get("details"):
        return None
    return describe(
        metadata["details"], source=str(metadata.get("source") or ""), raw_limit=raw_limit
    )
