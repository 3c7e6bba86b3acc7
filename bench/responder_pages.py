"""Server time of the responder's pages with 1,000 incidents and 10,000 monitors.

Issue 7 asks for pages under 200 ms of server time at 1,000 incidents and 10,000 monitors.
This builds an organization with 10,000 HTTP monitors, 24 hourly and 30 daily rollup rows
for each (540,000 ``monitoring_statistics`` rows), 3,000 raw results for one monitor, 20
status pages and 1,000 incidents opened through ``open_incident()`` (so with their timeline,
escalation and audit rows; a third acknowledged, a third resolved, one with 300 notes),
then times each page through the full Django stack (middleware, RLS scope,
templates) in-process, as a logged-in manager. Prints p50/p99 per page, and the p50 of this
process's CPU time per request (``*_cpu_p50_ms``): on a shared, loaded machine wall times
swing with the neighbours, CPU time much less, so compare those between runs.

Like ``alert24.wsgi`` at start-up, the bench freezes what is loaded before it measures
(``gc.freeze()``): otherwise a full garbage collection walking every long-lived object
lands in some request and is what its p99 shows.

``--only incident_detail`` times just the pages whose name contains that text (the data
is built anyway); ``--profile`` adds a cProfile of each timed page (top functions by
cumulative and own time) on stderr, to see where a slow page spends it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import figure, private_django

private_django()

import datetime as dt  # noqa: E402

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Organization, OrganizationMember, User  # noqa: E402
from incidents.models import Incident, IncidentUpdate  # noqa: E402
from monitoring.models import (  # noqa: E402
    CheckResult,
    CheckSchedule,
    MonitoringCheck,
    MonitoringLocation,
)
from statuspages.models import Component, StatusPage  # noqa: E402

MONITORS = 10_000
INCIDENTS = 1_000
ROUNDS = 30


def build() -> tuple[Client, MonitoringCheck, Incident]:
    organization = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user("bench@example.com", "bench-password-1", full_name="Bench")
    OrganizationMember.objects.create(organization=organization, user=user, role="manager")
    states = ["up"] * 6 + ["degraded", "down", "unconfirmed_down", "paused"]
    checks = MonitoringCheck.objects.bulk_create(
        [
            MonitoringCheck(
                id=uuid.uuid4(), organization=organization, name=f"Monitor {n:05}",
                check_type="http", config={"url": f"https://site{n}.example/health"},
                state=states[n % len(states)], last_checked_at=timezone.now(),
            )
            for n in range(MONITORS)
        ],
        batch_size=2000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO monitoring_statistics (organization_id, check_id, period, bucket_start,
                total_checks, up_checks, degraded_checks, down_checks, response_count,
                response_sum_ms, avg_response_ms, p95_response_ms)
            SELECT c.organization_id, c.id, 'hour',
                   date_trunc('hour', now()) - h * interval '1 hour',
                   60, 59, 0, 1, 59, 59 * (100 + h), 100 + h, 180
            FROM monitoring_checks c CROSS JOIN generate_series(0, 23) h
            WHERE c.organization_id = %s
            UNION ALL
            SELECT c.organization_id, c.id, 'day', date_trunc('day', now()) - d * interval '1 day',
                   1440, 1438, 0, 2, 1438, 1438 * 120, 120, 200
            FROM monitoring_checks c CROSS JOIN generate_series(0, 29) d
            WHERE c.organization_id = %s
            """,
            [organization.pk, organization.pk],
        )
    # Steady state, as on a running installation: vacuumed and analysed, so autovacuum of
    # the freshly loaded rows does not run during the measurement.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) monitoring_checks")
        cursor.execute("VACUUM (ANALYZE) monitoring_statistics")
    location, _ = MonitoringLocation.objects.get_or_create(
        code="us-east", defaults={"name": "US East", "queue": "checks.us-east"}
    )
    busy = checks[0]
    CheckSchedule.objects.create(monitor=busy, location=location)
    now = timezone.now()
    CheckResult.objects.bulk_create(
        [
            CheckResult(monitor=busy, location=location, status=0, response_time_ms=100 + n % 50,
                        checked_at=now - dt.timedelta(minutes=n))
            for n in range(3000)
        ],
        batch_size=1000,
    )  # fmt: skip
    for n in range(20):
        page = StatusPage.objects.create(
            organization=organization, name=f"Page {n}", slug=f"bench-page-{n}"
        )
        Component.objects.bulk_create(
            Component(organization=organization, status_page=page, name=f"C{c}", position=c)
            for c in range(10)
        )
    incident = open_incidents(organization, user)
    client = Client()
    client.force_login(user)
    return client, busy, incident


def open_incidents(organization: Organization, user: User) -> Incident:
    """1,000 incidents the way events open them; the last one gets a long timeline."""
    from tests.incidents.factories import policy, service

    svc = service(organization, policy(organization, [[user]]), name="Checkout")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (open_incident(%s, 'Bench incident ' || n, '', 'high', 'bench-' || n,"
            " 'events')).incident_id FROM generate_series(1, %s) n",
            [svc.pk, INCIDENTS],
        )
        ids = [row[0] for row in cursor.fetchall()]
    Incident.objects.filter(pk__in=ids[: INCIDENTS // 3]).update(status="acknowledged")
    Incident.objects.filter(pk__in=ids[INCIDENTS // 3 : 2 * INCIDENTS // 3]).update(
        status="resolved"
    )
    last = Incident.objects.get(pk=ids[-1])
    IncidentUpdate.objects.bulk_create(
        IncidentUpdate(organization=organization, incident=last, update_type="note",
                       message=f"Note {n}", user=user)
        for n in range(300)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) incidents")
        cursor.execute("VACUUM (ANALYZE) incident_updates")
    return last


def measure(client: Client, name: str, url: str, options: argparse.Namespace) -> None:
    if options.only and not any(part in name for part in options.only):
        return
    client.get(url)  # warm caches (templates, query plans)
    timings, cpu = [], []
    for _ in range(options.rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    figure(f"{name}_p50_ms", statistics.median(timings))
    figure(f"{name}_p99_ms", timings[min(len(timings) - 1, int(len(timings) * 0.99))])
    figure(f"{name}_cpu_p50_ms", statistics.median(cpu))
    if options.profile:
        profile(client, name, url, options.rounds)


def profile(client: Client, name: str, url: str, rounds: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        client.get(url)
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print(f"== {name}: {rounds} requests by {order}\n{out.getvalue()}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="time only pages whose name has this")
    parser.add_argument("--profile", action="store_true", help="cProfile each page (stderr)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="requests per page")
    options = parser.parse_args()
    client, busy, incident = build()
    get_resolver().url_patterns  # noqa: B018  (as alert24.wsgi: views imported, then frozen)
    gc.collect()
    gc.freeze()
    for name, url in [
        ("monitor_list", "/monitors/"),
        ("monitor_list_filtered", "/monitors/?state=up&q=site1&page=5"),
        ("monitor_list_last_page", f"/monitors/?page={MONITORS // 50}"),
        ("monitor_detail", f"/monitors/{busy.pk}/"),
        ("status_pages", "/status-pages/"),
        ("incident_list", "/incidents/"),
        ("incident_list_filtered", "/incidents/?status=resolved&q=incident+9"),
    ]:
        measure(client, name, url, options)
    typical = Incident.objects.exclude(pk=incident.pk).filter(status="triggered").first()
    measure(client, "incident_detail", f"/incidents/{typical.pk}/", options)
    measure(client, "incident_detail_300_notes", f"/incidents/{incident.pk}/", options)
    # The whole timeline on request (?timeline=all), and the publish form's component
    # selects for another status page (fetched when the responder picks that page).
    measure(
        client, "incident_detail_300_notes_all", f"/incidents/{incident.pk}/?timeline=all", options
    )
    page = StatusPage.objects.filter(organization_id=typical.organization_id).order_by("-name")[0]
    measure(
        client,
        "incident_publish_components",
        f"/incidents/{typical.pk}/status-page/components/?status_page={page.pk}",
        options,
    )
    measure(client, "oncall", "/oncall/", options)


if __name__ == "__main__":
    main()
