"""Retention (cleanup_old_data) and the seed's schema check (validate_schema_integrity).

Both are written to run on any database state (tables are looked up at call time), so
this migration depends on nothing but the tenancy functions.
"""

from django.db import migrations

from alert24.tenancy import SQL_DIR, run_sql_file


class Migration(migrations.Migration):
    dependencies = [("alert24", "0001_app_role")]
    operations = [
        run_sql_file(SQL_DIR / "data_lifecycle.sql"),
        run_sql_file(SQL_DIR / "schema_integrity.sql"),
    ]
