"""Monitors list: an (organization, state, name, id) index replaces (organization, state).

The list shows problems first, then by name; read one state at a time, each state's rows
come out of this index already in order, so no page sorts all of an organization's
monitors. The old index was a prefix of this one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0007_check_result_log"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="monitoringcheck", name="monitoring_checks_state_idx"),
        migrations.AddIndex(
            model_name="monitoringcheck",
            index=models.Index(
                fields=["organization", "state", "name", "id"], name="monitoring_checks_list_idx"
            ),
        ),
    ]
