"""Secrets in check configs are write-only over the API: masked on read, kept on write-back.

The last word is the probed site's: a local HTTP server records the headers a run sends,
so a check read, edited and written back is shown to still authenticate with the secret.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitoring.checks.secrets import MASK, is_secret_header
from monitoring.models import MonitoringCheck

pytestmark = pytest.mark.django_db

HEADERS = {
    "Authorization": "Bearer s3cret-bearer",
    "X-Api-Key": "k3y-value",
    "Cookie": "session=c00kie",
    "X-Request-Source": "alert24",
}


@pytest.fixture
def recording_site(settings):
    """A local site that keeps the headers of the last request it got (names lowercased)."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.clear()
            seen.update((name.lower(), value) for name, value in self.headers.items())
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    server.shutdown()
    server.server_close()


def _create(api, url: str = "https://example.com/", **config):
    body = {
        "name": "Private API",
        "check_type": "http",
        "config": {"url": url, "headers": dict(HEADERS), **config},
        "locations": ["us-east"],
    }
    response = api.post("/api/v1/checks/", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("Cookie", True),
        ("X-Api-Key", True),
        ("X-Auth-Token", True),
        ("Private-Token", True),
        ("X-Client-Secret", True),
        ("X-Hub-Signature-256", True),
        ("X-Session-Id", True),
        ("X-Password", True),
        ("Accept", False),
        ("User-Agent", False),
        ("X-Request-Id", False),
        ("Content-Type", False),
    ],
)
def test_which_headers_are_secret(name, secret):
    assert is_secret_header(name) is secret


def test_reads_mask_secret_header_values_for_every_key(api, read_api, world_a):
    created = _create(api)
    expected = {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Cookie": MASK,
        "X-Request-Source": "alert24",
    }
    assert created["config"]["headers"] == expected
    for client in (api, read_api):
        detail = client.get(f"/api/v1/checks/{created['id']}/").json()
        assert detail["config"]["headers"] == expected
        listed = json.dumps(client.get("/api/v1/checks/").json())
        for secret in ("s3cret-bearer", "k3y-value", "c00kie"):
            assert secret not in listed
    paused = api.post(f"/api/v1/checks/{created['id']}/pause/").json()
    assert paused["config"]["headers"]["Authorization"] == MASK
    stored = MonitoringCheck.objects.get(pk=created["id"]).config["headers"]
    assert stored == HEADERS


def test_a_check_read_and_written_back_keeps_its_secrets(api, world_a, recording_site):
    site, seen = recording_site
    created = _create(api, site)
    read = api.get(f"/api/v1/checks/{created['id']}/").json()
    body = {key: read[key] for key in ("name", "check_type", "config", "locations")}
    body["name"] = "Private API (renamed)"
    written = api.put(f"/api/v1/checks/{created['id']}/", body)
    assert written.status_code == 200, written.content
    assert written.json()["config"]["headers"]["Authorization"] == MASK
    assert MonitoringCheck.objects.get(pk=created["id"]).config["headers"] == HEADERS
    ran = api.post(f"/api/v1/checks/{created['id']}/run-now/")
    assert ran.status_code == 200 and ran.json()["result"]["status"] == "up", ran.content
    assert seen["authorization"] == "Bearer s3cret-bearer"
    assert (seen["x-api-key"], seen["cookie"]) == ("k3y-value", "session=c00kie")


def test_the_basic_auth_password_sent_back_masked_is_kept(api, world_a):
    created = _create(api, basic_auth_user="ops", basic_auth_password="pa55")
    assert "basic_auth_password" not in created["config"]
    config = {**created["config"], "basic_auth_password": MASK}
    written = api.patch(f"/api/v1/checks/{created['id']}/", {"config": config})
    assert written.status_code == 200, written.content
    assert MonitoringCheck.objects.get(pk=created["id"]).config["basic_auth_password"] == "pa55"


def test_the_mask_keeps_only_the_headers_sent_back(api, world_a, recording_site):
    site, seen = recording_site
    created = _create(api, site)
    headers = {"authorization": MASK, "X-Api-Key": "rotated-k3y"}  # case-insensitive match
    patched = api.patch(
        f"/api/v1/checks/{created['id']}/", {"config": {"url": site, "headers": headers}}
    )
    assert patched.status_code == 200, patched.content
    stored = MonitoringCheck.objects.get(pk=created["id"]).config["headers"]
    assert stored == {"authorization": "Bearer s3cret-bearer", "X-Api-Key": "rotated-k3y"}
    assert api.post(f"/api/v1/checks/{created['id']}/run-now/").status_code == 200
    assert seen["authorization"] == "Bearer s3cret-bearer"
    assert seen["x-api-key"] == "rotated-k3y" and "cookie" not in seen


def test_the_mask_for_a_secret_that_is_not_stored_is_a_400(api, world_a):
    created = _create(api)
    url = f"/api/v1/checks/{created['id']}/"
    planted = api.patch(
        url, {"config": {"url": "https://example.com/", "headers": {"X-New-Token": MASK}}}
    )
    assert planted.status_code == 400
    assert "X-New-Token" in planted.json()["error"]["fields"]["config"]["headers"][0]
    password = api.patch(
        url, {"config": {"url": "https://example.com/", "basic_auth_password": MASK}}
    )
    assert password.status_code == 400
    assert "basic_auth_password" in password.json()["error"]["fields"]["config"]
    fresh = api.post(
        "/api/v1/checks/",
        {"name": "New", "check_type": "http",
         "config": {"url": "https://example.com/", "headers": {"Authorization": MASK}}},
    )  # fmt: skip
    assert fresh.status_code == 400 and "headers" in fresh.json()["error"]["fields"]["config"]
    assert MonitoringCheck.objects.get(pk=created["id"]).config["headers"] == HEADERS
    assert not MonitoringCheck.objects.filter(name="New").exists()


def test_the_schema_documents_the_write_only_secrets(api):
    schema = api.client.get(
        "/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    ).json()
    config = schema["components"]["schemas"]["Check"]["properties"]["config"]
    assert MASK in config["description"] and "Authorization" in config["description"]
