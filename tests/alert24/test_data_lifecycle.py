"""Retention deletes only what is old, in bounded batches, on any database state."""

import datetime as dt

from django.db import connection

from accounts.models import UserActivityLog
from alert24.tasks import cleanup_old_data


def test_cleanup_deletes_old_rows_in_batches_and_keeps_recent(org_a):
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    UserActivityLog.objects.bulk_create(
        UserActivityLog(organization=org_a, activity_type="old") for _ in range(25)
    )
    UserActivityLog.objects.update(created_at=old)
    UserActivityLog.objects.create(organization=org_a, activity_type="recent")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT deleted FROM cleanup_old_data(batch_size => 10, max_batches => 2)"
            " WHERE table_name = 'user_activity_log'"
        )
        assert cursor.fetchone()[0] == 20  # bounded: two batches of ten
    assert cleanup_old_data()["user_activity_log"] == 5
    assert list(UserActivityLog.objects.values_list("activity_type", flat=True)) == ["recent"]


def test_cleanup_with_nulls_and_on_an_empty_database(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(deleted) FROM cleanup_old_data(NULL, NULL, NULL, NULL, NULL)")
        assert cursor.fetchone()[0] == 0
