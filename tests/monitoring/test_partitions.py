"""check_results by day: partitions ahead, a default for strays, whole days dropped, compaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from monitoring import partitions
from monitoring.engine import record_results
from monitoring.models import CheckResult

from .factories import location, make_check, result

NOW = dt.datetime.now(dt.UTC)


def partition_of(check, at: dt.datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM check_results"
            " WHERE series_id = %s AND checked_at = %s",
            [check.series_id, at],
        )
        return cursor.fetchone()[0]


def day_name(at: dt.datetime) -> str:
    return f"check_results_p{at:%Y%m%d}"


def leaf_partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relid::text FROM pg_partition_tree('check_results') WHERE isleaf")
        return {row[0] for row in cursor.fetchall()}


def test_the_coming_week_exists_and_creating_again_is_a_no_op(db):
    names = leaf_partitions()
    for days in range(-30, 8):
        assert day_name(NOW + dt.timedelta(days=days)) in names
    assert "check_results_default" in names
    assert partitions.create_partitions() == 0  # idempotent
    with connection.cursor() as cursor:
        cursor.execute("SELECT create_check_result_partitions(NULL, NULL)")
        assert cursor.fetchone()[0] == 0
    assert leaf_partitions() == names


def test_results_land_in_their_day_and_strays_in_the_default_partition(org_a):
    check = make_check(org_a)
    east = location("us-east").pk
    far = NOW + dt.timedelta(days=60)
    record_results([(check.pk, east, result("up", at=NOW)), (check.pk, east, result("up", at=far))])
    assert partition_of(check, NOW) == day_name(NOW)
    assert partition_of(check, far) == "check_results_default"  # never a failed insert

    # Creating that day later moves its rows out of the default partition.
    with connection.cursor() as cursor:
        cursor.execute("SELECT create_check_result_partitions(%s, %s)", [far, far])
        assert cursor.fetchone()[0] == 1
    assert partition_of(check, far) == day_name(far)
    assert CheckResult.objects.filter(monitor=check).count() == 2


def test_a_result_delivered_twice_is_stored_once(org_a):
    check = make_check(org_a)
    east = location("us-east").pk
    same = result("down", "HTTP 503", at=NOW)
    record_results([(check.pk, east, same)])
    record_results([(check.pk, east, same)])  # no unique violation, no second row
    assert CheckResult.objects.filter(monitor=check).count() == 1


def test_retention_drops_whole_old_days_and_keeps_the_rest(org_a):
    check = make_check(org_a)
    east = location("us-east").pk
    old = NOW - dt.timedelta(days=29, hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT create_check_result_partitions(%s, %s)",
            [NOW - dt.timedelta(days=40), NOW],
        )
    record_results(
        [
            (check.pk, east, result("up", at=NOW - dt.timedelta(days=35))),
            (check.pk, east, result("up", at=NOW - dt.timedelta(days=34))),
            (check.pk, east, result("up", at=old)),
            (check.pk, east, result("up", at=NOW)),
        ]
    )
    dropped = {day_name(NOW - dt.timedelta(days=d)) for d in (35, 34)}
    assert dropped <= leaf_partitions()
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, deleted FROM cleanup_old_data(30)")
        assert dict(cursor.fetchall())["check_results"] == 2
    assert not dropped & leaf_partitions()  # whole days gone, no row deletes
    assert day_name(old) in leaf_partitions()
    assert set(CheckResult.objects.values_list("checked_at", flat=True)) == {old, NOW}
    # Rollups outlive the raw results.
    assert check.series_id and check.pk  # the check itself is untouched
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM monitoring_statistics WHERE check_id = %s", [check.pk])
        assert cursor.fetchone()[0] == 8  # 4 hours + 4 days


def test_deleting_a_check_deletes_its_results_in_every_partition(org_a):
    check = make_check(org_a)
    keep = make_check(org_a, "Keep")
    east = location("us-east").pk
    record_results(
        [
            (check.pk, east, result("up", at=NOW - dt.timedelta(days=3))),
            (check.pk, east, result("up", at=NOW + dt.timedelta(days=90))),  # default
            (keep.pk, east, result("up", at=NOW)),
        ]
    )
    check.delete()
    assert list(CheckResult.objects.values_list("monitor_id", flat=True)) == [keep.series_id]


@pytest.mark.django_db(transaction=True)
def test_finished_days_are_compacted_concurrently(org_a):
    check = make_check(org_a)
    east = location("us-east").pk
    now = dt.datetime.now(dt.UTC)  # not the module's NOW: a run may cross midnight
    # The newest day that counts as finished (its end lies SETTLE in the past): yesterday,
    # or the day before in the first hours after midnight. Noon, so all 50 stay in it.
    assert partitions.SETTLE == "1 hour"
    finished = (now - dt.timedelta(hours=1, days=1)).date()
    yesterday = dt.datetime.combine(finished, dt.time(12), tzinfo=dt.UTC)
    record_results(
        [(check.pk, east, result("up", at=yesterday - dt.timedelta(seconds=n))) for n in range(50)]
    )
    compacted = partitions.compact_closed_partitions(limit=1)
    assert compacted == [f"{day_name(yesterday)}_pkey"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reloptions, i.indisvalid FROM pg_class c JOIN pg_index i"
            " ON i.indexrelid = c.oid WHERE c.oid = %s::regclass",
            [compacted[0]],
        )
        assert cursor.fetchone() == (["fillfactor=100"], True)
    # Still the key: the results of the check are read through it, newest first.
    newest = CheckResult.objects.filter(monitor=check).order_by("-checked_at")[:3]
    assert [r.checked_at for r in newest] == [yesterday - dt.timedelta(seconds=n) for n in range(3)]
    # Today is not finished; yesterday is done: the next run moves on to older days.
    assert day_name(now) + "_pkey" not in partitions.compact_closed_partitions(limit=40)
    assert compacted[0] not in partitions.compact_closed_partitions(limit=40)
