"""Monitoring checks over the REST API: configure, pause/resume, run now, results, statistics.

Real PostgreSQL (the engine's SQL records results and rollups) and a real HTTP server on
127.0.0.1 for "run now"; nothing mocked.
"""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitoring.engine import record_results
from monitoring.models import CheckResult, CheckSchedule, MonitoringCheck
from tests.monitoring.factories import location, make_check, result

pytestmark = pytest.mark.django_db

HTTP_CHECK = {"name": "Homepage", "check_type": "http", "config": {"url": "https://example.com/"}}


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"all good"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_site(settings):
    """A real HTTP server on 127.0.0.1 (and private targets allowed, as in the demo)."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def test_create_check_with_defaults(api, world_a):
    created = api.post("/api/v1/checks/", {**HTTP_CHECK, "service": str(world_a.service.pk)})
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["locations"] == ["ap-south", "eu-west", "us-east"]
    assert (data["state"], data["is_paused"], data["interval_seconds"]) == ("pending", False, 60)
    assert data["heartbeat_url"] is None and data["service"] == str(world_a.service.pk)
    assert CheckSchedule.objects.filter(monitor_id=data["id"]).count() == 3
    detail = api.get(f"/api/v1/checks/{data['id']}/").json()
    assert detail["config"] == {"url": "https://example.com/"}
    assert api.post("/api/v1/checks/", {**HTTP_CHECK, "name": "HOMEPAGE"}).status_code == 409


def test_heartbeat_check_has_a_url_and_no_locations(api, world_a):
    body = {"name": "Nightly backup", "check_type": "heartbeat", "config": {"period_s": 86400}}
    data = api.post("/api/v1/checks/", body).json()
    assert data["locations"] == [] and data["heartbeat_url"].endswith(
        MonitoringCheck.objects.get(pk=data["id"]).heartbeat_path
    )
    refused = api.post("/api/v1/checks/", {**body, "name": "B2", "locations": ["us-east"]})
    assert refused.status_code == 400 and "locations" in refused.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"config": {"url": "ftp://example.com/"}}, {"config": {"url"}}),
        ({"config": {"url": "https://example.com/", "timout_s": 5}}, {"config": {"timout_s"}}),
        ({"config": {"url": "https://example.com/", "interval_s": 30}}, {"config": {"interval_s"}}),
        ({"config": {"url": "https://example.com/", "method": "FETCH"}}, {"config": {"method"}}),
        ({"config": {}}, {"config": {"url"}}),
        ({"config": "https://example.com/"}, {"config": None}),
        ({"config": {"url": "https://a/\x00"}}, {"config": None}),
        ({"check_type": "smtp"}, {"check_type": None}),
        ({"timeout_seconds": 45, "interval_seconds": 30}, {"timeout_seconds": None}),
        ({"interval_seconds": 5}, {"interval_seconds": None}),
        ({"failure_threshold": 0}, {"failure_threshold": None}),
        ({"locations": ["mars-1"]}, {"locations": None}),
        ({"locations": []}, {"locations": None}),
        (
            {"locations": ["us-east"], "require_second_location": True},
            {"require_second_location": None},
        ),
        ({"severity": "apocalyptic"}, {"severity": None}),
    ],
)  # fmt: skip
def test_bad_check_input_is_a_400_naming_the_field(api, world_a, body, fields):
    before = MonitoringCheck.objects.count()
    response = api.post("/api/v1/checks/", {**HTTP_CHECK, **body})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert set(error["fields"]) == set(fields)
    for field, nested in fields.items():
        if nested:
            assert set(error["fields"][field]) == nested
    assert MonitoringCheck.objects.count() == before


def test_update_revalidates_and_keeps_the_write_only_password(api, world_a):
    config = {"url": "https://example.com/", "basic_auth_user": "ops", "basic_auth_password": "s3"}
    created = api.post("/api/v1/checks/", {**HTTP_CHECK, "config": config}).json()
    assert "basic_auth_password" not in created["config"]
    assert "s3" not in str(api.get("/api/v1/checks/").json())
    url = f"/api/v1/checks/{created['id']}/"
    moved = api.patch(url, {"config": {"url": "https://example.org/", "basic_auth_user": "ops"}})
    assert moved.status_code == 200 and moved.json()["config"]["url"] == "https://example.org/"
    stored = MonitoringCheck.objects.get(pk=created["id"])
    assert stored.config["basic_auth_password"] == "s3"
    too_long = api.patch(url, {"timeout_seconds": 50, "interval_seconds": 30})
    assert too_long.status_code == 400 and "timeout_seconds" in too_long.json()["error"]["fields"]
    switched = api.patch(url, {"check_type": "tcp"})
    assert switched.status_code == 400 and "config" in switched.json()["error"]["fields"]
    tcp = api.patch(url, {"check_type": "tcp", "config": {"host": "example.com", "port": 443}})
    assert tcp.status_code == 200 and tcp.json()["config"] == {"host": "example.com", "port": 443}
    relocated = api.patch(url, {"locations": ["eu-west"]})
    assert relocated.json()["locations"] == ["eu-west"]
    assert list(stored.locations.values_list("code", flat=True)) == ["eu-west"]
    stored.refresh_from_db()
    assert (stored.check_type, stored.interval_seconds) == ("tcp", 60)


def test_pause_and_resume(api, full_world_a):
    url = f"/api/v1/checks/{full_world_a.check.pk}"
    paused = api.post(f"{url}/pause/")
    assert paused.status_code == 200
    assert (paused.json()["is_paused"], paused.json()["state"]) == (True, "paused")
    assert api.post(f"{url}/pause/").json()["state"] == "paused"  # idempotent
    assert api.post(f"{url}/run-now/").status_code == 409
    resumed = api.post(f"{url}/resume/").json()
    assert (resumed["is_paused"], resumed["state"]) == (False, "pending")
    assert api.get("/api/v1/checks/", is_paused="true").json()["results"] == []


def test_run_now_probes_and_records_a_result(api, world_a, local_site):
    body = {
        "name": "Local",
        "check_type": "keyword",
        "config": {"url": local_site, "keyword": "all good"},
        "locations": ["eu-west"],
    }
    check = api.post("/api/v1/checks/", body).json()
    ran = api.post(f"/api/v1/checks/{check['id']}/run-now/")
    assert ran.status_code == 200, ran.content
    data = ran.json()
    assert (data["state"], data["previous_state"]) == ("up", "pending")
    assert data["result"]["status"] == "up" and data["result"]["location"] == "eu-west"
    assert data["incident"] is None
    results = api.get(f"/api/v1/checks/{check['id']}/results/").json()["results"]
    assert [(r["status"], r["location"]) for r in results] == [("up", "eu-west")]
    assert api.get(f"/api/v1/checks/{check['id']}/").json()["last_status"] == "up"


def test_run_now_of_an_unreachable_target_records_down(api, full_world_a, settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    data = api.post(f"/api/v1/checks/{full_world_a.check.pk}/run-now/").json()
    assert data["result"]["status"] == "down" and data["result"]["reason"]
    assert CheckResult.objects.filter(monitor=full_world_a.check).count() == 2


def test_results_are_filtered_and_cursor_paginated(api, full_world_a):
    check = full_world_a.check
    east, west = location("us-east").pk, location("eu-west").pk
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    record_results(
        [
            (check.pk, east if i % 2 else west, result(status, at=start + dt.timedelta(minutes=i)))
            for i, status in enumerate(["up", "down", "up", "degraded", "up", "down"])
        ]
    )
    url = f"/api/v1/checks/{check.pk}/results/"

    def times(**params):
        return [r["checked_at"][11:16] for r in api.get(url, **params).json()["results"]]

    window = {"since": "2026-03-01T12:00:00Z", "until": "2026-03-01T12:05:00Z"}
    assert times(**window) == ["12:04", "12:03", "12:02", "12:01", "12:00"]
    assert times(status="down", **window) == ["12:01"]
    later = {"since": window["since"], "until": "2026-03-01T13:00:00Z"}
    assert times(status=["down", "degraded"], **later) == ["12:05", "12:03", "12:01"]
    assert times(location="eu-west", since=window["since"]) == ["12:04", "12:02", "12:00"]
    first = api.get(url, **window, limit=2).json()
    assert set(first["results"][0]) == {
        "checked_at", "status", "response_time_ms", "reason", "location"
    }  # fmt: skip
    seen, next_url = [r["checked_at"] for r in first["results"]], first["next"]
    while next_url:
        page = api.get(next_url).json()
        seen += [r["checked_at"] for r in page["results"]]
        next_url = page["next"]
    assert len(seen) == len(set(seen)) == 5
    bad = api.get(url, status="sideways")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    bad = api.get(url, location="mars-1")
    assert bad.status_code == 400 and "location" in bad.json()["error"]["fields"]
    assert api.get("/api/v1/checks/not-a-uuid/results/").status_code == 404


def test_statistics_roll_up_hours_days_and_uptime(api, full_world_a):
    check = make_check(full_world_a.organization, "Rolled", locations=("us-east",))
    east = location("us-east").pk
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    feed = [
        ("up", 100, 10, 1),
        ("up", 300, 10, 30),
        ("down", None, 10, 59),
        ("degraded", 900, 11, 5),
    ]
    for status, ms, hour, minute in feed:
        at = day + dt.timedelta(hours=hour, minutes=minute)
        record_results([(check.pk, east, result(status, ms=ms, at=at))])
    record_results([(check.pk, east, result("down", ms=None, at=day + dt.timedelta(days=1)))])
    url = f"/api/v1/checks/{check.pk}/statistics/"
    hourly = api.get(url, period="hour", since="2026-03-01T10:20:00Z", until="2026-03-01T12:00Z")
    assert hourly.status_code == 200, hourly.content
    data = hourly.json()
    assert data["since"].startswith("2026-03-01T10:00:00")  # rounded down to the bucket
    assert [b["total_checks"] for b in data["buckets"]] == [3, 1]
    assert (data["total_checks"], data["up_checks"], data["down_checks"]) == (4, 2, 1)
    assert data["uptime_percent"] == pytest.approx(75.0)
    assert data["avg_response_ms"] == pytest.approx((100 + 300 + 900) / 3)
    assert data["buckets"][0]["uptime_percent"] == pytest.approx(200 / 3)
    assert data["p95_response_ms"] >= data["buckets"][0]["p95_response_ms"]
    daily = api.get(url, period="day", since="2026-02-28T00:00Z", until="2026-03-03T00:00Z").json()
    assert [b["total_checks"] for b in daily["buckets"]] == [0, 4, 1]
    assert daily["buckets"][0]["uptime_percent"] is None
    assert daily["uptime_percent"] == pytest.approx(60.0)
    empty = api.get(url, since="2020-01-01T00:00Z", until="2020-01-01T05:00Z").json()
    assert empty["uptime_percent"] is None and len(empty["buckets"]) == 5
    too_long = api.get(url, period="hour", since="2026-01-01T00:00Z", until="2026-03-01T00:00Z")
    assert too_long.status_code == 400 and "until" in too_long.json()["error"]["fields"]
    backwards = api.get(url, since="2026-03-02T00:00Z", until="2026-03-01T00:00Z")
    assert backwards.status_code == 400
    assert api.get(url, period="week").status_code == 400


def test_check_list_filters_and_delete(api, full_world_a):
    make_check(full_world_a.organization, "Port", check_type="tcp",
               config={"host": "example.com", "port": 22}, locations=("ap-south",))  # fmt: skip

    def names(**params):
        return [c["name"] for c in api.get("/api/v1/checks/", **params).json()["results"]]

    assert names() == ["Check a", "Port"]
    assert names(check_type="tcp") == ["Port"]
    assert names(location="us-east") == ["Check a"]
    assert names(state="unconfirmed_down") + names(state="down") == ["Check a"]
    assert names(service=str(full_world_a.service.pk)) == ["Check a"]
    assert api.get("/api/v1/checks/", check_type="smtp").status_code == 400
    assert api.delete(f"/api/v1/checks/{full_world_a.check.pk}/").status_code == 204
    assert not CheckResult.objects.filter(monitor_id=full_world_a.check.pk).exists()
    assert names() == ["Port"]


def test_monitoring_locations_are_listed(api, world_a):
    codes = [loc["code"] for loc in api.get("/api/v1/monitoring-locations/").json()]
    assert codes == ["ap-south", "eu-west", "us-east"]


def test_read_only_key_cannot_change_checks(read_api, full_world_a):
    check = full_world_a.check
    url = f"/api/v1/checks/{check.pk}"
    attempts = [
        read_api.post("/api/v1/checks/", HTTP_CHECK),
        read_api.patch(f"{url}/", {"name": "renamed"}),
        read_api.put(f"{url}/", HTTP_CHECK),
        read_api.delete(f"{url}/"),
        read_api.post(f"{url}/pause/"),
        read_api.post(f"{url}/resume/"),
        read_api.post(f"{url}/run-now/"),
    ]
    for response in attempts:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
    check.refresh_from_db()
    assert (check.name, check.is_paused) == ("Check a", False)
    assert CheckResult.objects.filter(monitor=check).count() == 1
    assert MonitoringCheck.objects.count() == 1
    assert read_api.get(f"{url}/results/").status_code == 200
    assert read_api.get(f"{url}/statistics/").status_code == 200
