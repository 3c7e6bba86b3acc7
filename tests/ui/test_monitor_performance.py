"""No N+1 on the monitor and status-page pages: query counts stay flat at 10,000 monitors.

Every request pays about 10 fixed queries (session, user, membership, RLS scope in and
out); the budgets are that plus each page's own. Timings belong in bench/, not here.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from monitoring.models import CheckResult, MonitoringCheck
from statuspages.models import Component, StatusPage
from tests.monitoring.factories import location, make_check


def many_monitors(org, count: int = 10_000, with_stats: int = 300) -> None:
    """``count`` HTTP monitors in seven states, and a day of hourly and a month of daily
    statistics for the first ``with_stats`` down ones (the first page shows problems first).
    Made by two INSERT ... SELECT statements: built as model instances they took ~30 s."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO monitoring_checks (organization_id, name, check_type, config, state,
                                           last_checked_at)
            SELECT %(org)s, 'Monitor ' || lpad(n::text, 5, '0'), 'http',
                   jsonb_build_object('url', 'https://site' || n || '.example/health'),
                   (ARRAY['up', 'up', 'up', 'degraded', 'down', 'unconfirmed_down',
                          'pending'])[n %% 7 + 1],
                   %(now)s
            FROM generate_series(0, %(count)s - 1) AS n
            """,
            {"org": org.pk, "now": timezone.now(), "count": count},
        )
        cursor.execute(
            """
            WITH down AS (
                SELECT id FROM monitoring_checks
                WHERE organization_id = %(org)s AND state = 'down' ORDER BY name LIMIT %(stats)s
            )
            INSERT INTO monitoring_statistics (organization_id, check_id, period, bucket_start,
                total_checks, up_checks, down_checks, response_count, response_sum_ms,
                avg_response_ms, p95_response_ms)
            SELECT %(org)s, down.id, 'hour', %(hour)s - h * interval '1 hour', 60, 59, 1, 59,
                   59 * 100, 100 + h, 180
            FROM down CROSS JOIN generate_series(0, 23) AS h
            UNION ALL
            SELECT %(org)s, down.id, 'day', %(day)s - d * interval '1 day', 1440, 1440, 0, 0, 0,
                   NULL, NULL
            FROM down CROSS JOIN generate_series(0, 29) AS d
            """,
            {"org": org.pk, "stats": with_stats, "hour": hour, "day": hour.replace(hour=0)},
        )


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
