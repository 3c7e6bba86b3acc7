"""A responder's worst hour, in a real browser: log in, see the page arrive, acknowledge it,
watch the timeline, cover a shift."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User
from incidents import event_inbox, lifecycle
from incidents.models import OnCallSchedule, ScheduleLayer, ScheduleLayerMember
from tests.incidents.factories import policy, service

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


@pytest.fixture
def world(org_a):
    ana = User.objects.create_user("ana@acme.example", PASSWORD, full_name="Ana Responder")
    ben = User.objects.create_user("ben@acme.example", PASSWORD, full_name="Ben Backup")
    OrganizationMember.objects.create(organization=org_a, user=ana, role="responder")
    OrganizationMember.objects.create(organization=org_a, user=ben, role="responder")
    api = service(org_a, policy(org_a, [[ana]]), name="Checkout API")
    schedule = OnCallSchedule.objects.create(organization=org_a, name="Primary")
    layer = ScheduleLayer.objects.create(
        organization=org_a,
        schedule=schedule,
        rotation_unit="days",
        rotation_start=timezone.now() - dt.timedelta(days=1),
    )
    ScheduleLayerMember.objects.create(organization=org_a, layer=layer, user=ana, position=0)
    return {"ana": ana, "ben": ben, "api": api, "schedule": schedule}


def log_in(page, live_server, email):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.who")).to_contain_text(email)


def test_incident_appears_is_acknowledged_and_timeline_updates(page, live_server, world):
    log_in(page, live_server, "ana@acme.example")
    page.goto(f"{live_server.url}/incidents/")
    expect(page.locator(".empty")).to_contain_text("No incidents")

    # Another path (monitoring, the Events API) opens an incident while the page is open.
    incident = lifecycle.open_incident(world["api"], "Checkout <b>latency</b> high").incident
    row = page.locator(f"tr[data-incident='{incident.pk}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Checkout <b>latency</b> high")  # escaped, shown as text
    expect(row.locator(".badge")).to_have_text("Triggered")

    row.locator("a").click()
    page.locator("button", has_text="Acknowledge").dblclick()  # a double click acts once
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    expect(page.locator("#messages")).to_contain_text("Acknowledged")
    expect(page.locator("#timeline")).to_contain_text("Acknowledged")
    assert incident.updates.filter(update_type="status_change").count() == 1

    # A teammate's note and resolve elsewhere show up without reloading.
    lifecycle.add_note(incident, world["ben"], "Rolled back the deploy")
    expect(page.locator("#timeline")).to_contain_text("Rolled back the deploy")
    lifecycle.resolve(incident, world["ben"])
    expect(page.locator("#incident-status")).to_have_text("Resolved")

    page.goto(f"{live_server.url}/incidents/")
    expect(page.locator(f"tr[data-incident='{incident.pk}'] .badge")).to_have_text("Resolved")


def test_long_timeline_shows_all_and_stays_live(page, live_server, world):
    incident = lifecycle.open_incident(world["api"], "Noisy disk alerts").incident
    for n in range(60):
        lifecycle.add_note(incident, world["ben"], f"Disk note {n:02}")
    log_in(page, live_server, "ana@acme.example")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    entries = page.locator("#timeline > li")
    expect(entries).to_have_count(50)
    expect(page.locator("#timeline")).not_to_contain_text("Disk note 00")

    page.locator("#timeline-all").click()
    expect(page.locator("#timeline")).to_contain_text("Disk note 00")
    total = entries.count()
    assert total > 60

    # The live fragment refreshes in "all" mode: nothing is cut back to the newest 50.
    lifecycle.add_note(incident, world["ben"], "Replaced the disk")
    expect(page.locator("#timeline")).to_contain_text("Replaced the disk")
    expect(entries).to_have_count(total + 1)
    expect(page.locator("#timeline-recent")).to_be_visible()


def test_list_updates_when_acknowledged_elsewhere(page, live_server, world):
    incident = lifecycle.open_incident(world["api"], "Queue backlog").incident
    log_in(page, live_server, "ben@acme.example")
    page.goto(f"{live_server.url}/incidents/")
    badge = page.locator(f"tr[data-incident='{incident.pk}'] .badge")
    expect(badge).to_have_text("Triggered")
    lifecycle.acknowledge(incident, world["ana"])
    expect(badge).to_have_text("Acknowledged")


def test_create_an_override_with_errors_shown_then_fixed(page, live_server, world):
    log_in(page, live_server, "ben@acme.example")
    page.goto(f"{live_server.url}/oncall/")
    page.click("text=Primary")
    expect(page.locator("h1")).to_have_text("Primary")

    form = page.locator("#override-form")
    form.locator("select[name=user]").select_option(label="Ben Backup")
    start = (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    form.locator("input[name=start_at]").fill(start)
    form.locator("input[name=end_at]").fill(start)  # ends when it starts: refused
    form.locator("button[type=submit]").click()
    expect(page.locator("#override-form .field-errors")).to_contain_text("must end after")

    form = page.locator("#override-form")
    form.locator("input[name=end_at]").fill(start.replace("T09:00", "T17:00"))
    form.locator("button[type=submit]").click()
    expect(page.locator("#messages")).to_contain_text("Override added")
    expect(page.locator("#overrides")).to_contain_text("Ben Backup")
    expect(page.locator(".bar.override")).to_have_count(1)
    assert world["schedule"].overrides.get().user == world["ben"]


class ImageHost:
    """A local image server standing in for the sender's chart host; it notes each request."""

    @staticmethod
    def png() -> bytes:
        """A valid one-pixel PNG (so the browser's naturalWidth proves it loaded)."""
        import struct
        import zlib

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
        pixels = zlib.compress(b"\x00\xc6\x28\x28\xff")
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b"")
        )

    def __init__(self) -> None:
        import http.server
        import threading

        host = self
        self.requests: list[dict[str, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host.requests.append({"path": self.path, "referer": self.headers["Referer"]})
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                body = ImageHost.png()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def image_host():
    host = ImageHost()
    yield host
    host.close()


def test_alert_details_from_an_event_images_load_only_on_request(
    page, live_server, world, image_host
):
    import json
    import urllib.request

    from incidents.models import Incident, ServiceIntegration

    integration = ServiceIntegration.objects.create(
        organization=world["api"].organization, service=world["api"]
    )
    event = {
        "routing_key": integration.integration_key,
        "event_action": "trigger",
        "dedup_key": "latency-checkout",
        "payload": {
            "summary": "p99 latency 4s",
            "source": "lb-1",
            "severity": "critical",
            "custom_details": {"p99_ms": 4012, "<script>alert(1)</script>": "x"},
        },
        "links": [{"href": "javascript:alert(2)", "text": "Sneaky"}],
        "images": [{"src": f"{image_host.url}/chart.png", "alt": "Latency chart"}],
    }
    request = urllib.request.Request(
        f"{live_server.url}/v2/enqueue",
        json.dumps(event).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 202
    event_inbox.apply_waiting()  # accepted; applied now rather than racing the applier thread
    incident = Incident.objects.get(dedup_key="latency-checkout")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    log_in(page, live_server, "ana@acme.example")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    panel = page.locator("#alert-details")
    expect(panel).to_contain_text("lb-1")
    expect(panel.locator("table.kv")).to_contain_text("4012")
    expect(panel.locator("table.kv")).to_contain_text("<script>alert(1)</script>")
    expect(panel.locator("a", has_text="Sneaky")).to_have_count(0)  # shown, not linked
    expect(panel).to_contain_text("Sneaky (javascript:alert(2))")
    expect(panel.locator("img")).to_have_count(0)
    assert image_host.requests == []  # opening the incident told the image host nothing

    panel.locator("button", has_text="Show image previews").click()
    image = panel.locator("img[alt='Latency chart']")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('#alert-details img').naturalWidth > 0")
    assert [r["path"] for r in image_host.requests] == ["/chart.png"]
    assert image_host.requests[0]["referer"] is None  # referrerpolicy="no-referrer"
    assert dialogs == []  # nothing in the event ran as script
