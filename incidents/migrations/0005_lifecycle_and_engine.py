"""Incident lifecycle triggers and the escalation engine (incidents/sql/)."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_escalation_state"), ("accounts", "0002_row_level_security")]
    operations = [
        run_sql_file(SQL / "incident_lifecycle.sql"),
        run_sql_file(SQL / "escalation_engine.sql"),
    ]
