"""Event-path tables keep one index per purpose (see sql/lean_event_indexes.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_lean_event_indexes"),
        ("incidents", "0010_events_ingest"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The foreign keys lose their own index (db_index=False) without being dropped and
        # re-added, as AlterField would do (a full-table check under lock).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="incident",
                    name="acknowledged_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="created_by",
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="escalation_policy",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="incidents.escalationpolicy",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="merged_into",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="merged_incidents",
                        to="incidents.incident",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="resolved_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="service",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="incidents.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="incidentescalation",
                    name="escalation_policy",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="incidents.escalationpolicy",
                    ),
                ),
                migrations.AlterField(
                    model_name="incidentupdate",
                    name="incident",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="updates",
                        to="incidents.incident",
                    ),
                ),
                migrations.AlterField(
                    model_name="incidentupdate",
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
            model_name="incident",
            name="incidents_merged_into_idx",
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="incidents_merged_into_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("created_by__isnull", False)),
                fields=["created_by"],
                name="incidents_created_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("acknowledged_by__isnull", False)),
                fields=["acknowledged_by"],
                name="incidents_acknowledged_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("resolved_by__isnull", False)),
                fields=["resolved_by"],
                name="incidents_resolved_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="incidentupdate",
            index=models.Index(
                condition=models.Q(("user__isnull", False)),
                fields=["user"],
                name="incident_updates_user_idx",
            ),
        ),
    ]
