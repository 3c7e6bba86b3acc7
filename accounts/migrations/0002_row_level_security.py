"""Puts the account tables under row-level security (see alert24/tenancy.py)."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("alert24", "0001_app_role"),
    ]
    operations = [
        organization_rls("team_groups"),
        organization_rls("team_memberships"),
        organization_rls("user_activity_log"),
        run_sql_file(SQL / "account_policies.sql"),
    ]
