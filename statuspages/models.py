"""Status pages: the Statuspage.io third of Alert24.

Table names follow the seed (``status_pages``, ``status_page_components``, ``subscribers``,
``status_page_incidents`` …). The rules that must hold whatever writes the rows — component
history, incidents turning components red and back, maintenance start/complete, uptime
rollups, subscriber notifications, the page's cache version — live in PostgreSQL
(``statuspages/sql/``), so raw SQL writers (monitoring, psql) get them too.
"""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Now

from accounts.validators import validate_time_zone
from alert24.tenancy import OrganizationScopedModel


class ComponentStatus(models.TextChoices):
    """Statuspage's five component statuses, best to worst except maintenance."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


CLOSED_INCIDENT_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)

validate_domain = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Enter a host name such as status.example.com (lower case, no scheme or path).",
)


def parse_ip_allow_list(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks from a comma/space/newline separated list; raises ValueError on a bad entry."""
    return [ipaddress.ip_network(item, strict=False) for item in text.replace(",", " ").split()]


class StatusPage(OrganizationScopedModel):
    """One public (or private) status page.

    ``content_version`` is bumped by triggers whenever anything shown on the page changes;
    it is the page's ETag and part of every cache key, so caches never need purging.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=63,
        unique=True,
        error_messages={"unique": "This address is taken: choose another slug."},
        help_text="The page lives at /status/<slug>/.",
    )
    description = models.TextField(blank=True, default="", db_default="")
    custom_domain = models.CharField(
        max_length=253,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_domain],
        error_messages={"unique": "Another status page already uses this domain."},
        help_text="e.g. status.example.com; the deployment must also allow it (ALLOWED_HOSTS).",
    )
    is_public = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Private pages need a logged-in member of the organization (or an allowed IP).",
    )
    allowed_ips = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Private pages: networks that may read without logging in (CIDR, one a line).",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", db_default="UTC", validators=[validate_time_zone]
    )
    support_url = models.URLField(blank=True, default="", db_default="")
    content_version = models.BigIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_pages"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=r"^[a-z0-9][a-z0-9-]*$"), name="status_pages_slug_format", violation_error_message="Use lower-case letters, digits and hyphens."),
            models.CheckConstraint(condition=Q(custom_domain=Lower("custom_domain")), name="status_pages_domain_lowercase"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.slug = (self.slug or "").strip().lower()
        if self.custom_domain:
            self.custom_domain = self.custom_domain.strip().lower().rstrip(".")
        else:
            self.custom_domain = None
        try:
            parse_ip_allow_list(self.allowed_ips)
        except ValueError as error:
            raise ValidationError({"allowed_ips": f"Not a network: {error}"}) from None

    def save(self, *args, **kwargs) -> None:
        self.slug = (self.slug or "").strip().lower()
        self.custom_domain = (self.custom_domain or "").strip().lower().rstrip(".") or None
        super().save(*args, **kwargs)


class ComponentGroup(OrganizationScopedModel):
    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    position = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_page_component_groups"
        ordering = ["status_page", "position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(OrganizationScopedModel):
    """A thing customers care about ("API", "EU web app"), with Statuspage's status.

    ``status`` is maintained by triggers from linked services' incidents, published
    incidents, the monitoring check and maintenance windows (worst wins); it can also be set
    by hand, until the next of those events recomputes it.
    """

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="components")
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(
        max_length=32,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
        db_default="operational",
    )
    position = models.IntegerField(default=0, db_default=0)
    showcase = models.BooleanField(default=True, db_default=True, help_text="Show uptime bars.")
    only_show_if_degraded = models.BooleanField(default=False, db_default=False)
    start_date = models.DateField(null=True, blank=True)
    services = models.ManyToManyField(
        "incidents.Service",
        through="ComponentService",
        related_name="status_components",
        blank=True,
    )
    # The monitoring app adds the foreign key to its checks table later.
    monitoring_check_id = models.UUIDField(null=True, blank=True, db_index=True)
    monitoring_status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, null=True, blank=True, editable=False,
        help_text="What the linked monitoring check last reported (NULL: nothing wrong).",
    )  # fmt: skip
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_page_components"
        ordering = ["status_page", "position", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ComponentStatus.values), name="status_page_components_status_valid"),
            models.CheckConstraint(condition=Q(monitoring_status__isnull=True) | Q(monitoring_status__in=ComponentStatus.values), name="status_page_components_monitoring_status_valid"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.group_id and self.group.status_page_id != self.status_page_id:
            raise ValidationError({"group": "Choose a group of the same status page."})


class ComponentService(OrganizationScopedModel):
    """An incident on ``service`` moves ``component`` (see statuspages/sql/wiring.sql)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("incidents.Service", on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "status_page_component_services"
        constraints = [
            models.UniqueConstraint(fields=["component", "service"], name="status_page_component_services_unique"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["service"], name="sp_component_services_svc_idx")]


class StatusPageIncident(OrganizationScopedModel):
    """What customers are told about an incident, with its timeline of updates."""

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="incidents")
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="status_page_incidents",
        help_text="The internal incident this was published from (never shown publicly).",
    )
    name = models.CharField(max_length=300)
    status = models.CharField(
        max_length=16,
        choices=IncidentStatus.choices,
        default=IncidentStatus.INVESTIGATING,
        db_default="investigating",
    )
    impact = models.CharField(
        max_length=16, choices=Impact.choices, default=Impact.MINOR, db_default="minor"
    )
    components = models.ManyToManyField(
        Component, through="StatusPageIncidentComponent", related_name="incidents", blank=True
    )
    postmortem_body = models.TextField(blank=True, default="", db_default="")
    started_at = models.DateTimeField(db_default=Now())
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_page_incidents"
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=IncidentStatus.values), name="status_page_incidents_status_valid"),
            models.CheckConstraint(condition=Q(impact__in=Impact.values), name="status_page_incidents_impact_valid"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["status_page", "-started_at"], name="sp_incidents_page_idx"),
            models.Index(fields=["status_page"], condition=~Q(status__in=["resolved", "postmortem"]), name="sp_incidents_open_idx"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_INCIDENT_STATUSES


class StatusPageIncidentComponent(OrganizationScopedModel):
    """A component an incident affects, and the status the incident holds it at."""

    status_page_incident = models.ForeignKey(
        StatusPageIncident, on_delete=models.CASCADE, related_name="affected"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.PARTIAL_OUTAGE
    )

    class Meta:
        db_table = "status_page_incident_components"
        constraints = [
            models.UniqueConstraint(fields=["status_page_incident", "component"], name="sp_incident_components_unique"),
            models.CheckConstraint(condition=Q(status__in=ComponentStatus.values), name="sp_incident_components_status_valid"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["component"], name="sp_incident_comp_idx")]


class StatusPageIncidentUpdate(OrganizationScopedModel):
    """One entry of an incident's public timeline; ``body`` is Markdown (sanitised on render).

    Inserting one sets the incident's status (trigger) and queues subscriber notifications.
    """

    status_page_incident = models.ForeignKey(
        StatusPageIncident, on_delete=models.CASCADE, related_name="updates"
    )
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    body = models.TextField()
    deliver_notifications = models.BooleanField(default=True, db_default=True)
    # Statuspage's affected_components: [{code, name, old_status, new_status}] at this update.
    affected_components = models.JSONField(default=list, blank=True, db_default=[])
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    display_at = models.DateTimeField(db_default=Now())
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_page_incident_updates"
        ordering = ["-display_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=IncidentStatus.values), name="sp_incident_updates_status_valid"),
        ]  # fmt: skip
        indexes = [
            models.Index(
                fields=["status_page_incident", "-display_at"], name="sp_updates_incident_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.body[:60]}"


class ComponentStatusHistory(OrganizationScopedModel):
    """Every status a component had, written by a trigger; the source of uptime."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="history")
    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="+")
    old_status = models.CharField(max_length=32, null=True, blank=True)
    new_status = models.CharField(max_length=32)
    reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "component_status_history"
        ordering = ["component", "changed_at"]
        verbose_name_plural = "component status history"
        indexes = [
            models.Index(fields=["component", "changed_at"], name="component_history_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.component_id}: {self.old_status} → {self.new_status}"


class UptimeCalculation(OrganizationScopedModel):
    """One component-day of uptime, maintained by ``calculate_all_component_uptime()``."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="uptime_days")
    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    uptime_percentage = models.DecimalField(max_digits=7, decimal_places=4)
    total_seconds = models.IntegerField(db_default=0)
    counted_seconds = models.IntegerField(
        db_default=0, help_text="total minus maintenance: the denominator"
    )
    downtime_seconds = models.DecimalField(max_digits=12, decimal_places=2, db_default=0)
    major_outage_seconds = models.IntegerField(db_default=0)
    partial_outage_seconds = models.IntegerField(db_default=0)
    degraded_seconds = models.IntegerField(db_default=0)
    maintenance_seconds = models.IntegerField(db_default=0)
    incident_count = models.IntegerField(db_default=0)
    calculated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "uptime_calculations"
        ordering = ["component", "date"]
        constraints = [
            models.UniqueConstraint(fields=["component", "date"], name="uptime_calculations_unique_day"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["status_page", "date"], name="uptime_page_date_idx")]


class Subscriber(OrganizationScopedModel):
    """Someone told about incidents and maintenance of a page (all, or some components)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        WEBHOOK = "webhook", "Webhook"

    status_page = models.ForeignKey(
        StatusPage, on_delete=models.CASCADE, related_name="subscribers"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="Address, phone number or URL.")
    components = models.ManyToManyField(
        Component, through="SubscriberComponent", related_name="subscribers", blank=True
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "subscribers"
        ordering = ["status_page", "channel", "target"]
        constraints = [
            models.UniqueConstraint("status_page", "channel", Lower("target"), name="subscribers_unique_target", violation_error_message="This address is already subscribed."),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms", "webhook"]), name="subscribers_channel_valid"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.channel}: {self.target}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class SubscriberComponent(OrganizationScopedModel):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "subscriber_components"
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "component"], name="subscriber_components_unique"),
        ]  # fmt: skip


class MaintenanceWindow(OrganizationScopedModel):
    """Planned work; ``process_maintenance_windows()`` starts and completes it on schedule."""

    status_page = models.ForeignKey(
        StatusPage, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(
        max_length=16,
        choices=MaintenanceStatus.choices,
        default=MaintenanceStatus.SCHEDULED,
        db_default="scheduled",
    )
    # Statuspage reports scheduled maintenances with impact "maintenance".
    impact = models.CharField(
        max_length=16,
        choices=[*Impact.choices, ("maintenance", "Maintenance")],
        default="maintenance",
        db_default="maintenance",
    )
    components = models.ManyToManyField(
        Component, through="MaintenanceComponent", related_name="maintenance_windows", blank=True
    )
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()
    auto_start = models.BooleanField(default=True, db_default=True)
    auto_complete = models.BooleanField(default=True, db_default=True)
    deliver_notifications = models.BooleanField(default=True, db_default=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "status_page_maintenance_windows"
        ordering = ["-scheduled_start"]
        constraints = [
            models.CheckConstraint(condition=Q(scheduled_end__gt=F("scheduled_start")), name="maintenance_windows_end_after_start", violation_error_message="A maintenance window must end after it starts."),
            models.CheckConstraint(condition=Q(status__in=MaintenanceStatus.values), name="maintenance_windows_status_valid"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["scheduled_start"], condition=Q(status="scheduled"), name="maintenance_due_start_idx"),
            models.Index(fields=["scheduled_end"], condition=Q(status__in=["in_progress", "verifying"]), name="maintenance_due_end_idx"),
            models.Index(fields=["status_page", "-scheduled_start"], name="maintenance_page_idx"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)

    def clean(self) -> None:
        super().clean()
        start, end = self.scheduled_start, self.scheduled_end
        if start and end and end <= start:
            raise ValidationError(
                {"scheduled_end": "A maintenance window must end after it starts."}
            )


class MaintenanceComponent(OrganizationScopedModel):
    maintenance_window = models.ForeignKey(
        MaintenanceWindow, on_delete=models.CASCADE, related_name="+"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "status_page_maintenance_components"
        constraints = [
            models.UniqueConstraint(fields=["maintenance_window", "component"], name="maintenance_components_unique"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["component"], name="maintenance_comp_idx")]


class SubscriberNotification(OrganizationScopedModel):
    """One message owed to one subscriber, queued by SQL triggers, delivered by Celery.

    Unique per (subscriber, update) and (subscriber, maintenance window, event), so a trigger
    firing twice or a retried task never tells anyone the same thing twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (channel not configured)"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="notifications"
    )
    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32)
    incident_update = models.ForeignKey(
        StatusPageIncidentUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    maintenance_window = models.ForeignKey(
        MaintenanceWindow, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_default="queued"
    )
    attempts = models.IntegerField(default=0, db_default=0)
    error = models.TextField(blank=True, default="", db_default="")
    provider_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "subscriber_notifications"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "incident_update"], condition=Q(incident_update__isnull=False), name="subscriber_notifications_once_per_update"),
            models.UniqueConstraint(fields=["subscriber", "maintenance_window", "event"], condition=Q(maintenance_window__isnull=False), name="subscriber_notifications_once_per_maintenance_event"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["created_at"], condition=Q(status="queued"), name="subscriber_notif_todo_idx"),
        ]  # fmt: skip


class StatusPageAnalytics(OrganizationScopedModel):
    """Views per page per day, flushed from Redis counters (no database write per view)."""

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    page_views = models.BigIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "status_page_analytics"
        ordering = ["status_page", "-date"]
        verbose_name_plural = "status page analytics"
        constraints = [
            models.UniqueConstraint(fields=["status_page", "date"], name="status_page_analytics_unique_day"),
        ]  # fmt: skip
