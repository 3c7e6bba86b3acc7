"""Services, incidents and their timeline, escalation policies and on-call schedules.

Table names follow the seed (file 01): ``incidents``, ``incident_updates``,
``escalation_policies``, ``notification_rules``, ``on_call_schedules``,
``incident_escalations``; the rest (services, escalation rules and targets, schedule layers,
overrides, integrations) is what a PagerDuty user expects beside them. The rules that must
hold whatever writes the rows (status timestamps, audit, escalation start, one open
incident per dedup key) live in PostgreSQL: ``incidents/sql/``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Now

from accounts.validators import validate_time_zone
from alert24.tenancy import OrganizationScopedModel


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Info"


class Urgency(models.TextChoices):
    HIGH = "high", "High"
    LOW = "low", "Low"


class EscalationPolicy(OrganizationScopedModel):
    """Ordered escalation rules, repeated ``repeat_count`` extra times while unacknowledged.

    When the rules (and their repeats) are exhausted, the incident is handed to
    ``handoff_policy`` if one is set; a chain that leads back to itself is refused.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    repeat_count = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        validators=[MaxValueValidator(9)],
        help_text="How many more times to run the whole policy if nobody acknowledges (0-9).",
    )
    handoff_policy = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Policy that takes over once this one is exhausted.",
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "escalation_policies"
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="escalation_policies_unique_name",
                violation_error_message="An escalation policy with this name already exists.",
            ),
            models.CheckConstraint(
                condition=Q(repeat_count__lte=9), name="escalation_policies_repeat_count_range"
            ),
            models.CheckConstraint(
                condition=~Q(handoff_policy=F("id")), name="escalation_policies_no_self_handoff",
                violation_error_message="A policy cannot hand off to itself.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        seen = {self.pk}
        policy = self.handoff_policy
        while policy is not None:
            if policy.pk in seen:
                raise ValidationError(
                    {"handoff_policy": "This hand-off would loop back to the same policy."}
                )
            if policy.organization_id != self.organization_id:
                raise ValidationError({"handoff_policy": "Choose a policy of this organization."})
            seen.add(policy.pk)
            policy = policy.handoff_policy


class EscalationRule(OrganizationScopedModel):
    """One level of a policy: notify its targets, then wait ``delay_minutes`` to escalate."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(help_text="Level, starting at 0.")
    delay_minutes = models.PositiveIntegerField(
        default=30,
        db_default=30,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="Minutes before escalating to the next level if not acknowledged.",
    )

    class Meta:
        db_table = "escalation_rules"
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"], name="escalation_rules_unique_position",
                violation_error_message="Two levels of one policy cannot share a position.",
            ),
            models.CheckConstraint(
                condition=Q(delay_minutes__gte=1) & Q(delay_minutes__lte=1440),
                name="escalation_rules_delay_range",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.policy} level {self.position + 1}"


class EscalationTarget(OrganizationScopedModel):
    """Who a level notifies: a user, whoever is on call in a schedule, or a whole team."""

    class TargetType(models.TextChoices):
        USER = "user", "User"
        SCHEDULE = "schedule", "On-call schedule"
        TEAM = "team", "Team"

    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="targets")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(
        "OnCallSchedule", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.TeamGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        db_table = "escalation_rule_targets"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(target_type="user", user__isnull=False, schedule__isnull=True, team__isnull=True)
                    | Q(target_type="schedule", user__isnull=True, schedule__isnull=False, team__isnull=True)
                    | Q(target_type="team", user__isnull=True, schedule__isnull=True, team__isnull=False)
                ),
                name="escalation_rule_targets_one_target",
                violation_error_message="Choose exactly the one target its type names.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return str(self.user or self.schedule or self.team)

    def clean(self) -> None:
        super().clean()
        field = self.target_type
        chosen = {"user": self.user_id, "schedule": self.schedule_id, "team": self.team_id}
        if field in chosen and not chosen[field]:
            raise ValidationError({field: f"Choose the {field} to notify."})
        for other, value in chosen.items():
            if other != field and value:
                raise ValidationError({other: f"A {field} target cannot also name a {other}."})
        if self.schedule_id and self.schedule.organization_id != self.organization_id:
            raise ValidationError({"schedule": "Choose a schedule of this organization."})
        if self.team_id and self.team.organization_id != self.organization_id:
            raise ValidationError({"team": "Choose a team of this organization."})


class Service(OrganizationScopedModel):
    """What an incident is about, with PagerDuty's per-service incident settings."""

    class UrgencyRule(models.TextChoices):
        HIGH = "high", "Always high"
        LOW = "low", "Always low"
        SEVERITY = "severity_based", "By severity (critical/high → high, else low)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, db_default="active"
    )
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="services"
    )
    urgency_rule = models.CharField(
        max_length=16,
        choices=UrgencyRule.choices,
        default=UrgencyRule.HIGH,
        db_default="high",
    )
    acknowledgement_timeout = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=1800,
        db_default=1800,
        help_text="Seconds after which an acknowledged incident re-triggers (empty: never).",
    )
    auto_resolve_timeout = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=14400,
        db_default=14400,
        help_text="Seconds after which an open incident resolves itself (empty: never).",
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "services"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="services_unique_name",
                violation_error_message="A service with this name already exists.",
            ),
            models.CheckConstraint(
                condition=Q(acknowledgement_timeout__isnull=True) | Q(acknowledgement_timeout__gte=60),
                name="services_ack_timeout_min",
                violation_error_message="The acknowledgement timeout must be at least 60 seconds.",
            ),
            models.CheckConstraint(
                condition=Q(auto_resolve_timeout__isnull=True) | Q(auto_resolve_timeout__gte=60),
                name="services_auto_resolve_min",
                violation_error_message="The auto-resolve timeout must be at least 60 seconds.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.escalation_policy_id and (
            self.escalation_policy.organization_id != self.organization_id
        ):
            raise ValidationError({"escalation_policy": "Choose a policy of this organization."})


def new_integration_key() -> str:
    """32 characters, like PagerDuty's integration keys."""
    return secrets.token_hex(16)


class ServiceIntegration(OrganizationScopedModel):
    """A way events reach a service; its key is the Events API ``routing_key``."""

    class Kind(models.TextChoices):
        EVENTS_V2 = "events_v2", "Events API v2"
        ALERTMANAGER = "alertmanager", "Alertmanager webhook"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=200, default="Events API v2")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EVENTS_V2)
    integration_key = models.CharField(
        max_length=32, unique=True, default=new_integration_key, editable=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "service_integrations"
        constraints = [
            models.CheckConstraint(
                condition=Q(integration_key__regex=r"^[0-9a-zA-Z]{32}$"),
                name="service_integrations_key_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name}"


class OnCallSchedule(OrganizationScopedModel):
    """Layers of rotations, stacked by precedence, plus overrides; times in ``time_zone``."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    ical_token = models.CharField(
        max_length=64, unique=True, default=secrets.token_urlsafe, editable=False
    )
    handoff_notifications = models.BooleanField(
        default=False, db_default=False, help_text="Tell people when their shift starts."
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "on_call_schedules"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="on_call_schedules_unique_name",
                violation_error_message="A schedule with this name already exists.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name


class ScheduleLayer(OrganizationScopedModel):
    """A rotation: members take turns of ``rotation_length`` units from ``rotation_start``.

    Day and week turns hand off at the same local wall-clock time across DST changes; hour
    turns are exact elapsed hours. Higher ``position`` layers take precedence where they
    have someone on call.
    """

    class RotationUnit(models.TextChoices):
        HOURS = "hours", "Hours"
        DAYS = "days", "Days"
        WEEKS = "weeks", "Weeks"

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=200, default="Layer")
    position = models.PositiveSmallIntegerField(default=0, help_text="Higher layers win.")
    rotation_unit = models.CharField(
        max_length=8, choices=RotationUnit.choices, default=RotationUnit.WEEKS
    )
    rotation_length = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(8760)]
    )
    rotation_start = models.DateTimeField(
        help_text="First hand-off; later hand-offs keep its local time of day."
    )
    end_at = models.DateTimeField(null=True, blank=True, help_text="Layer ends (optional).")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ScheduleLayerMember", related_name="+"
    )

    class Meta:
        db_table = "schedule_layers"
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "position"], name="schedule_layers_unique_position",
                violation_error_message="Two layers of one schedule cannot share a position.",
            ),
            models.CheckConstraint(
                condition=Q(rotation_length__gte=1), name="schedule_layers_rotation_length_positive",
                violation_error_message="The rotation length must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(end_at__isnull=True) | Q(end_at__gt=F("rotation_start")),
                name="schedule_layers_end_after_start",
                violation_error_message="The layer must end after its rotation starts.",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    def clean(self) -> None:
        # The CHECK constraint's error names no field; say which one to fix.
        super().clean()
        if self.end_at and self.rotation_start and self.end_at <= self.rotation_start:
            raise ValidationError({"end_at": "The layer must end after its rotation starts."})


class ScheduleLayerMember(OrganizationScopedModel):
    layer = models.ForeignKey(ScheduleLayer, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "schedule_layer_members"
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "position"], name="schedule_layer_members_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.layer}"


class ScheduleRestriction(OrganizationScopedModel):
    """When a layer applies: daily (e.g. 09:00 for 8 h) or weekly (e.g. Mon 09:00 for 5 d)."""

    class Kind(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"

    layer = models.ForeignKey(ScheduleLayer, on_delete=models.CASCADE, related_name="restrictions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DAILY)
    start_day_of_week = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="ISO weekday 1 (Monday) to 7, for weekly restrictions."
    )
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField()

    class Meta:
        db_table = "schedule_restrictions"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="daily") & Q(duration_minutes__gt=0) & Q(duration_minutes__lte=1440))
                | (Q(kind="weekly") & Q(start_day_of_week__gte=1) & Q(start_day_of_week__lte=7)
                   & Q(duration_minutes__gt=0) & Q(duration_minutes__lte=10080)),
                name="schedule_restrictions_valid",
                violation_error_message=(
                    "Daily restrictions last up to 24 h; weekly ones need a weekday and last up to 7 days."
                ),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.start_time:%H:%M}"

    def clean(self) -> None:
        # A weekly restriction without a weekday passes the CHECK constraint (NULL is not
        # false) yet never applies; name the field to fill in.
        super().clean()
        if self.kind == self.Kind.WEEKLY and self.start_day_of_week is None:
            raise ValidationError(
                {"start_day_of_week": "A weekly restriction needs the weekday it starts on."}
            )


class ScheduleOverride(OrganizationScopedModel):
    """Someone covers a window of a schedule, on top of every layer."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "schedule_overrides"
        ordering = ["schedule", "start_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="schedule_overrides_end_after_start",
                violation_error_message="An override must end after it starts.",
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["schedule", "start_at", "end_at"], name="overrides_window_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user} covers {self.schedule} {self.start_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        # The CHECK constraint's error names no field; say which one to fix.
        super().clean()
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValidationError({"end_at": "An override must end after it starts."})


class NotificationRule(OrganizationScopedModel):
    """A person's rule for being told: 'high urgency, after 5 minutes, call my phone'."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    contact_method = models.ForeignKey(
        "accounts.UserContactMethod", on_delete=models.CASCADE, related_name="rules"
    )
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.HIGH)
    start_delay_minutes = models.PositiveIntegerField(
        default=0, db_default=0, validators=[MaxValueValidator(1440)]
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "notification_rules"
        ordering = ["user", "urgency", "start_delay_minutes"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "contact_method", "urgency", "start_delay_minutes"],
                name="notification_rules_unique",
                violation_error_message="This notification rule already exists.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.user}: {self.urgency} +{self.start_delay_minutes} min → {self.contact_method}"
        )

    def clean(self) -> None:
        super().clean()
        if self.contact_method_id and self.contact_method.user_id != self.user_id:
            raise ValidationError({"contact_method": "Choose one of the user's contact methods."})


class Incident(OrganizationScopedModel):
    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    # Every index on this table is written for each incident opened by an event, so none
    # repeats another: foreign keys covered by a composite index (organization, service,
    # policy) take no index of their own, and the user/merge columns, empty on nearly all
    # rows, have partial indexes (enough for the ON DELETE lookups).
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        MONITORING = "monitoring", "Monitoring"
        EVENTS = "events", "Events API"
        ALERTMANAGER = "alertmanager", "Alertmanager"

    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        db_index=False,
    )
    title = models.CharField(max_length=1024)
    description = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRIGGERED, db_default="triggered"
    )
    severity = models.CharField(
        max_length=16, choices=Severity.choices, default=Severity.HIGH, db_default="high"
    )
    urgency = models.CharField(
        max_length=8, choices=Urgency.choices, default=Urgency.HIGH, db_default="high"
    )
    priority = models.CharField(
        max_length=2,
        blank=True,
        default="",
        db_default="",
        choices=[
            ("", "None"),
            ("P1", "P1"),
            ("P2", "P2"),
            ("P3", "P3"),
            ("P4", "P4"),
            ("P5", "P5"),
        ],
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.MANUAL, db_default="manual"
    )
    dedup_key = models.CharField(max_length=255, null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, db_default={})
    escalation_policy = models.ForeignKey(
        EscalationPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="IncidentAssignment",
        through_fields=("incident", "user"),
        related_name="assigned_incidents",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_column="created_by",  # the seed's name: its verbatim INSERT uses it
        db_index=False,
    )
    triggered_at = models.DateTimeField(db_default=Now())
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_incidents",
        db_index=False,
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "incidents"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["triggered", "acknowledged", "resolved"]),
                name="incidents_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="incidents_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(urgency__in=Urgency.values), name="incidents_urgency_valid"
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="incidents_not_merged_into_self"
            ),
            # One open incident per dedup key per service: events and alerts dedup into it.
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=Q(dedup_key__isnull=False) & ~Q(status="resolved"),
                name="incidents_one_open_per_dedup_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "-created_at"],
                condition=~Q(status="resolved"),
                name="incidents_open_by_org_idx",
            ),
            models.Index(
                fields=["acknowledged_at"],
                condition=Q(status="acknowledged"),
                name="incidents_acknowledged_idx",
            ),
            models.Index(
                fields=["triggered_at"],
                condition=~Q(status="resolved"),
                name="incidents_open_age_idx",
            ),
            models.Index(fields=["organization", "-created_at"], name="incidents_org_created_idx"),
            models.Index(fields=["service", "-created_at"], name="incidents_service_idx"),
            models.Index(fields=["escalation_policy"], name="incidents_policy_idx"),
            *(
                models.Index(
                    fields=[column],
                    condition=Q(**{f"{column}__isnull": False}),
                    name=f"incidents_{column}_idx",
                )
                for column in ("merged_into", "created_by", "acknowledged_by", "resolved_by")
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED


class IncidentAssignment(OrganizationScopedModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "incident_assignments"
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="incident_assignments_unique")
        ]


class IncidentUpdate(OrganizationScopedModel):
    """The incident's timeline: every status change, note, escalation and notification."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        STATUS_CHANGE = "status_change", "Status change"
        NOTE = "note", "Note"
        ESCALATION = "escalation", "Escalation"
        NOTIFICATION = "notification", "Notification"
        ASSIGNMENT = "assignment", "Assignment"
        MERGE = "merge", "Merge"
        SEVERITY = "severity_change", "Severity change"
        DEDUP = "dedup", "Duplicate event"

    # Indexed by the timeline index (incident, created_at); user by a partial index.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", db_index=False
    )
    update_type = models.CharField(max_length=24, choices=Kind.choices)
    message = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(max_length=16, blank=True, default="", db_default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    metadata = models.JSONField(default=dict, blank=True, db_default={})
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "incident_updates"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="incident_updates_timeline_idx"),
            models.Index(
                fields=["user"], condition=Q(user__isnull=False), name="incident_updates_user_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_update_type_display()}: {self.message[:60]}"


class IncidentEscalation(OrganizationScopedModel):
    """Where an incident's escalation stands; the sweep advances rows that are due.

    ``policy_snapshot`` is the policy as it was when the escalation started, so editing a
    policy never changes pages already in flight.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed (acknowledged or resolved)"
        EXHAUSTED = "exhausted", "Exhausted (nobody acknowledged)"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # indexed by escalations_policy_idx
    policy_snapshot = models.JSONField(default=dict, db_default={})
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_default="pending"
    )
    current_level = models.PositiveSmallIntegerField(default=0, db_default=0)
    repetition = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Which run of the policy (0 = first; see repeat_count)."
    )
    cycle = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Bumped when the escalation restarts (re-trigger)."
    )
    handoffs = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_escalation_at = models.DateTimeField(db_default=Now())
    last_escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "incident_escalations"
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(status="pending"),
                name="escalations_due_idx",
            ),
            models.Index(fields=["escalation_policy"], name="escalations_policy_idx"),
        ]


class IncidentNotification(OrganizationScopedModel):
    """One page the escalation engine owes a person: unique per (incident, user, step).

    The sweep inserts these with ON CONFLICT DO NOTHING, so concurrent sweeps cannot page
    anyone twice; delivery (channels, retries, history) works from them.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DISPATCHED = "dispatched", "Handed to delivery"
        DONE = "done", "Delivered or recorded"
        CANCELLED = "cancelled", "Cancelled (acknowledged before delivery)"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cycle = models.IntegerField(default=0, db_default=0)
    escalation_level = models.SmallIntegerField(default=0, db_default=0)
    repetition = models.SmallIntegerField(default=0, db_default=0)
    reason = models.CharField(max_length=32, default="escalation", db_default="escalation")
    urgency = models.CharField(max_length=8, default="high", db_default="high")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_default="queued"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "incident_notifications"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "user", "reason", "cycle", "escalation_level", "repetition"],
                name="incident_notifications_once_per_step",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["queued", "dispatched"]),
                name="notifications_todo_idx",
            ),
            models.Index(fields=["user"], name="notifications_user_idx"),
        ]


class NotificationHistory(OrganizationScopedModel):
    """One delivery attempt to one target on one channel, kept whatever happened.

    ``idempotency_key`` makes a page a single row however often delivery is retried or a
    task is redelivered; the ``sending`` status is claimed and committed before the provider
    is called, so a worker killed mid-call never causes a second SMS (see delivery.py).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (not configured or no contact method)"
        CANCELLED = "cancelled", "Cancelled (acknowledged or resolved first)"

    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    page = models.ForeignKey(
        IncidentNotification,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_method = models.ForeignKey(
        "accounts.UserContactMethod",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(max_length=16)
    target = models.CharField(max_length=500, blank=True, default="", db_default="")
    subject = models.CharField(
        max_length=500,
        blank=True,
        default="",
        db_default="",
        help_text="What a notification that is not about an incident says (hand-offs, tests).",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_default="queued"
    )
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    error = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "notification_history"
        ordering = ["-created_at"]
        verbose_name_plural = "notification history"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "delivered", "failed", "skipped", "cancelled"]),
                name="notification_history_status_valid",
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="notification_history_due_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="notif_history_sending_idx",
            ),
            models.Index(fields=["incident", "created_at"], name="notif_history_incident_idx"),
            models.Index(fields=["organization", "created_at"], name="notif_history_org_idx"),
            models.Index(fields=["page"], name="notif_history_page_idx"),
            models.Index(fields=["user"], name="notif_history_user_idx"),
            models.Index(fields=["target", "-created_at"], name="notif_history_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.status}"


class InboxEvent(OrganizationScopedModel):
    """An accepted Events API event waiting to be applied (see ``sql/event_inbox.sql``).

    The row is what makes the 202 durable; applying deletes it in the same transaction, so
    the inbox is normally empty a moment after a burst. What stays is an event that failed
    to apply: retried, and after five attempts kept with ``failed_at`` and the error.
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign key constraint: its check takes a share lock on the organization's row
    # for every accepted event, and concurrent accepts then contend on that one row. An
    # organization deleted while its events wait loses its integrations too, so the
    # applier finds no key for them and drops them, as it would any event for a deleted
    # integration.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    integration_key = models.CharField(max_length=32)
    action = models.CharField(max_length=16)
    dedup_key = models.CharField(max_length=255, null=True, blank=True)
    title = models.TextField(blank=True, default="", db_default="")
    severity = models.CharField(max_length=16, blank=True, default="", db_default="")
    details = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()))
    reason = models.CharField(max_length=200, null=True, blank=True)
    received_at = models.DateTimeField(db_default=Now(), editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    error = models.TextField(blank=True, default="", db_default="")
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "event_inbox"
        ordering = ["id"]
        verbose_name = "inbox event"
        # The applier reads the oldest waiting events by primary key. No organization
        # index: one more entry per accepted event, for admin lists over a table that is
        # empty most of the time.

    def __str__(self) -> str:
        return f"{self.action} {self.dedup_key or ''} ({self.received_at:%Y-%m-%d %H:%M:%S})"
