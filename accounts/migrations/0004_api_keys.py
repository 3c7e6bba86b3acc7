"""API keys (hashed at rest, under RLS) and the SECURITY DEFINER credential look-ups."""

from pathlib import Path

import django.contrib.postgres.functions
import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apprise_contact_methods"),
        ("incidents", "0001_initial"),  # service_integrations, read by a SQL function
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        db_default=django.contrib.postgres.functions.RandomUUID(),
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("prefix", models.CharField(editable=False, max_length=16)),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                (
                    "scope",
                    models.CharField(
                        choices=[("read", "Read-only"), ("write", "Read-write")],
                        db_default="read",
                        default="read",
                        max_length=8,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), editable=False
                    ),
                ),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "verbose_name": "API key",
                "db_table": "api_keys",
                "ordering": ["organization", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("scope__in", ["read", "write"])),
                        name="api_keys_scope_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("key_hash__regex", "^[0-9a-f]{64}$")),
                        name="api_keys_hash_format",
                    ),
                ],
            },
        ),
        organization_rls("api_keys"),
        run_sql_file(SQL / "api_keys.sql"),
    ]
