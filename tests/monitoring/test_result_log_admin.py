"""Admin list of check results: filters, paging without counting, read-only, tenancy twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganizationMember
from accounts.roles import Role
from alert24.tenancy import organization_scope
from monitoring.models import CheckResult, CheckResultLog, ResultStatus

from .factories import location, make_check

LIST = reverse("admin:monitoring_checkresultlog_changelist")
NOW = timezone.now().replace(microsecond=123456)


def add_result(check, minutes_ago: float, status=ResultStatus.UP, reason=None, where="us-east"):
    return CheckResult.objects.create(
        monitor=check,
        checked_at=NOW - dt.timedelta(minutes=minutes_ago),
        location=location(where) if where else None,
        status=status,
        response_time_ms=40 if status != ResultStatus.DOWN else None,
        reason=reason,
    )


def shown(response) -> list[tuple[str, dt.datetime]]:
    """The listed results as (check name, checked at), in page order."""
    assert response.status_code == 200, response.status_code
    return [(row.check_name, row.checked_at) for row in response.context["cl"].result_list]


@pytest.fixture
def manager(make_user, org_a):
    """A manager of A: in admin by role, not a superuser, not even is_staff."""
    user = make_user("manager@acme.example")
    OrganizationMember.objects.create(organization=org_a, user=user, role=Role.MANAGER)
    return user


@pytest.fixture
def client_a(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def world(org_a, org_b):
    """Two checks of A with a few results each, one check of B failing loudly."""
    api = make_check(org_a, "API health")
    web = make_check(org_a, "Website")
    theirs = make_check(org_b, "Globex secret")
    add_result(api, 1)
    add_result(api, 2, ResultStatus.DOWN, "HTTP 503 from api.acme.test after 1.2 s <b>x</b>")
    add_result(api, 3, ResultStatus.DEGRADED, "slow response: HTTP 200 from api.acme.test")
    add_result(web, 1.5, where="eu-west")
    add_result(web, 60 * 30)  # 30 hours ago: outside the default window
    add_result(theirs, 0.5, ResultStatus.DOWN, "globex database password wrong")
    return api, web, theirs


def test_the_list_renders_newest_first_with_its_filters(client_a, world):
    api, _web, _theirs = world
    response = client_a.get(LIST)
    page = response.content.decode()
    for title in ("By check", "By location", "By status", "By time checked"):
        assert title in page
    rows = shown(response)
    assert [name for name, _ in rows] == ["API health", "Website", "API health", "API health"]
    assert [at for _, at in rows] == sorted((at for _, at in rows), reverse=True)
    # Each row: check (linked to its page), location, time, status, response time, HTTP
    # status and reason, escaped.
    assert reverse("admin:monitoring_monitoringcheck_change", args=[api.pk]) in page
    assert "EU West" in page and "Degraded" in page and "40 ms" in page
    assert '<td class="field-http_status">503</td>' in page
    assert "HTTP 503 from api.acme.test after 1.2 s &lt;b&gt;x&lt;/b&gt;" in page
    assert f"{(NOW - dt.timedelta(minutes=2)):%Y-%m-%d %H:%M:%S}" in page


def test_filter_by_check_shows_all_its_kept_results(client_a, world):
    _api, web, _theirs = world
    rows = shown(client_a.get(LIST, {"check": web.pk}))
    assert [name for name, _ in rows] == ["Website", "Website"]  # the 30-hour-old one too


def test_filter_by_status_location_and_heartbeat(client_a, world, org_a):
    down = shown(client_a.get(LIST, {"status__exact": ResultStatus.DOWN}))
    assert [name for name, _ in down] == ["API health"]
    east = location("eu-west").pk
    assert [n for n, _ in shown(client_a.get(LIST, {"location": east}))] == ["Website"]
    beat = make_check(
        org_a, "Nightly backup", check_type="heartbeat", config={"period_s": 3600}, locations=()
    )
    add_result(beat, 4, where=None)
    pushed = shown(client_a.get(LIST, {"location": "push"}))
    assert [name for name, _ in pushed] == ["Nightly backup"]
    assert "Heartbeat (pushed)" in client_a.get(LIST, {"location": "push"}).content.decode()


def test_filter_by_time_window_and_range(client_a, world):
    assert len(shown(client_a.get(LIST))) == 4  # default: the last 24 hours
    assert len(shown(client_a.get(LIST, {"checked": "all"}))) == 5
    assert len(shown(client_a.get(LIST, {"checked": "1h"}))) == 4
    start = NOW - dt.timedelta(minutes=2, seconds=30)
    end = NOW - dt.timedelta(minutes=1, seconds=10)
    ranged = client_a.get(
        LIST,
        {
            "checked_from": f"{start:%Y-%m-%dT%H:%M:%S}",
            "checked_to": f"{end:%Y-%m-%dT%H:%M:%S}",
        },
    )
    assert [name for name, _ in shown(ranged)] == ["Website", "API health"]
    assert f'value="{start:%Y-%m-%dT%H:%M:%S}"' in ranged.content.decode()  # kept


def test_search_by_error_text_and_check_name(client_a, world):
    by_reason = shown(client_a.get(LIST, {"q": "503"}))
    assert [name for name, _ in by_reason] == ["API health"]
    by_name = shown(client_a.get(LIST, {"q": "websi"}))
    assert [name for name, _ in by_name] == ["Website"]
    assert shown(client_a.get(LIST, {"q": "password"})) == []  # B's reason


@pytest.mark.parametrize(
    "params",
    [
        {"check": "not-a-uuid"},
        {"location": "x"},
        {"checked": "forever"},
        {"checked_from": "yesterday-ish"},
        {"check": "00000000-0000-0000-0000-000000000001", "p": "999"},
    ],
)
def test_bad_filter_values_are_refused_without_an_error(client_a, world, params):
    response = client_a.get(LIST, params)
    assert response.status_code == 302 and response.url.endswith("?e=1")  # Django's way


def test_other_organizations_results_are_never_shown(client, client_a, world, make_user, org_a):
    _api, _web, theirs = world
    everything = client_a.get(LIST, {"checked": "all"})
    assert "Globex" not in everything.content.decode()
    assert "password wrong" not in everything.content.decode()
    # Naming B's check in the filter finds nothing (and does not list it).
    guessed = client_a.get(LIST, {"check": theirs.pk, "checked": "all"})
    assert shown(guessed) == [] and "Globex secret" not in guessed.content.decode()
    # Opening B's result by its key: not found (admin redirects to its index).
    (row,) = CheckResultLog.objects.filter(monitor=theirs)
    response = client_a.get(reverse("admin:monitoring_checkresultlog_change", args=[row.pk]))
    assert response.status_code == 302
    # A superuser acting in A sees A only, too.
    root = make_user("root@example.com", is_staff=True, is_superuser=True)
    OrganizationMember.objects.create(organization=org_a, user=root, role=Role.ADMIN)
    client.force_login(root)
    assert "Globex" not in client.get(LIST, {"checked": "all"}).content.decode()


def test_row_level_security_applies_to_the_view(world, org_a, admin_a):
    api, web, theirs = world
    with organization_scope(org_a.pk, admin_a.pk), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT series_id FROM check_result_log")
        assert {series for (series,) in cursor.fetchall()} == {api.series_id, web.series_id}
        cursor.execute(
            "SELECT count(*) FROM check_result_log WHERE series_id = %s", [theirs.series_id]
        )
        assert cursor.fetchone() == (0,)
        # The app role may read the view, never write through it.
        cursor.execute(
            "SELECT privilege, has_table_privilege('check_result_log', privilege)"
            " FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) privilege"
        )
        assert dict(cursor.fetchall()) == {
            "SELECT": True,
            "INSERT": False,
            "UPDATE": False,
            "DELETE": False,
        }
        for statement in (
            "DELETE FROM check_result_log",
            "UPDATE check_result_log SET reason = 'x'",
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'check_result_log'")
        assert "security_invoker=true" in cursor.fetchone()[0]
    assert CheckResultLog.objects.filter(monitor=theirs).count() == 1  # still there


def test_nothing_can_be_added_changed_or_deleted(client_a, world):
    api, _web, _theirs = world
    (row, *_) = CheckResultLog.objects.filter(monitor=api)
    change = reverse("admin:monitoring_checkresultlog_change", args=[row.pk])
    view = client_a.get(change)
    assert view.status_code == 200 and 'name="reason"' not in view.content.decode()
    assert client_a.post(change, {"reason": "edited"}).status_code == 403
    assert client_a.get(reverse("admin:monitoring_checkresultlog_add")).status_code == 403
    delete = reverse("admin:monitoring_checkresultlog_delete", args=[row.pk])
    assert client_a.post(delete, {"post": "yes"}).status_code == 403
    page = client_a.get(LIST).content.decode()
    assert 'name="action"' not in page and "action-checkbox" not in page
    assert CheckResult.objects.filter(monitor=api).count() == 3


def test_check_page_links_to_its_results(client_a, world):
    api, _web, _theirs = world
    page = client_a.get(reverse("admin:monitoring_monitoringcheck_change", args=[api.pk]))
    link = f"{LIST}?check={api.pk}"
    assert f'href="{link}"' in page.content.decode()
    assert {name for name, _ in shown(client_a.get(link))} == {"API health"}


def results_for(check, count: int) -> None:
    CheckResult.objects.bulk_create(
        CheckResult(
            monitor=check,
            checked_at=NOW - dt.timedelta(minutes=n),
            location=location("us-east"),
            status=ResultStatus.UP,
            response_time_ms=30,
        )
        for n in range(count)
    )


def test_pages_newest_first_without_counting(client_a, org_a):
    check = make_check(org_a, "Busy")
    results_for(check, 105)
    with CaptureQueriesContext(connection) as queries:
        first = client_a.get(LIST, {"check": check.pk})
    assert len(shown(first)) == 100
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert 'rel="next"' in first.content.decode()
    second = client_a.get(LIST, {"check": check.pk, "p": 2})
    assert len(shown(second)) == 5 and shown(second)[0][1] < shown(first)[-1][1]
    assert 'rel="prev"' in second.content.decode() and 'rel="next"' not in second.content.decode()


def test_paging_through_dense_and_sparse_results_misses_nothing(client_a, org_a):
    """Pages read through growing windows still add up to the whole list, in order."""
    check = make_check(org_a, "Mixed")
    moments = [NOW - dt.timedelta(seconds=4 * n) for n in range(150)]  # the last 10 minutes
    moments += [NOW - dt.timedelta(hours=1 + 6 * n) for n in range(100)]  # 25 days
    CheckResult.objects.bulk_create(
        CheckResult(monitor=check, checked_at=at, status=ResultStatus.UP) for at in moments
    )
    listed = []
    for page in (1, 2, 3):
        listed += [at for _, at in shown(client_a.get(LIST, {"checked": "all", "p": page}))]
    assert listed == sorted(moments, reverse=True)


def test_query_count_does_not_grow_with_rows_or_checks(client_a, org_a):
    first = make_check(org_a, "First")
    results_for(first, 3)
    with CaptureQueriesContext(connection) as few:
        client_a.get(LIST)
    for n in range(10):
        results_for(make_check(org_a, f"Check {n}", locations=("eu-west",)), 9)
    with CaptureQueriesContext(connection) as many:
        assert len(shown(client_a.get(LIST))) == 93
    assert len(many) == len(few) <= 18, "\n".join(q["sql"][:150] for q in many)


def test_filtering_by_check_and_time_uses_the_results_key(org_a, admin_a):
    """The (series_id, checked_at) key alone yields the page in order: no scan, no sort.

    With sequential scans and sorts priced out, a plan without either exists only if the
    key serves both the filter and the order (at volume the planner picks it unprompted:
    ``bench/check_results_admin.py``).
    """
    check = make_check(org_a, "Keyed")
    results_for(check, 10)
    with organization_scope(org_a.pk, admin_a.pk), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = (
            CheckResultLog.objects.filter(organization_id=org_a.pk, monitor=check)
            .filter(checked_at__gte=NOW - dt.timedelta(days=2))
            .order_by("-checked_at", "-monitor_id")[:101]
            .explain()
        )
    assert "Seq Scan on check_results" not in plan, plan
    assert "check_results_p" in plan and "_pkey" in plan, plan
    assert "Sort  (" not in plan and "Bitmap" not in plan, plan


def test_every_view_the_app_role_reads_over_rls_tables_runs_as_the_reader(db, settings):
    """A view runs as its owner (who bypasses RLS) unless ``security_invoker`` is set."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT v.relname
            FROM pg_class v
            JOIN pg_namespace n ON n.oid = v.relnamespace AND n.nspname = 'public'
            JOIN pg_rewrite w ON w.ev_class = v.oid
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
            JOIN pg_class t ON t.oid = d.refobjid AND t.oid <> v.oid
            WHERE v.relkind = 'v' AND t.relrowsecurity
              AND has_table_privilege(%s, v.oid, 'SELECT')
              AND NOT coalesce('security_invoker=true' = ANY(v.reloptions), false)
            """,
            [settings.DATABASE_APP_ROLE],
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT to_regclass('check_result_log') IS NOT NULL")
        assert cursor.fetchone() == (True,)
