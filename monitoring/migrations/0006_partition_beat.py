"""Beat: create check_results partitions ahead; retention moves to cleanup_old_data().

The daily "Monitoring retention" job (cleanup_old_check_results) duplicated the data
retention job; cleanup_old_data() now drops old result partitions and old rollups itself.
"""

from django.db import migrations

from alert24.beat import periodic_task

_retention = periodic_task(
    "Monitoring retention",
    "monitoring.cleanup_results",
    every=1,
    period="days",
    queue="default",
    expire_seconds=3600,
    description=(
        "Daily: deletes check results older than 30 days (cleanup_old_check_results) and "
        "old hourly/daily statistics (cleanup_old_monitoring_statistics)."
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0005_check_results_partitioned"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        # Removing the old job; rolling back brings it back as it was.
        migrations.RunPython(_retention.reverse_code, _retention.code),
        periodic_task(
            "Check result partitions",
            "monitoring.create_result_partitions",
            every=1,
            period="hours",
            queue="default",
            expire_seconds=3600,
            description=(
                "Hourly: creates the daily check_results partitions for the coming 7 days "
                "(create_check_result_partitions), so results never wait for a new day's "
                "table, and rebuilds finished days' index packed (REINDEX CONCURRENTLY). "
                "Dropping old days is the data retention job's (cleanup_old_data)."
            ),
        ),
    ]
