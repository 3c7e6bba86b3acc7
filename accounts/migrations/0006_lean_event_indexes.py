"""Event-path tables keep one index per purpose (see sql/lean_event_indexes.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_two_factor"),
    ]

    operations = [
        # The foreign keys lose their own index (db_index=False) without being dropped and
        # re-added, as AlterField would do (a full-table check under lock).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="useractivitylog",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="useractivitylog",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[run_sql_file(SQL / "lean_event_indexes.sql")],
        ),
        migrations.RemoveIndex(
            model_name="useractivitylog",
            name="activity_log_user_idx",
        ),
        migrations.AddIndex(
            model_name="useractivitylog",
            index=models.Index(
                condition=models.Q(("user__isnull", False)),
                fields=["user"],
                name="activity_log_user_idx",
            ),
        ),
    ]
