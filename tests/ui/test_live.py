"""Live updates: cheap polling (ETag → 204/304) and Pusher, against a local stand-in server
that checks the official SDK's signed trigger request."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from incidents import lifecycle, live
from tests.incidents.factories import member

SECRET = "stand-in-secret"


class PusherStandIn(BaseHTTPRequestHandler):
    """Verifies Pusher's REST signature (auth_version 1.0) and records the events."""

    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        signature = query.pop("auth_signature", "")
        signed = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        expected = hmac.new(
            SECRET.encode(), f"POST\n{url.path}\n{signed}".encode(), hashlib.sha256
        ).hexdigest()
        ok = (
            url.path == "/apps/4242/events"
            and query.get("auth_key") == "stand-in-key"
            and query.get("auth_version") == "1.0"
            and query.get("auth_timestamp", "").isdigit()
            and query.get("body_md5") == hashlib.md5(body).hexdigest()
            and hmac.compare_digest(signature, expected)
        )
        self.received.append({"ok": ok, "path": url.path, "body": json.loads(body)})
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def pusher_server(settings):
    PusherStandIn.received = []
    server = HTTPServer(("127.0.0.1", 0), PusherStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PUSHER_APP_ID = "4242"
    settings.PUSHER_KEY = "stand-in-key"
    settings.PUSHER_SECRET = SECRET
    settings.PUSHER_HOST = "127.0.0.1"
    settings.PUSHER_PORT = server.server_port
    settings.PUSHER_SSL = False
    yield PusherStandIn.received
    server.shutdown()
    server.server_close()


def test_list_poll_answers_204_until_something_changes(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.viewer)
    first = client.get(reverse("incident-list-live"), headers={"HX-Request": "true"})
    etag = first["ETag"]
    assert first.status_code == 200 and "Database down" in first.content.decode()
    conditional = {"HX-Request": "true", "If-None-Match": etag}
    unchanged = client.get(reverse("incident-list-live"), headers=conditional)
    assert unchanged.status_code == 204 and unchanged.content == b""
    plain = client.get(reverse("incident-list-live"), headers={"If-None-Match": etag})
    assert plain.status_code == 304
    lifecycle.acknowledge(incident, crew.responder)
    changed = client.get(reverse("incident-list-live"), headers=conditional)
    assert changed.status_code == 200 and changed["ETag"] != etag
    lifecycle.add_note(incident, crew.responder, "note")
    assert (
        client.get(
            reverse("incident-list-live"),
            headers={"HX-Request": "true", "If-None-Match": changed["ETag"]},
        ).status_code
        == 200
    )
    # Filters are part of the version: another query never gets a stale 204.
    other = client.get(reverse("incident-list-live") + "?status=resolved", headers=conditional)
    assert other.status_code == 200


def test_incident_poll_changes_with_timeline_and_status(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.viewer)
    url = reverse("incident-live", args=[incident.pk])
    etag = client.get(url)["ETag"]
    headers = {"HX-Request": "true", "If-None-Match": etag}
    assert client.get(url, headers=headers).status_code == 204
    lifecycle.add_note(incident, crew.responder, "Rolling back")
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and "Rolling back" in response.content.decode()


def test_poll_query_is_cheap(login, crew, open_incident, django_assert_max_num_queries):
    open_incident()
    client = login(crew.viewer)
    etag = client.get(reverse("incident-list-live"))["ETag"]
    # 10 are every request's: session, user, membership, the RLS scope (savepoint, role,
    # settings, and back); the poll itself is 2 aggregate queries and renders nothing.
    with django_assert_max_num_queries(12):
        response = client.get(
            reverse("incident-list-live"), headers={"HX-Request": "true", "If-None-Match": etag}
        )
    assert response.status_code == 204


def test_incident_changed_sends_only_after_commit(
    pusher_server, crew, open_incident, django_capture_on_commit_callbacks
):
    incident = open_incident()
    with django_capture_on_commit_callbacks() as callbacks:
        live.incident_changed(incident)
    assert pusher_server == []  # nothing before commit (a rollback would send nothing)
    for callback in callbacks:
        callback()
    assert [e["ok"] for e in pusher_server] == [True]
    assert json.loads(pusher_server[0]["body"]["data"])["incident_id"] == str(incident.pk)


def test_publish_reaches_the_stand_in_with_a_valid_signature(pusher_server, org_a):
    assert live.publish(org_a.pk, {"incident_id": "x", "status": "acknowledged"})
    [event] = pusher_server
    assert event["ok"], "signature, key, timestamp, version or body_md5 did not verify"
    assert event["body"]["name"] == "incident-changed"
    assert event["body"]["channels"] == [f"private-org-{org_a.pk}"]
    assert json.loads(event["body"]["data"]) == {"incident_id": "x", "status": "acknowledged"}


def test_a_wrong_secret_is_refused_by_the_stand_in(pusher_server, settings, org_a):
    settings.PUSHER_SECRET = "not-the-secret"
    assert not live.publish(org_a.pk, {"incident_id": "x"})  # 401: logged, never raised
    assert pusher_server[0]["ok"] is False


def test_actions_push_on_commit(
    pusher_server, login, crew, open_incident, django_capture_on_commit_callbacks
):
    incident = open_incident()
    client = login(crew.responder)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incident-act", args=[incident.pk, "acknowledge"]))
    [event] = [e for e in pusher_server if e["ok"]]
    assert json.loads(event["body"]["data"])["status"] == "acknowledged"


def test_without_pusher_nothing_is_sent(
    settings, crew, open_incident, django_capture_on_commit_callbacks
):
    settings.PUSHER_APP_ID = ""
    with django_capture_on_commit_callbacks() as callbacks:
        live.incident_changed(open_incident())
    assert not any("publish" in repr(c) for c in callbacks)


def test_pusher_auth_signs_only_the_own_organization(pusher_server, login, crew, org_a, org_b):
    client = login(crew.viewer)
    own = f"private-org-{org_a.pk}"
    response = client.post(reverse("pusher-auth"), {"channel_name": own, "socket_id": "123.456"})
    assert response.status_code == 200
    key, signature = response.json()["auth"].split(":")
    expected = hmac.new(SECRET.encode(), f"123.456:{own}".encode(), hashlib.sha256).hexdigest()
    assert key == "stand-in-key" and signature == expected
    for channel in (f"private-org-{org_b.pk}", "private-org-", "presence-x", ""):
        refused = client.post(
            reverse("pusher-auth"), {"channel_name": channel, "socket_id": "123.456"}
        )
        assert refused.status_code == 403, channel
    bad_socket = client.post(reverse("pusher-auth"), {"channel_name": own, "socket_id": "x"})
    assert bad_socket.status_code == 403


def test_pusher_auth_for_a_member_of_another_organization(pusher_server, client, org_a, org_b):
    client.force_login(member(org_b, "eve@globex.example"))
    response = client.post(
        reverse("pusher-auth"),
        {"channel_name": f"private-org-{org_a.pk}", "socket_id": "1.2"},
    )
    assert response.status_code == 403


def test_pusher_auth_without_pusher_is_404(login, crew, org_a):
    response = login(crew.viewer).post(
        reverse("pusher-auth"), {"channel_name": f"private-org-{org_a.pk}", "socket_id": "1.2"}
    )
    assert response.status_code == 404


def test_pages_load_pusher_only_when_configured(pusher_server, login, crew, org_a):
    page = login(crew.viewer).get(reverse("incident-list")).content.decode()
    assert "vendor/pusher.min.js" in page and f"private-org-{org_a.pk}" in page
    assert "incident-changed from:body" in page
