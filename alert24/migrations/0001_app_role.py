"""Creates the non-owner role requests run as, its grants, and the tenancy functions."""

from django.conf import settings
from django.db import migrations

from alert24.tenancy import SQL_DIR


def _sql() -> tuple[str, str]:
    role = settings.DATABASE_APP_ROLE
    forward, reverse = (SQL_DIR / "app_role.sql").read_text().split("-- reverse\n")
    return forward.replace("{role}", role), reverse.replace("{role}", role)


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunSQL(*_sql())]
