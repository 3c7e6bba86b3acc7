"""No N+1 on the monitor and status-page pages: query counts stay flat at 10,000 monitors.

Every request pays about 10 fixed queries (session, user, membership, RLS scope in and
out); the budgets are that plus each page's own. Timings belong in bench/, not here.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from monitoring.models import CheckResult, MonitoringCheck, MonitoringStatistic
from statuspages.models import Component, StatusPage
from tests.monitoring.factories import location, make_check


def many_monitors(org, count: int = 10_000, with_stats: int = 300) -> list[MonitoringCheck]:
    states = ["up", "up", "up", "degraded", "down", "unconfirmed_down", "pending"]
    checks = MonitoringCheck.objects.bulk_create(
        [
            MonitoringCheck(
                id=uuid.uuid4(),
                organization=org,
                name=f"Monitor {n:05}",
                check_type="http",
                config={"url": f"https://site{n}.example/health"},
                state=states[n % len(states)],
                last_checked_at=timezone.now(),
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    rows = []
    # The down ones: the first page shows problems first.
    for check in [c for c in checks if c.state == "down"][:with_stats]:
        for h in range(24):
            rows.append(
                MonitoringStatistic(
                    organization=org, monitor=check, period="hour",
                    bucket_start=hour - dt.timedelta(hours=h), total_checks=60, up_checks=59,
                    down_checks=1, response_count=59, response_sum_ms=59 * 100,
                    avg_response_ms=100 + h, p95_response_ms=180,
                )
            )  # fmt: skip
        for d in range(30):
            rows.append(
                MonitoringStatistic(
                    organization=org, monitor=check, period="day",
                    bucket_start=day - dt.timedelta(days=d), total_checks=1440, up_checks=1440,
                )
            )  # fmt: skip
    MonitoringStatistic.objects.bulk_create(rows, batch_size=5000)
    return checks


def test_monitor_list_with_10000_monitors(login, crew, org_a, django_assert_max_num_queries):
    many_monitors(org_a)
    client = login(crew.responder)
    # The page's own: state counts, the rows (one UNION ALL over the states the page spans),
    # the rollups of those rows; filtered, the filtered state counts besides.
    with django_assert_max_num_queries(14):
        response = client.get(reverse("monitor-list"))
    assert response.status_code == 200
    assert response.context["total"] == 10_000 and len(response.context["rows"]) == 50
    assert all(row.rollup.uptime_30d is not None for row in response.context["rows"])
    with django_assert_max_num_queries(14):
        spanning = client.get(reverse("monitor-list"), {"page": 29})  # down, unconfirmed
    assert {row.check.state for row in spanning.context["rows"]} == {"down", "unconfirmed_down"}
    with django_assert_max_num_queries(15):
        filtered = client.get(reverse("monitor-list"), {"state": "up", "q": "site1", "page": 3})
    assert filtered.status_code == 200 and len(filtered.context["rows"]) == 50


def test_a_page_of_one_state_comes_out_of_an_index_in_order(db, org_a):
    """No sort of the organization's monitors: the rows of a state are read in name order."""
    page = MonitoringCheck.objects.filter(organization=org_a, state="up").order_by("name", "id")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # a Sort left in the plan: no index fits
    plan = page[4000:4050].explain()
    assert "monitoring_checks_list_idx" in plan and "Sort" not in plan, plan


def test_monitor_detail_with_many_results(login, crew, org_a, django_assert_max_num_queries):
    check = make_check(org_a, "Busy", locations=("us-east", "eu-west"))
    east = location("us-east")
    now = timezone.now()
    CheckResult.objects.bulk_create(
        [
            CheckResult(monitor=check, location=east, checked_at=now - dt.timedelta(minutes=n),
                        status=2 if n % 7 == 0 else 0, response_time_ms=100 + n % 50,
                        reason="HTTP 500" if n % 7 == 0 else None)
            for n in range(3000)
        ],
        batch_size=1000,
    )  # fmt: skip
    client = login(crew.viewer)
    with django_assert_max_num_queries(17):
        response = client.get(reverse("monitor-detail", args=[check.pk]))
    assert response.status_code == 200 and len(response.context["results"]) == 50


def test_status_pages_list_with_many_pages(login, crew, org_a, django_assert_max_num_queries):
    for n in range(20):
        page = StatusPage.objects.create(organization=org_a, name=f"Page {n}", slug=f"page-{n}")
        Component.objects.bulk_create(
            [
                Component(organization=org_a, status_page=page, name=f"C{c}", position=c)
                for c in range(10)
            ]
        )
    client = login(crew.viewer)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("status-page-list"))
    assert len(response.context["rows"]) == 20


def test_incident_page_with_monitor_and_status_page_updates(
    login, crew, org_a, api, django_assert_max_num_queries
):
    from monitoring.engine import record_results
    from statuspages import services
    from tests.monitoring.factories import result
    from tests.statuspages.conftest import build_page

    check = make_check(org_a, "Checkout", service=api, failure_threshold=1)
    east = location("us-east").pk
    (outcome,) = record_results([(check.pk, east, result("down", "refused", None))])
    CheckResult.objects.bulk_create(
        [
            CheckResult(monitor=check, location_id=east, status=0, response_time_ms=90,
                        checked_at=timezone.now() - dt.timedelta(seconds=20 * n))
            for n in range(1, 500)
        ]
    )  # fmt: skip
    from incidents.models import Incident

    incident = Incident.objects.get(pk=outcome.incident_id)
    for n in range(3):
        setup = build_page(org_a, f"page-{n}")
        published = services.publish_incident(incident, setup.page, message="Looking")
        for m in range(20):
            services.post_update(published, status="identified", message=f"Update {m}")
    client = login(crew.responder)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("incident-detail", args=[incident.pk]))
    assert response.status_code == 200
    assert len(response.context["status_page_incidents"]) == 3
    assert all(len(entry.updates) == 21 for entry in response.context["status_page_incidents"])
    assert len(response.context["monitor_results"]) == 20
