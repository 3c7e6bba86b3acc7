"""Monitors in the responder app: list, detail, pause / resume / run now, roles, tenancy."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.db.models import Case, IntegerField, Value, When
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import UserActivityLog
from alert24.celery import app
from monitoring.engine import record_results
from monitoring.models import MonitoringAlert, MonitoringCheck
from monitoring.pages import PAGE_SIZE, STATE_ORDER
from tests.incidents.factories import member
from tests.monitoring.factories import location, make_check, result


def ago(**delta) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


@pytest.fixture
def queues():
    """The real Redis broker's queue lists, emptied before and after (Celery's Redis layout)."""
    with app.connection_for_write() as connection:
        client = connection.default_channel.client  # kombu's own redis-py client
        names = ["checks.us-east", "checks.eu-west"]
        client.delete(*names)
        yield lambda name: [json.loads(raw) for raw in client.lrange(name, 0, -1)]
        client.delete(*names)


@pytest.fixture
def checks(org_a, api):
    web = make_check(org_a, "Web front", service=api, failure_threshold=1)
    dns = make_check(
        org_a, "DNS apex", check_type="dns", config={"name": "example.com", "record_type": "A"}
    )
    paused = make_check(
        org_a, "Old batch job", check_type="tcp", config={"host": "db", "port": 5432}
    )
    MonitoringCheck.objects.filter(pk=paused.pk).update(is_paused=True)
    east = location("us-east").pk
    record_results([(web.pk, east, result("up", ms=120, at=ago(hours=3)))])
    record_results([(web.pk, east, result("up", ms=180, at=ago(hours=2)))])
    record_results([(web.pk, east, result("down", "HTTP 503 from /health", None, ago(minutes=5)))])
    record_results([(dns.pk, east, result("up", ms=12, at=ago(days=3)))])
    record_results([(dns.pk, east, result("degraded", "slow answer", 900, ago(minutes=1)))])
    for check in (web, dns, paused):
        check.refresh_from_db()
    return web, dns, paused


def rows_of(response) -> list[str]:
    return [row.check.name for row in response.context["rows"]]


def test_list_shows_state_last_check_sparkline_and_uptime(login, crew, checks):
    web, dns, _paused = checks
    response = login(crew.viewer).get(reverse("monitor-list"))
    assert response.status_code == 200
    # Problems first: down, then degraded, then the rest; paused last.
    assert rows_of(response) == ["Web front", "DNS apex", "Old batch job"]
    page = response.content.decode()
    assert '<span class="state down">Down</span>' in page
    assert '<span class="state degraded">Degraded</span>' in page
    assert '<span class="state paused">Paused</span>' in page
    rollups = {row.check.pk: row.rollup for row in response.context["rows"]}
    rollup = rollups[web.pk]
    assert rollup.uptime_24h == pytest.approx(100 * 2 / 3)
    assert rollup.avg_24h_ms == pytest.approx(150)
    assert rollup.uptime_30d == pytest.approx(100 * 2 / 3)
    assert rollups[dns.pk].uptime_30d == 100
    # The sparkline is an inline SVG with a line through the hours that had data.
    svg = re.search(rf'data-monitor="{web.pk}".*?(<svg class="spark".*?</svg>)', page, re.S)[1]
    assert "<polyline" in svg and "average 150 ms" in svg
    # Viewers read only: no buttons.
    assert "Pause</button>" not in page and "Run now</button>" not in page


def test_list_filters_and_search(login, crew, checks):
    client = login(crew.viewer)

    def names(**query):
        return rows_of(client.get(reverse("monitor-list"), query))

    assert names(state="down") == ["Web front"]
    assert names(state="problem") == ["Web front", "DNS apex"]
    assert names(state="paused") == ["Old batch job"]
    assert names(type="dns") == ["DNS apex"]
    assert names(q="batch") == ["Old batch job"]
    assert names(q="127.0.0.1") == ["Web front"]  # the target URL is searched too
    assert names(state="bogus") == ["Web front", "DNS apex", "Old batch job"]  # ignored
    assert client.get(reverse("monitor-list"), {"page": "junk"}).status_code == 200


def test_list_is_paginated(login, crew, org_a):
    MonitoringCheck.objects.bulk_create(
        [MonitoringCheck(organization=org_a, name=f"M{n:03}", check_type="ping",
                         config={"host": "127.0.0.1"}) for n in range(60)]
    )  # fmt: skip
    client = login(crew.viewer)
    first = client.get(reverse("monitor-list"))
    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.num_pages == 2
    second = client.get(reverse("monitor-list"), {"page": 2})
    assert rows_of(second) == [f"M{n:03}" for n in range(50, 60)]


def test_pages_cut_from_each_state_give_the_list_in_rank_then_name_order(login, crew, org_a, api):
    """A page spanning several states is read from each of them; pages in a row are the
    whole list in the order a sort over every monitor gives (state rank, name, id)."""
    states = ["up", "down", "paused", "degraded", "up", "unconfirmed_down", "pending", "up"]
    MonitoringCheck.objects.bulk_create(
        [
            MonitoringCheck(
                organization=org_a, name=f"{'aBcD'[n % 4]}-site {n:03}", check_type="ping",
                config={"host": f"10.0.0.{n}"}, state=states[n % 8],
                is_paused=states[n % 8] == "paused", service=api if n % 3 == 0 else None,
            )
            for n in range(200)
        ]
    )  # fmt: skip
    rank = Case(
        *(When(state=state, then=Value(n)) for state, n in STATE_ORDER.items()),
        output_field=IntegerField(),
    )
    everything = MonitoringCheck.objects.filter(organization=org_a).alias(rank=rank)
    client = login(crew.responder)

    def listed(**query) -> list:
        rows, page, queries = [], 1, set()
        while True:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse("monitor-list"), {**query, "page": page})
            rows += response.context["rows"]
            queries.add(len(captured))
            if not response.context["page"].has_next():
                return rows, queries
            page += 1

    rows, queries = listed()
    expected = everything.order_by("rank", "name", "id")
    assert [row.check.pk for row in rows] == [check.pk for check in expected]
    assert len(queries) == 1  # a page spanning two or three states costs no extra query
    # The service comes along on every page, whichever states it spans.
    assert {row.kind for row in rows if row.check.service_id} == {"Ping · API"}
    problems, _ = listed(state="problem", q="SITE")
    expected = everything.filter(
        state__in=["down", "unconfirmed_down", "degraded"], name__icontains="site"
    ).order_by("rank", "name", "id")
    assert [row.check.pk for row in problems] == [check.pk for check in expected]
    assert len(problems) > PAGE_SIZE


def test_row_buttons_share_one_csrf_form(login, crew, checks):
    """Each button posts to its own action URL through the page's one action form."""
    web, _dns, paused = checks
    page = login(crew.responder).get(reverse("monitor-list")).content.decode()
    form = re.search(r'<form id="monitor-actions" method="post">(.*?)</form>', page, re.S)[1]
    assert 'name="csrfmiddlewaretoken"' in form and 'name="from" value="list"' in form
    for check, action in ((web, "pause"), (web, "run"), (paused, "resume")):
        url = reverse("monitor-act", args=[check.pk, action])
        assert f'form="monitor-actions" formaction="{url}" hx-post="{url}"' in page
    assert reverse("monitor-act", args=[paused.pk, "pause"]) not in page


def test_detail_shows_config_results_chart_bars_and_incident(login, crew, checks):
    web, _dns, _paused = checks
    alert = MonitoringAlert.objects.get(monitor=web, status="open")
    assert alert.incident is not None
    response = login(crew.viewer).get(reverse("monitor-detail", args=[web.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "http://127.0.0.1:9/health" in page  # the target
    assert "HTTP 503 from /health" in page  # readable reason in the results table
    assert "US East" in page
    assert [r.status for r in response.context["results"]] == ["down", "up", "up"]
    assert '<svg class="chart"' in page and "<polyline" in page
    bars = response.context["bars"]
    by_day = {day.date: day for day in bars.days}
    latest = response.context["results"][0].checked_at.astimezone(dt.UTC).date()
    assert len(bars.days) == 90 and by_day[latest].uptime is not None
    assert bars.days[0].level == "nodata"
    # The alert's day names the incident in its tooltip, as the public page does (today,
    # unless the test runs just after midnight UTC).
    assert alert.incident.title in by_day[alert.opened_at.astimezone(dt.UTC).date()].label
    assert reverse("incident-detail", args=[alert.incident_id]) in page
    assert response.context["open_alerts"] == [alert]
    assert "Pause</button>" not in page
    week = login(crew.viewer).get(reverse("monitor-detail", args=[web.pk]), {"range": "7d"})
    assert week.context["chart_range"] == "7d"


def test_detail_hides_secrets_from_the_config(login, crew, org_a):
    check = make_check(
        org_a,
        "Private API",
        config={
            "url": "http://127.0.0.1:9/x?region=eu&access_token=url-sekret",
            "headers": {"Authorization": "Bearer sekret-token"},
            "basic_auth_user": "ops",
            "basic_auth_password": "hunter2",
        },
    )
    page = login(crew.manager).get(reverse("monitor-detail", args=[check.pk])).content.decode()
    assert "sekret-token" not in page and "hunter2" not in page
    assert "url-sekret" not in page and "region=eu&amp;access_token=********" in page
    listed = login(crew.viewer).get(reverse("monitor-list")).content.decode()
    assert "Private API" in listed and "url-sekret" not in listed
    heartbeat = make_check(
        org_a, "Nightly backup", check_type="heartbeat", config={"period_s": 3600}, locations=()
    )
    viewer_page = login(crew.viewer).get(reverse("monitor-detail", args=[heartbeat.pk]))
    assert heartbeat.heartbeat_token not in viewer_page.content.decode()  # the ping secret
    manager_page = login(crew.manager).get(reverse("monitor-detail", args=[heartbeat.pk]))
    assert heartbeat.heartbeat_token in manager_page.content.decode()


def test_names_and_reasons_are_escaped(login, crew, org_a):
    check = make_check(org_a, "<script>alert(1)</script>")
    record_results(
        [(check.pk, location("us-east").pk, result("down", "<img src=x onerror=alert(2)>", None))]
    )
    client = login(crew.viewer)
    for url in (reverse("monitor-list"), reverse("monitor-detail", args=[check.pk])):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
        assert "<img src=x" not in page


def test_pause_and_resume_are_idempotent_and_logged(login, crew, checks):
    web, _dns, _paused = checks
    client = login(crew.responder)
    url = reverse("monitor-act", args=[web.pk, "pause"])
    first = client.post(url, {"from": "list"}, headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert f'data-monitor="{web.pk}"' in first.content.decode()  # the row, for htmx to swap
    assert '<span class="state paused">Paused</span>' in first.content.decode()
    web.refresh_from_db()
    assert web.is_paused and web.state == "paused"  # the pause trigger set the state
    again = client.post(url, {"from": "list"}, headers={"HX-Request": "true"})
    assert "already paused" in again.content.decode()
    resumed = client.post(reverse("monitor-act", args=[web.pk, "resume"]), follow=True)
    assert resumed.redirect_chain[-1][0] == reverse("monitor-detail", args=[web.pk])
    web.refresh_from_db()
    assert not web.is_paused and web.state == "pending"
    logged = UserActivityLog.objects.filter(object_id=web.pk).values_list(
        "activity_type", flat=True
    )
    assert sorted(logged) == ["monitor_paused", "monitor_resumed"]


def test_run_now_queues_one_run_per_location_once(login, crew, org_a, queues):
    check = make_check(org_a, "Two regions", locations=("us-east", "eu-west"))
    client = login(crew.responder)
    url = reverse("monitor-act", args=[check.pk, "run"])
    response = client.post(url, follow=True)
    assert "from 2 location(s)" in next(str(m) for m in response.context["messages"])
    (east,) = queues("checks.us-east")
    (west,) = queues("checks.eu-west")
    assert east["headers"]["task"] == "monitoring.run_checks"
    assert json.loads(base64.b64decode(east["body"]))[0][1][0][0] == str(check.pk)
    assert west["headers"]["task"] == "monitoring.run_checks"
    # A double click queues nothing more.
    second = client.post(url, follow=True)
    assert "requested moments ago" in next(str(m) for m in second.context["messages"])
    assert len(queues("checks.us-east")) == 1
    assert UserActivityLog.objects.filter(activity_type="monitor_run_requested").count() == 1


def test_run_now_refuses_heartbeats_and_paused_checks(login, crew, org_a, checks, queues):
    _web, _dns, paused = checks
    heartbeat = make_check(
        org_a, "Cron", check_type="heartbeat", config={"period_s": 3600}, locations=()
    )
    client = login(crew.responder)
    for check, text in ((heartbeat, "runs when your job pings"), (paused, "is paused")):
        response = client.post(reverse("monitor-act", args=[check.pk, "run"]), follow=True)
        assert text in next(str(m) for m in response.context["messages"])
    assert queues("checks.us-east") == []


@pytest.mark.parametrize("action", ["pause", "resume", "run"])
def test_viewer_cannot_act(login, crew, checks, queues, action):
    web, _dns, paused = checks
    target = paused if action == "resume" else web
    response = login(crew.viewer).post(reverse("monitor-act", args=[target.pk, action]))
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_paused == (target == paused)
    assert queues("checks.us-east") == []
    assert not UserActivityLog.objects.filter(activity_type__startswith="monitor_").exists()


def test_csrf_less_post_is_refused(crew, checks):
    web, _dns, _paused = checks
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew.responder)
    response = client.post(reverse("monitor-act", args=[web.pk, "pause"]))
    assert response.status_code == 403
    web.refresh_from_db()
    assert not web.is_paused


def test_other_organizations_monitor_is_404(client, checks, org_b):
    web, _dns, _paused = checks
    outsider = member(org_b, "eve@globex.example", role="admin")
    client.force_login(outsider)
    assert client.get(reverse("monitor-detail", args=[web.pk])).status_code == 404
    for action in ("pause", "run"):
        assert client.post(reverse("monitor-act", args=[web.pk, action])).status_code == 404
    web.refresh_from_db()
    assert not web.is_paused
    assert "Web front" not in client.get(reverse("monitor-list")).content.decode()


def test_unknown_action_and_get_are_refused(login, crew, checks):
    web, _dns, _paused = checks
    client = login(crew.responder)
    assert client.post(reverse("monitor-act", args=[web.pk, "delete"])).status_code == 404
    assert client.get(reverse("monitor-act", args=[web.pk, "pause"])).status_code == 405
