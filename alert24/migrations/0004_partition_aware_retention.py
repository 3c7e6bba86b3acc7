"""cleanup_old_data() drops whole time partitions (check_results) and trims the rollups.

Same signature, so ``SELECT cleanup_old_data();`` and the beat job are unchanged; the
reverse restores the row-deleting version. Tables are looked up at call time, so this
depends on no app's migrations.
"""

from django.db import migrations

from alert24.beat import periodic_task
from alert24.tenancy import SQL_DIR


def _sql() -> migrations.RunSQL:
    forward = (SQL_DIR / "data_lifecycle_partitions.sql").read_text().split("-- reverse\n")[0]
    previous = (SQL_DIR / "data_lifecycle.sql").read_text().split("-- reverse\n")[0]
    return migrations.RunSQL(forward, previous)


_describe = periodic_task(
    "Data retention",
    "alert24.cleanup_old_data",
    every=10,
    period="minutes",
    description=(
        "cleanup_old_data(): check results 30 d (whole daily partitions dropped), "
        "notification history 90 d, activity log 180 d, uptime calculations 1 y "
        "(RETENTION_* settings), monitoring rollups (hourly 90 d, daily 400 d); row deletes "
        "in short batches."
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("alert24", "0003_cleanup_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        _sql(),
        # Only the description changes; rolling back keeps the job (0003 owns it).
        migrations.RunPython(_describe.code, migrations.RunPython.noop),
    ]
