"""check_results partitioned by day, keyed by (check series, time); one retention path.

monitoring_checks gets ``series_id`` (a small integer from a sequence) that check_results
stores instead of the check's uuid. The table itself is rebuilt by raw SQL (Django cannot
declare partitioned tables), its data carried over; Django's state follows in
``state_operations``. The reverse rebuilds the previous plain table with the data.
"""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

import monitoring.models
from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


def _engine_sql() -> migrations.RunSQL:
    """New record_check_results / refresh; the reverse restores the previous engine."""
    previous = (SQL / "monitoring_engine.sql").read_text().split("-- reverse\n")[0]
    return migrations.RunSQL((SQL / "check_results_engine.sql").read_text(), previous)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0004_check_statistics_view")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS monitoring_checks_series_id_seq AS integer",
            "DROP SEQUENCE IF EXISTS monitoring_checks_series_id_seq",
        ),
        migrations.AddField(
            model_name="monitoringcheck",
            name="series_id",
            field=models.IntegerField(
                db_default=monitoring.models._NextSeriesId(),
                editable=False,
                help_text="The check's number in check_results (4 bytes per row instead of 16).",
                unique=True,
            ),
        ),
        migrations.RunSQL(
            "ALTER SEQUENCE monitoring_checks_series_id_seq OWNED BY monitoring_checks.series_id",
            migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[run_sql_file(SQL / "check_results_partitioned.sql")],
            state_operations=[
                migrations.RemoveIndex(model_name="checkresult", name="check_results_check_idx"),
                migrations.RemoveField(model_name="checkresult", name="id"),
                migrations.AddField(
                    model_name="checkresult",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "monitor",
                        "checked_at",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                migrations.AlterField(
                    model_name="checkresult",
                    name="location",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="monitoring.monitoringlocation",
                    ),
                ),
                migrations.AlterField(
                    model_name="checkresult",
                    name="monitor",
                    field=models.ForeignKey(
                        db_column="series_id",
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="monitoring.monitoringcheck",
                        to_field="series_id",
                    ),
                ),
            ],
        ),
        _engine_sql(),
    ]
