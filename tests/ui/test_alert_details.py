"""The incident page's "Alert details": what fired, from real events, escaped and bounded.

Events reach the database the way they do in production (the Django test client posting to
``/v2/enqueue`` and the Alertmanager webhook); the page is then read as a responder would.
The HTML is parsed, so assertions are about the links and images a browser would see.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import alert_details
from incidents.alert_details import web_url
from incidents.models import Incident, ServiceIntegration
from tests.incidents.factories import member

SAFE_REL = {"noopener", "noreferrer", "nofollow"}


class Page(HTMLParser):
    """The anchors and images of a page, and whether each image sits in a <template>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.images: list[tuple[dict[str, str | None], bool]] = []
        self.all_attrs: list[tuple[str, str | None]] = []
        self._template = 0
        self._anchor: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.all_attrs += attrs
        attributes = dict(attrs)
        if tag == "template":
            self._template += 1
        elif tag == "a":
            self._anchor = {**attributes, "text": ""}
            self.anchors.append(self._anchor)
        elif tag == "img":
            self.images.append((attributes, self._template > 0))

    def handle_endtag(self, tag):
        if tag == "template":
            self._template -= 1
        elif tag == "a":
            self._anchor = None

    def handle_data(self, data):
        if self._anchor is not None:
            self._anchor["text"] += data

    def anchor(self, text: str) -> dict:
        (found,) = [a for a in self.anchors if a["text"].strip() == text]
        return found


def post(path: str, body: dict):
    return Client().post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def routing_key(api, org_a) -> str:
    return ServiceIntegration.objects.create(organization=org_a, service=api).integration_key


@pytest.fixture
def alertmanager_hook(api, org_a) -> str:
    integration = ServiceIntegration.objects.create(
        organization=org_a, service=api, kind="alertmanager", name="Prometheus"
    )
    return f"/integrations/alertmanager/{integration.integration_key}"


def trigger(routing_key: str, dedup_key: str = "cpu-web-1", **extra) -> Incident:
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": "CPU above 95% on web-1",
            "source": "web-1.prod",
            "severity": "error",
            "timestamp": "2026-11-25T10:15:00Z",
            "component": "nginx",
            "group": "frontend",
            "class": "cpu",
            "custom_details": {
                "load": 9.5,
                "dashboard": "https://grafana.example/d/cpu",
                "disk": {"free": "1%", "mounts": ["/", "/var"]},
            },
        },
        "links": [{"href": "https://runbooks.example/cpu", "text": "Runbook"}],
        "images": [{"src": "https://charts.example/cpu.png", "alt": "CPU graph"}],
        "client": "Nagios",
        "client_url": "https://nagios.example/host/web-1",
    }
    body.update(extra)
    response = post("/v2/enqueue", body)
    assert response.status_code == 202, response.content
    return Incident.objects.get(dedup_key=dedup_key)


def page_of(client, incident) -> str:
    response = client.get(reverse("incident-detail", args=[incident.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str) -> str:
    """The Alert details panel only (the timeline below repeats dedup events)."""
    start = html.index('id="alert-details"')
    return html[start : html.index("</section>", start)]


def test_events_api_trigger_shows_what_fired(login, crew, routing_key):
    incident = trigger(routing_key)
    html = page_of(login(crew.viewer), incident)
    panel = section(html)
    for fact in ("web-1.prod", "nginx", "frontend", "cpu", "error", "cpu-web-1"):
        assert f'<span class="value-text">{fact}</span>' in panel, fact
    assert 'datetime="2026-11-25T10:15:00+00:00"' in panel  # the event's own time
    assert "via Events API" in panel

    parsed = Page(panel)
    client = parsed.anchor("Nagios")
    assert client["href"] == "https://nagios.example/host/web-1"
    runbook = parsed.anchor("Runbook")
    assert runbook["href"] == "https://runbooks.example/cpu" and runbook["target"] == "_blank"
    assert set(runbook["rel"].split()) == SAFE_REL
    assert parsed.anchor("https://grafana.example/d/cpu")["href"].startswith("https://grafana")
    assert '<th scope="row">load</th><td><span class="value-text">9.5</span>' in panel
    # Nested values read as pretty JSON, one key per line.
    assert '<pre class="json">{\n  &quot;free&quot;: &quot;1%&quot;,' in panel
    # The image is a link; the <img> exists only inside the inert <template>.
    assert parsed.anchor("CPU graph")["href"] == "https://charts.example/cpu.png"
    ((image, inert),) = parsed.images
    assert inert and image["src"] == "https://charts.example/cpu.png"
    assert image["referrerpolicy"] == "no-referrer" and image["loading"] == "lazy"
    assert image["alt"] == "CPU graph"
    assert "Show raw JSON" in panel and "&quot;custom_details&quot;" in panel


def test_duplicate_event_shows_its_details_on_the_timeline(login, crew, routing_key):
    incident = trigger(routing_key)
    trigger(
        routing_key,
        payload={
            "summary": "CPU above 99% on web-1",
            "source": "web-1.prod",
            "severity": "critical",
            "custom_details": {"load": 31.25},
        },
    )
    assert Incident.objects.filter(dedup_key="cpu-web-1").count() == 1
    client = login(crew.viewer)
    html = page_of(client, incident)
    timeline = html[html.index('id="timeline"') :]
    assert "Duplicate event: CPU above 99% on web-1" in timeline
    assert "<summary>Event details</summary>" in timeline
    assert '<span class="value-text">31.25</span>' in timeline
    assert "31.25" not in section(html)  # the panel keeps the event that opened it
    # The live fragment (what polling swaps in) carries the same.
    live = client.get(reverse("incident-live", args=[incident.pk])).content.decode()
    assert '<span class="value-text">31.25</span>' in live


def alertmanager_notification(alerts: int = 2) -> dict:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "alert24",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "cluster": "eu1", "severity": "warning"},
        "commonAnnotations": {"runbook_url": "https://runbooks.example/disk"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "DiskFull",
                    "cluster": "eu1",
                    "severity": "warning",
                    "instance": f"db{n}",
                },
                "annotations": {"summary": f"Disk almost full on db{n}"},
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=disk{n}",
                "fingerprint": f"f{n}",
            }
            for n in range(alerts)
        ],
    }


def test_alertmanager_group_shows_each_alert(login, crew, alertmanager_hook):
    body = alertmanager_notification()
    body["alerts"][1]["generatorURL"] = "javascript:alert(document.domain)"
    response = post(alertmanager_hook, body)
    assert response.status_code == 200, response.content
    incident = Incident.objects.get(dedup_key=response.json()["dedup_key"])
    panel = section(page_of(login(crew.viewer), incident))
    assert "via Alertmanager" in panel and "Alerts (2)" in panel
    assert '<code class="label">cluster=eu1</code>' in panel  # common labels, once
    assert panel.count("cluster=eu1") == 1
    assert '<code class="label">instance=db0</code>' in panel
    assert '<code class="label">instance=db1</code>' in panel
    assert "Disk almost full on db0" in panel and "Disk almost full on db1" in panel
    assert 'datetime="2026-11-25T10:00:00+00:00"' in panel
    parsed = Page(panel)
    sources = [a["href"] for a in parsed.anchors if a["text"] == "Source"]
    assert sources == ["http://prometheus.example:9090/graph?g0.expr=disk0"]  # not javascript:
    assert parsed.anchor("http://alertmanager.example:9093")["target"] == "_blank"
    assert parsed.anchor("https://runbooks.example/disk")  # URL annotations are links
    assert all(a["href"].startswith(("http://", "https://")) for a in parsed.anchors)


XSS = "<script>alert(1)</script>"


def test_hostile_details_are_escaped_and_bad_urls_refused(login, crew, routing_key):
    hostile_links = [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(2)",
        "java\tscript:alert(3)",
        " javascript:alert(4)",
        "data:text/html,<script>alert(5)</script>",
        "vbscript:msgbox(6)",
        "//evil.example/protocol-relative",
        'https://ok.example/" onmouseover="alert(7)',
    ]
    incident = trigger(
        routing_key,
        payload={
            "summary": "hostile",
            "source": XSS,
            "severity": "info",
            "custom_details": {XSS: '<img src=x onerror="alert(8)">', "nested": {XSS: XSS}},
        },
        links=[{"href": href, "text": f"link {n}"} for n, href in enumerate(hostile_links)],
        images=[
            {"src": "javascript:alert(9)", "alt": "js image"},
            {"src": "data:image/svg+xml,<svg onload=alert(10)>", "alt": "data image"},
            {"src": "https://charts.example/a.png", "alt": '" onerror="alert(11)'},
        ],
        client=XSS,
        client_url="javascript:alert(12)",
    )
    html = page_of(login(crew.viewer), incident)
    assert "<script>alert" not in html and "<svg" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(8)&quot;&gt;" in html
    parsed = Page(html)
    hrefs = [a["href"] for a in parsed.anchors if a.get("href")]
    assert not [h for h in hrefs if "script" in h.lower() or h.lower().startswith("data:")]
    assert not [h for h in hrefs if h.startswith("//")]
    handlers = {name for name, _ in parsed.all_attrs if name.startswith("on")}
    assert handlers <= {"onclick", "onchange"}  # the page's own, none from the event
    # The quote in an http(s) URL stays inside the attribute.
    assert 'https://ok.example/" onmouseover="alert(7)' in hrefs
    ((image, inert),) = parsed.images
    assert inert and image["alt"] == '" onerror="alert(11)' and "onerror" not in image
    # Refused addresses are still shown, as text, for the responder to read.
    assert "link 0 (javascript:alert(1))" in html and "not linked" in html
    assert "js image (javascript:alert(9))" in html
    assert not [a for a in parsed.anchors if a["text"] == XSS]  # client_url refused


def test_large_details_are_cut_with_the_rest_behind_raw_json(login, crew, routing_key):
    custom = {f"field_{n:03}": f"value {n}" for n in range(150)}
    custom["huge"] = "x" * 10_000
    custom["blob"] = {"k": ["y" * 100] * 1000}
    incident = trigger(
        routing_key,
        payload={
            "summary": "big",
            "source": "batch",
            "severity": "warning",
            "custom_details": custom,
        },
    )
    response = login(crew.viewer).get(reverse("incident-detail", args=[incident.pk]))
    details = response.context["alert_details"]
    assert len(details.rows) == alert_details.MAX_ROWS and details.more_rows == 52
    assert len(details.rows_open) == alert_details.ROWS_SHOWN_OPEN
    panel = section(response.content.decode())
    assert "80 more fields</summary>" in panel and "52 more fields not shown here" in panel
    blob = next(row for row in details.rows if row.key == "blob")
    assert blob.value.structured and blob.value.truncated
    assert len(blob.value.text) <= alert_details.MAX_VALUE_CHARS + 1
    assert details.raw_truncated and len(details.raw) == alert_details.MAX_RAW_CHARS
    assert f"(its first {alert_details.MAX_RAW_CHARS} characters)" in panel
    assert len(panel) < 200_000


def test_monitoring_incident_shows_the_failure_reason(login, crew, org_a, api):
    from monitoring.engine import record_results
    from tests.monitoring.factories import location, make_check, result

    check = make_check(org_a, "Checkout", service=api, failure_threshold=1)
    east = location("us-east")
    reason = "HTTP 503 from <b>upstream</b>"
    (outcome,) = record_results([(check.pk, east.pk, result("down", reason, None))])
    incident = Incident.objects.get(pk=outcome.incident_id)
    panel = section(page_of(login(crew.viewer), incident))
    assert "via Monitoring" in panel and "Failure reason" in panel
    assert "HTTP 503 from &lt;b&gt;upstream&lt;/b&gt;" in panel
    assert f"monitoring:{check.pk}" in panel  # the dedup key
    assert '<span class="value-text">http</span>' in panel  # the check type


def test_manual_incident_without_details_has_no_panel(login, crew, open_incident):
    html = page_of(login(crew.viewer), open_incident())
    assert 'id="alert-details"' not in html


def test_other_organizations_incident_details_are_404(client, crew, org_b, routing_key):
    incident = trigger(routing_key)
    client.force_login(member(org_b, "eve@globex.example", role="admin"))
    for name in ("incident-detail", "incident-live"):
        response = client.get(reverse(name, args=[incident.pk]))
        assert response.status_code == 404
        assert b"web-1.prod" not in response.content and b"grafana" not in response.content


def queries_for(client, incident) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("incident-detail", args=[incident.pk])).status_code == 200
    return len(captured.captured_queries)


def test_details_add_no_queries_to_the_incident_page(
    login, crew, routing_key, alertmanager_hook, open_incident
):
    plain = open_incident("Plain")
    busy = trigger(routing_key, dedup_key="busy")
    for n in range(30):  # duplicates, each with details shown on the timeline
        trigger(routing_key, dedup_key="busy", payload={
            "summary": f"again {n}", "source": "web-1", "severity": "error",
            "custom_details": {f"k{m}": m for m in range(50)},
        })  # fmt: skip
    response = post(alertmanager_hook, alertmanager_notification(alerts=80))
    grouped = Incident.objects.get(dedup_key=response.json()["dedup_key"])
    client = login(crew.responder)
    queries_for(client, plain)  # warm per-process caches (content types, sessions)
    baseline = queries_for(client, plain)
    assert queries_for(client, busy) == baseline
    assert queries_for(client, grouped) == baseline
    details = client.get(reverse("incident-detail", args=[grouped.pk])).context["alert_details"]
    assert len(details.alerts) == alert_details.MAX_ALERTS and details.more_alerts == 30


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.com/a?b=c#d", True),
        ("HTTP://EXAMPLE.COM", True),
        ("http://127.0.0.1:9090/graph", True),
        ("https://ok.example/with space", True),
        ("javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("https://example.com/\nx", False),
        ("\x01https://example.com", False),
        ("data:text/html,hi", False),
        ("//example.com", False),
        ("/relative", False),
        ("https://", False),
        ("https:///path", False),
        ("mailto:ops@example.com", False),
        ("https://example.com/" + "a" * 3000, False),
        (None, False),
        (42, False),
    ],
)
def test_web_url_keeps_only_http_addresses(url, kept):
    assert (web_url(url) == url) is kept
    assert web_url(url) in ("", url)


def test_unexpected_shapes_render_as_plain_rows():
    # A payload that is not its source's shape is shown generically, never an error.
    odd = alert_details.describe({"payload": "text"}, source="alertmanager")
    assert odd.kind == "generic" and odd.rows[0].key == "payload"
    string_details = alert_details.describe(
        {"payload": {"custom_details": "plain text"}}, source="events"
    )
    assert string_details.rows[0].value.text == "plain text"
    broken = alert_details.describe(
        {"alerts": [None, {"labels": "x", "startsAt": "not a time"}], "commonLabels": []},
        source="alertmanager",
    )
    assert len(broken.alerts) == 1 and broken.alerts[0].starts_at.text == "not a time"
    assert broken.alerts[0].starts_at.at is None
    assert alert_details.describe({}, source="events") is None
    assert alert_details.describe({}, source="events", dedup_key="k").facts[0].key == "Dedup key"


def test_a_two_megabyte_payload_is_shown_cut_to_the_limits():
    details = {"payload": {"custom_details": {"blob": ["z" * 1000] * 2000}}}
    found = alert_details.describe(details, source="events", raw_limit=1000)
    assert found.raw_truncated and len(found.raw) == 1000 and found.raw.startswith("{\n")
    (blob,) = found.rows
    assert blob.value.truncated and blob.value.text.endswith("…")
    assert len(blob.value.text) == alert_details.MAX_VALUE_CHARS + 1
    small = alert_details.describe({"payload": {"source": "a"}}, source="events")
    assert not small.raw_truncated and json.loads(small.raw) == {"payload": {"source": "a"}}
