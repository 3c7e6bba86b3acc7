"""check_result_log: a view over check_results that Django admin can list (read-only).

The view is ``security_invoker``, so row-level security of check_results applies to it; the
app role may only SELECT from it (default privileges would also grant it writes). The model
is unmanaged: Django's state only, the view comes from the SQL file.
"""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"
ROLE = settings.DATABASE_APP_ROLE


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_partition_beat")]

    operations = [
        run_sql_file(SQL / "check_result_log_view.sql"),
        migrations.RunSQL(
            f"REVOKE ALL ON check_result_log FROM {ROLE};"
            f" GRANT SELECT ON check_result_log TO {ROLE};",
            migrations.RunSQL.noop,
        ),
        migrations.CreateModel(
            name="CheckResultLog",
            fields=[
                (
                    "id",
                    models.CharField(
                        editable=False, max_length=40, primary_key=True, serialize=False
                    ),
                ),
                ("check_uuid", models.UUIDField(db_column="check_id")),
                ("check_name", models.CharField(max_length=200, verbose_name="check")),
                ("checked_at", models.DateTimeField(verbose_name="checked at")),
                (
                    "status",
                    models.SmallIntegerField(choices=[(0, "Up"), (1, "Degraded"), (2, "Down")]),
                ),
                (
                    "response_time_ms",
                    models.IntegerField(null=True, verbose_name="response time (ms)"),
                ),
                ("reason", models.TextField(null=True)),
            ],
            options={
                "verbose_name": "check result",
                "verbose_name_plural": "check results",
                "db_table": "check_result_log",
                "ordering": ["-checked_at", "-monitor_id"],
                "managed": False,
            },
        ),
    ]
