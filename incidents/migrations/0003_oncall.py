"""On-call functions: who is on call for a schedule at a time, and the shifts in a window."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_row_level_security")]
    operations = [run_sql_file(SQL / "oncall.sql")]
