"""Monitoring: locations, checks, their schedules and results, alerts and statistics.

Table names follow the seed (file 02): ``monitoring_locations``, ``monitoring_checks``,
``check_results``, ``check_schedules``, ``monitoring_alerts``, ``monitoring_statistics``.
What must hold whatever writes the rows — the schedule phase, the confirmation state
machine, one open alert per check, statistics rollups, retention — lives in PostgreSQL
(``monitoring/sql/``); Python runs the checks and shows the results.

``check_results`` is the volume table (one row per check run per location): partitioned by
day, and narrow — the check as its 4-byte ``series_id`` instead of its 16-byte uuid, no
organization column (row-level security goes through the check), smallint location and
status, a reason only on failures — so a stored result costs under 100 bytes with its index
(``bench/retention_and_rollups.py``). Deleting a check deletes its results and statistics in
the database (``ON DELETE CASCADE``), never row by row in Python.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Lower, Now

from alert24.tenancy import OrganizationScopedModel
from incidents.models import Severity
from monitoring.checks.config import (
    CHECK_TYPES,
    MAX_INTERVAL_S,
    MAX_TIMEOUT_S,
    MIN_INTERVAL_S,
    validate_check_config,
)


def new_heartbeat_token() -> str:
    """32 URL-safe characters (192 random bits): the secret part of ``/hb/<token>``."""
    return secrets.token_urlsafe(24)


class _RandomToken(Func):
    """Database default for raw SQL inserts: 32 hex characters from a random UUID."""

    template = "replace(gen_random_uuid()::text, '-', '')"
    output_field = models.CharField()


class _NextSeriesId(Func):
    """Database default: the next check number from ``monitoring_checks_series_id_seq``."""

    template = "nextval('monitoring_checks_series_id_seq')"
    output_field = models.IntegerField()


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class MonitoringLocation(models.Model):
    """A region checks run from; each has its own Celery queue, served by workers there.

    Global (not organization-scoped): every organization picks from the same regions.
    """

    id = models.SmallAutoField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, default="", db_default="")
    queue = models.CharField(max_length=64, unique=True, help_text="Celery queue, checks.<code>")
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "monitoring_locations"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(queue__regex=r"^checks\.[a-z0-9-]+$"),
                name="monitoring_locations_queue_format",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CheckType(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    KEYWORD = "keyword", "HTTP keyword"
    SSL = "ssl", "SSL certificate"
    TCP = "tcp", "TCP port"
    PING = "ping", "Ping"
    DNS = "dns", "DNS record"
    HEARTBEAT = "heartbeat", "Heartbeat (push)"


assert tuple(CheckType.values) == CHECK_TYPES, "one list of check types"


class CheckState(models.TextChoices):
    PENDING = "pending", "Pending (no result yet)"
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    UNCONFIRMED_DOWN = "unconfirmed_down", "Unconfirmed down"
    DOWN = "down", "Down"
    PAUSED = "paused", "Paused"


# Written only by record_check_results / the heartbeat endpoint / the pause trigger.
STATE_FIELDS = frozenset(
    {
        "state",
        "state_changed_at",
        "consecutive_failures",
        "consecutive_successes",
        "failing_location_ids",
        "last_checked_at",
        "last_status",
        "last_response_time_ms",
        "last_reason",
        "last_ping_at",
        "last_fail_at",
        "created_at",
        "series_id",
    }
)


class MonitoringCheck(OrganizationScopedModel):
    """One monitor: what to probe (``check_type`` + ``config``), how often, from where.

    ``interval_seconds`` and ``timeout_seconds`` are columns (the scheduler and the
    database constraints need them) and are merged into the config the check type
    validates, so the config itself holds only type-specific settings.

    The state columns (``state``, consecutive counters, ``last_*``) are written only by
    the SQL function ``record_check_results``; treat them as read-only here.
    """

    name = models.CharField(max_length=200)
    check_type = models.CharField(max_length=16, choices=CheckType.choices)
    config = models.JSONField(default=dict, blank=True, db_default={})
    interval_seconds = models.PositiveIntegerField(
        default=60, db_default=60, help_text=f"{MIN_INTERVAL_S}-{MAX_INTERVAL_S} seconds."
    )
    timeout_seconds = models.FloatField(
        default=10, db_default=10, help_text=f"0.5-{MAX_TIMEOUT_S} seconds, at most the interval."
    )
    locations = models.ManyToManyField(
        MonitoringLocation, through="CheckSchedule", related_name="checks", blank=True
    )
    service = models.ForeignKey(
        "incidents.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="monitoring_checks",
        help_text="Confirmed failures open incidents on this service.",
    )
    failure_threshold = models.PositiveSmallIntegerField(
        default=2, db_default=2, help_text="Consecutive failures before an alert opens (1-10)."
    )
    recovery_threshold = models.PositiveSmallIntegerField(
        default=1, db_default=1, help_text="Consecutive successes before it resolves (1-10)."
    )
    require_second_location = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Confirm a failure from a second location before alerting.",
    )
    is_paused = models.BooleanField(default=False, db_default=False)
    severity = models.CharField(
        max_length=16, choices=Severity.choices, default=Severity.HIGH, db_default="high"
    )
    state = models.CharField(
        max_length=20, choices=CheckState.choices, default=CheckState.PENDING, db_default="pending"
    )
    state_changed_at = models.DateTimeField(db_default=Now(), editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    consecutive_successes = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    failing_location_ids = ArrayField(
        models.SmallIntegerField(), default=list, db_default=[], blank=True, editable=False
    )
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status = models.CharField(max_length=10, null=True, blank=True, editable=False)
    last_response_time_ms = models.IntegerField(null=True, blank=True, editable=False)
    last_reason = models.TextField(null=True, blank=True, editable=False)
    heartbeat_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_heartbeat_token,
        db_default=_RandomToken(),
        editable=False,
    )
    last_ping_at = models.DateTimeField(null=True, blank=True, editable=False)
    series_id = models.IntegerField(
        unique=True,
        db_default=_NextSeriesId(),
        editable=False,
        help_text="The check's number in check_results (4 bytes per row instead of 16).",
    )
    last_fail_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "monitoring_checks"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="monitoring_checks_unique_name",
                violation_error_message="A check with this name already exists.",
            ),
            models.CheckConstraint(condition=Q(check_type__in=CHECK_TYPES), name="monitoring_checks_type_valid"),
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=MIN_INTERVAL_S) & Q(interval_seconds__lte=MAX_INTERVAL_S),
                name="monitoring_checks_interval_range",
                violation_error_message=f"The interval must be {MIN_INTERVAL_S}-{MAX_INTERVAL_S} seconds.",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=0.5) & Q(timeout_seconds__lte=MAX_TIMEOUT_S)
                & Q(timeout_seconds__lte=F("interval_seconds")),
                name="monitoring_checks_timeout_range",
                violation_error_message="The timeout must be 0.5-60 seconds and at most the interval.",
            ),
            models.CheckConstraint(
                condition=Q(failure_threshold__gte=1) & Q(failure_threshold__lte=10),
                name="monitoring_checks_failure_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(recovery_threshold__gte=1) & Q(recovery_threshold__lte=10),
                name="monitoring_checks_recovery_threshold_range",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="monitoring_checks_severity_valid"),
            models.CheckConstraint(condition=Q(state__in=CheckState.values), name="monitoring_checks_state_valid"),
        ]  # fmt: skip
        indexes = [
            # The monitors list reads one state at a time in name order (problems first);
            # its (organization, state) prefix also counts the states.
            models.Index(
                fields=["organization", "state", "name", "id"], name="monitoring_checks_list_idx"
            ),
            models.Index(
                fields=["last_ping_at"],
                condition=Q(check_type="heartbeat", is_paused=False),
                name="monitoring_checks_hb_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Never write back the state columns: workers change them while a form is open."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in STATE_FIELDS
            ]
        super().save(*args, **kwargs)

    def run_config(self) -> dict[str, Any]:
        """The config ``run_check`` gets: the stored settings plus interval and timeout."""
        if self.check_type == CheckType.HEARTBEAT:
            return dict(self.config or {})
        return {
            **(self.config or {}),
            "interval_s": self.interval_seconds,
            "timeout_s": self.timeout_seconds,
        }

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        if not isinstance(self.config, dict):
            raise ValidationError({"config": "The configuration must be a mapping."})
        for key, column in (("interval_s", "interval_seconds"), ("timeout_s", "timeout_seconds")):
            if key in self.config:
                errors.setdefault("config", []).append(
                    f"{key}: set the check's {column.replace('_', ' ')} instead."
                )
        if not MIN_INTERVAL_S <= (self.interval_seconds or 0) <= MAX_INTERVAL_S:
            errors.setdefault("interval_seconds", []).append(
                f"Must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds."
            )
        if self.check_type and not errors:
            try:
                validate_check_config(self.check_type, self.run_config())
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    target = {
                        "interval_s": "interval_seconds",
                        "timeout_s": "timeout_seconds",
                        "check_type": "check_type",
                    }.get(field)
                    if target:
                        errors.setdefault(target, []).extend(messages)
                    else:
                        errors.setdefault("config", []).extend(f"{field}: {m}" for m in messages)
        if self.service_id and self.service.organization_id != self.organization_id:
            errors.setdefault("service", []).append("Choose a service of this organization.")
        if errors:
            raise ValidationError(errors)

    @property
    def heartbeat_path(self) -> str | None:
        """``/hb/<token>`` for heartbeat checks (what the job calls), else None."""
        if self.check_type != CheckType.HEARTBEAT:
            return None
        return f"/hb/{self.heartbeat_token}"


class CheckSchedule(models.Model):
    """When a check runs next from one location; also the check↔location link.

    ``next_run_at`` is filled by a trigger on insert (a hashed offset within the
    interval, so a thousand new checks do not fire in the same second) and advanced by
    ``claim_due_checks`` by whole intervals, keeping each check's phase.
    """

    id = models.BigAutoField(primary_key=True)
    monitor = models.ForeignKey(
        MonitoringCheck, on_delete=models.CASCADE, related_name="schedules", db_column="check_id"
    )
    location = models.ForeignKey(
        MonitoringLocation, on_delete=models.PROTECT, related_name="schedules"
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "check_schedules"
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "location"], name="check_schedules_one_per_location"
            ),
        ]
        indexes = [models.Index(fields=["next_run_at"], name="check_schedules_due_idx")]

    def __str__(self) -> str:
        return f"{self.monitor} from {self.location}"


class ResultStatus(models.IntegerChoices):
    UP = 0, "Up"
    DEGRADED = 1, "Degraded"
    DOWN = 2, "Down"


STATUS_NAMES = {ResultStatus.UP: "up", ResultStatus.DEGRADED: "degraded", ResultStatus.DOWN: "down"}


class CheckResult(models.Model):
    """One run of one check from one location (NULL location: a heartbeat, pushed to us).

    The table is partitioned by day on ``checked_at`` (``monitoring/sql/check_results_
    partitioned.sql``): beat creates the coming days' partitions ahead, ``cleanup_old_data()``
    drops whole days past retention (30 by default), and anything outside the created days
    lands in ``check_results_default``, so an insert never fails. The key is the check's
    ``series_id`` and the time: one index serves "results of this check, newest first"; the
    latest result of every check is also on the check row (``last_*``). Dashboards read
    ``monitoring_statistics`` instead of scanning these.

    ``monitor_id`` holds the check's ``series_id`` (an integer), not its uuid; filter with
    ``monitor=check`` or ``monitor__in=checks``. Django admin refuses a composite primary
    key, so it lists results through :class:`CheckResultLog` (a view) instead.
    """

    pk = models.CompositePrimaryKey("monitor", "checked_at")
    # The database cascades deletes (see the migration); Django must not collect rows.
    monitor = models.ForeignKey(
        MonitoringCheck,
        to_field="series_id",
        db_column="series_id",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    checked_at = models.DateTimeField()
    # Locations are never deleted (schedules protect them): no constraint, no index to pay.
    location = models.ForeignKey(
        MonitoringLocation,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    status = models.SmallIntegerField(choices=ResultStatus.choices)
    response_time_ms = models.IntegerField(null=True, blank=True)
    reason = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "check_results"
        ordering = ["-checked_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ResultStatus.values), name="check_results_status_valid"
            ),
        ]
        indexes = [BrinIndex(fields=["checked_at"], name="check_results_time_brin")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} at {self.checked_at:%Y-%m-%d %H:%M:%S}"

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]


class CheckResultLog(models.Model):
    """A check result as Django admin lists it: a read-only row of the view ``check_result_log``.

    The admin cannot list ``CheckResult`` (composite key), so this unmanaged model reads
    the view (``monitoring/sql/check_result_log_view.sql``), which adds a one-column key
    ``"<series_id>:<epoch microseconds>"`` and the check's organization, uuid and name. The
    view is ``security_invoker``: row-level security of ``check_results`` applies to it.
    Filter by check with ``monitor=check`` (the primary key of ``check_results`` then serves
    the query); never filter by ``id``, which is computed, not indexed.
    """

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.DO_NOTHING, related_name="+"
    )
    monitor = models.ForeignKey(
        MonitoringCheck,
        to_field="series_id",
        db_column="series_id",
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name="check",
    )
    check_uuid = models.UUIDField(db_column="check_id")
    check_name = models.CharField("check", max_length=200)
    checked_at = models.DateTimeField("checked at")
    location = models.ForeignKey(
        MonitoringLocation, null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    status = models.SmallIntegerField(choices=ResultStatus.choices)
    response_time_ms = models.IntegerField("response time (ms)", null=True)
    reason = models.TextField(null=True)

    class Meta:
        managed = False
        db_table = "check_result_log"
        # The key of check_results: newest first, and a total order for paging.
        ordering = ["-checked_at", "-monitor_id"]
        unique_together = [("monitor", "checked_at")]
        verbose_name = "check result"
        verbose_name_plural = "check results"

    def __str__(self) -> str:
        return (
            f"{self.check_name}: {self.get_status_display()} at {self.checked_at:%Y-%m-%d %H:%M:%S}"
        )

    @staticmethod
    def key(series_id: int, checked_at: dt.datetime) -> str:
        """The view's ``id`` of a result (what the admin puts in a result's URL)."""
        micros = (checked_at - EPOCH) // dt.timedelta(microseconds=1)
        return f"{series_id}:{micros}"

    @staticmethod
    def parse_key(key: str) -> tuple[int, dt.datetime] | None:
        """``(series_id, checked_at)`` from a view ``id``; None if it is not one."""
        series, sep, micros = str(key).partition(":")
        if not sep or not series.isdigit() or not micros.lstrip("-").isdigit():
            return None
        try:
            return int(series), EPOCH + dt.timedelta(microseconds=int(micros))
        except OverflowError:
            return None


class MonitoringAlert(OrganizationScopedModel):
    """A confirmed failure of a check, open until it recovers; it owns the incident.

    The database allows one open alert per check (partial unique index), whatever the
    number of workers recording failures at once.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    monitor = models.ForeignKey(
        MonitoringCheck, on_delete=models.CASCADE, related_name="alerts", db_column="check_id"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_default="open"
    )
    opened_at = models.DateTimeField(db_default=Now())
    resolved_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="monitoring_alerts",
    )
    failure_reason = models.TextField(blank=True, default="", db_default="")
    confirmed_locations = ArrayField(
        models.CharField(max_length=32), default=list, db_default=[], blank=True
    )
    incident_error = models.TextField(
        blank=True, default="", db_default="", help_text="Why no incident could be opened."
    )

    class Meta:
        db_table = "monitoring_alerts"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["monitor"],
                condition=Q(status="open"),
                name="monitoring_alerts_one_open_per_check",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved"]), name="monitoring_alerts_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="monitoring_alerts_resolved_at_matches",
            ),
        ]
        indexes = [
            models.Index(fields=["monitor", "-opened_at"], name="monitoring_alerts_check_idx")
        ]

    def __str__(self) -> str:
        return f"{self.monitor} {self.status} since {self.opened_at:%Y-%m-%d %H:%M}"


class MonitoringStatistic(OrganizationScopedModel):
    """Counts and response times of one check over one hour or one day (UTC).

    Maintained incrementally by ``record_check_results``; ``refresh_monitoring_statistics``
    recomputes recent buckets from raw results. Response times are kept as a fixed
    histogram (``monitoring_histogram_bounds()``) so buckets merge exactly and the p95
    is read from it (interpolated within a bucket; bucket edges are ≤25% apart).
    """

    class Period(models.TextChoices):
        HOUR = "hour", "Hour"
        DAY = "day", "Day"

    monitor = models.ForeignKey(
        MonitoringCheck,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        db_column="check_id",
    )
    period = models.CharField(max_length=4, choices=Period.choices)
    bucket_start = models.DateTimeField()
    total_checks = models.IntegerField(default=0, db_default=0)
    up_checks = models.IntegerField(default=0, db_default=0)
    degraded_checks = models.IntegerField(default=0, db_default=0)
    down_checks = models.IntegerField(default=0, db_default=0)
    response_count = models.IntegerField(default=0, db_default=0)
    response_sum_ms = models.BigIntegerField(default=0, db_default=0)
    response_histogram = ArrayField(models.IntegerField(), default=list, db_default=[])
    avg_response_ms = models.FloatField(null=True, blank=True)
    p95_response_ms = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "monitoring_statistics"
        ordering = ["monitor", "period", "-bucket_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "period", "bucket_start"], name="monitoring_statistics_bucket"
            ),
            models.CheckConstraint(
                condition=Q(period__in=["hour", "day"]), name="monitoring_statistics_period_valid"
            ),
            models.CheckConstraint(
                condition=Q(total_checks=F("up_checks") + F("degraded_checks") + F("down_checks")),
                name="monitoring_statistics_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.period} {self.bucket_start:%Y-%m-%d %H:00}"

    @property
    def uptime_percent(self) -> float | None:
        if not self.total_checks:
            return None
        return 100.0 * (self.up_checks + self.degraded_checks) / self.total_checks
