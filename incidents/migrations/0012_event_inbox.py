"""The Events API inbox (sql/event_inbox.sql), under RLS, with beat as its safety net."""

from pathlib import Path

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

from alert24.beat import periodic_task
from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_lean_event_indexes"),
        ("incidents", "0011_lean_event_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="InboxEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("integration_key", models.CharField(max_length=32)),
                ("action", models.CharField(max_length=16)),
                ("dedup_key", models.CharField(blank=True, max_length=255, null=True)),
                ("title", models.TextField(blank=True, db_default="", default="")),
                (
                    "severity",
                    models.CharField(blank=True, db_default="", default="", max_length=16),
                ),
                (
                    "details",
                    models.JSONField(db_default=models.Value({}, models.JSONField()), default=dict),
                ),
                ("reason", models.CharField(blank=True, max_length=200, null=True)),
                (
                    "received_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), editable=False
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(db_default=0, default=0)),
                ("error", models.TextField(blank=True, db_default="", default="")),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "verbose_name": "inbox event",
                "db_table": "event_inbox",
                "ordering": ["id"],
            },
        ),
        organization_rls("event_inbox"),
        run_sql_file(SQL / "event_inbox.sql"),
        periodic_task(
            "Apply waiting events",
            "incidents.apply_event_inbox",
            every=30,
            period="seconds",
            expire_seconds=60,
            description=(
                "Safety net: applies Events API events still waiting in the inbox (normally "
                "the web process that accepted an event applies it within milliseconds)."
            ),
        ),
    ]
