"""REST API for incident response: incidents, services, escalation policies, schedules."""
