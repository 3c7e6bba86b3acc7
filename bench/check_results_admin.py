"""The admin's check results list at volume: server time of its pages, never counted.

Loads synthetic results for two organizations (a big one and a neighbour) over 30 days,
then requests the admin list as a manager of the big one, through Django's test client
(middleware, row-level security, templates included), and prints the median time of each
page: organization-wide with the default window (24 h), the last hour, 7 days, all kept
results; one check (all its results, a deep page, a day's range); failures only; a search.
Also prints the plans of the organization-wide and one-check queries.

The default is a quick 3 million results; ``--results 20000000`` is "tens of millions".
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import figure, private_django


def load(cursor, series: list[int], results: int, days: int) -> None:
    """Results day by day in time order, all checks interleaved, as workers write them."""
    per_check = results // len(series)
    step = days * 86400 / per_check
    per_day = -(-per_check // days)
    for day in range(days):
        first = day * per_day + 1
        last = min(per_check, first + per_day - 1)
        cursor.execute(
            """
            INSERT INTO check_results (series_id, location_id, checked_at, status,
                                       response_time_ms, reason)
            SELECT r.series, 1 + r.g %% 3, r.at, r.status,
                   CASE WHEN r.status = 0 THEN 20 + (random() * 200)::int END,
                   CASE WHEN r.status = 2 THEN 'HTTP 503 from 203.0.113.9 after 1.2 s' END
            FROM (SELECT c.series, g, now() - make_interval(secs => (%s - g) * %s) AS at,
                         CASE WHEN random() < 0.002 THEN 2 ELSE 0 END AS status
                  FROM generate_series(%s, %s) g, unnest(%s::integer[]) AS c(series)) r
            ORDER BY r.g
            """,
            [per_check, step, first, last, series],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=3_000_000)
    parser.add_argument("--checks", type=int, default=400, help="of the big organization")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    private_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from accounts.models import Organization, OrganizationMember, User
    from accounts.roles import Role
    from monitoring.models import MonitoringCheck, MonitoringLocation

    for code in ("us-east", "eu-west", "ap-south"):
        MonitoringLocation.objects.get_or_create(
            code=code, defaults={"name": code, "queue": f"checks.{code}"}
        )
    big = Organization.objects.create(name="Big", slug="big")
    small = Organization.objects.create(name="Neighbour", slug="neighbour")

    def checks(organization, count: int) -> list[MonitoringCheck]:
        return [
            MonitoringCheck.objects.create(
                organization=organization,
                name=f"{organization.slug} check {n}",
                check_type="tcp",
                config={"host": "127.0.0.1", "port": 80},
            )
            for n in range(count)
        ]

    ours = checks(big, args.checks)
    theirs = checks(small, max(1, args.checks // 4))
    series = list(
        MonitoringCheck.objects.filter(organization__in=[big, small]).values_list(
            "series_id", flat=True
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT create_check_result_partitions(now() - make_interval(days => %s), now())",
            [args.days + 1],
        )
        started = time.perf_counter()
        load(cursor, series, args.results, args.days)
        cursor.execute("ANALYZE check_results")
        cursor.execute("ANALYZE monitoring_checks")
        cursor.execute("SELECT count(*) FROM check_results")
        rows = cursor.fetchone()[0]
    print(f"loaded {rows} results in {time.perf_counter() - started:.1f} s", flush=True)

    manager = User.objects.create_user("manager@big.example", "bench password 1")
    OrganizationMember.objects.create(organization=big, user=manager, role=Role.MANAGER)
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
    client = Client(HTTP_HOST=host.lstrip("."))
    client.force_login(manager)

    one = ours[len(ours) // 2]
    yesterday = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 86400))
    day_before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 2 * 86400))
    pages = {
        "org_default_24h": {},
        "org_last_hour": {"checked": "1h"},
        "org_7_days": {"checked": "7d"},
        "org_down_24h": {"status__exact": "2"},
        "org_search_24h": {"q": "503"},
        "org_all_kept": {"checked": "all"},
        "check_all_kept": {"check": one.pk},
        "check_page_10": {"check": one.pk, "p": "10"},
        "check_one_day": {"check": one.pk, "checked_from": day_before, "checked_to": yesterday},
    }
    from alert24.tenancy import organization_scope
    from monitoring.models import CheckResultLog

    with organization_scope(big.pk, manager.pk):
        base = CheckResultLog.objects.filter(organization_id=big.pk)
        for name, queryset in {
            "organization, last 24 h": base.filter(
                checked_at__gte=time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400)
                )
            ),
            "one check, all kept": base.filter(monitor=one),
        }.items():
            plan = queryset.order_by("-checked_at", "-monitor_id")[:101].explain(
                analyze=True, buffers=True
            )
            lines = [line for line in plan.splitlines() if "->" in line or "Execution" in line]
            print(f"plan, {name}:\n  " + "\n  ".join(line[:150] for line in lines[:12]))
    url = "/admin/monitoring/checkresultlog/"
    client.get(url, {"checked": "1h"})  # imports and template loading, once
    sql_ms = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_ms[0] += (time.perf_counter() - started) * 1000

    for name, params in pages.items():
        timings, in_sql = [], []
        for _ in range(args.repeat):
            sql_ms[0] = 0.0
            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                response = client.get(url, params)
            timings.append((time.perf_counter() - started) * 1000)
            in_sql.append(sql_ms[0])
            assert response.status_code == 200, (name, response.status_code)
            page = response.content.decode()
            assert "neighbour check" not in page, name
        listed = page.count('class="field-checked"')
        figure(
            f"{name}_ms",
            statistics.median(timings),
            f"ms ({listed} rows; {statistics.median(in_sql):.1f} ms of it in SQL)",
        )

    print(f"(the neighbour has {len(theirs)} checks; none of its rows was listed)")


if __name__ == "__main__":
    main()
