"""Puts every incident-management table under organization row-level security."""

from django.db import migrations

from alert24.tenancy import organization_rls

TABLES = [
    "escalation_policies",
    "escalation_rules",
    "escalation_rule_targets",
    "services",
    "service_integrations",
    "on_call_schedules",
    "schedule_layers",
    "schedule_layer_members",
    "schedule_restrictions",
    "schedule_overrides",
    "notification_rules",
    "incidents",
    "incident_assignments",
    "incident_updates",
    "incident_escalations",
    "incident_notifications",
]


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial"), ("alert24", "0001_app_role")]
    operations = [organization_rls(table) for table in TABLES]
