"""Serializers for the monitoring API.

A check's ``config`` is validated by the same function the worker and the admin use
(``monitoring.checks.config.validate_check_config``), so the API accepts exactly what a
check can run. Its errors are returned per setting, under ``config``
(``{"config": {"url": ["Unsupported scheme 'ftp'; use http or https."]}}``); the
interval and timeout, which are columns, report under their own names.

Results are read through the public fields of ``CheckResult`` only (when it ran, from
where, the status, the response time and the reason), never its id, which is an
implementation detail of the volume table.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.api.serializers import OrganizationRelatedField
from incidents.models import Service
from monitoring.api.filters import RESULT_STATUSES
from monitoring.api.statistics import DEFAULT_WINDOW, MAX_WINDOW, Window, bucket_floor
from monitoring.checks import secrets
from monitoring.checks.config import (
    MAX_INTERVAL_S,
    MAX_TIMEOUT_S,
    MIN_INTERVAL_S,
    validate_check_config,
)
from monitoring.models import (
    STATUS_NAMES,
    CheckResult,
    CheckType,
    MonitoringCheck,
    MonitoringLocation,
)

MAX_CONFIG_BYTES = 64 * 1024
# Where config errors about the scheduling keys belong in the API's terms.
COLUMN_OF = {
    "interval_s": "interval_seconds",
    "timeout_s": "timeout_seconds",
    "check_type": "check_type",
}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitoringLocation
        fields = ["code", "name", "region", "is_active"]
        read_only_fields = fields


class CheckSerializer(serializers.ModelSerializer):
    """A monitor; the state fields are written by the engine only."""

    config = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text=(
            'Type-specific settings, e.g. `{"url": "https://example.com/health"}` for http. '
            "Secrets are write-only. `basic_auth_password` is never returned; omitting it on "
            "update keeps the stored one. The values of secret request `headers` are "
            f'returned as `"{secrets.MASK}"`: `Authorization`, `Proxy-Authorization`, '
            "`Cookie` and any header whose name contains auth, token, secret, key, password, "
            "passwd, cookie, session, signature or credential (e.g. `X-Api-Key`). Sending "
            f'`"{secrets.MASK}"` back (for such a header or `basic_auth_password`) keeps the '
            "stored value, so a check read and written back keeps its secrets; a header "
            "left out of `headers` is removed. In `url`, the password of its userinfo and "
            "the values of query parameters with a secret name (as for headers, plus `sig` "
            "and `pwd`, e.g. `?token=`, `?api_key=`) are masked the same way, and "
            f'`"{secrets.MASK}"` written back in one of those places keeps the stored '
            "value; a new value replaces it. The request `body` is returned as stored. "
            "The mask for a secret that is not stored is a 400."
        ),
    )
    locations = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=MonitoringLocation.objects.filter(is_active=True),
        help_text=(
            "Location codes the check runs from (default: every active location); "
            "must be empty for heartbeat checks."
        ),
    )
    service = OrganizationRelatedField(
        queryset=Service.objects.all(),
        allow_null=True,
        required=False,
        help_text="Confirmed failures open incidents on this service.",
    )
    heartbeat_url = serializers.SerializerMethodField()

    class Meta:
        model = MonitoringCheck
        fields = [
            "id", "name", "check_type", "config", "interval_seconds", "timeout_seconds",
            "locations", "service", "failure_threshold", "recovery_threshold",
            "require_second_location", "severity", "is_paused", "state", "state_changed_at",
            "consecutive_failures", "consecutive_successes", "last_checked_at", "last_status",
            "last_response_time_ms", "last_reason", "heartbeat_url", "last_ping_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "is_paused", "state", "state_changed_at", "consecutive_failures",
            "consecutive_successes", "last_checked_at", "last_status", "last_response_time_ms",
            "last_reason", "last_ping_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {
            "interval_seconds": {"min_value": MIN_INTERVAL_S, "max_value": MAX_INTERVAL_S},
            "timeout_seconds": {"min_value": 0.5, "max_value": MAX_TIMEOUT_S},
            "failure_threshold": {"min_value": 1, "max_value": 10},
            "recovery_threshold": {"min_value": 1, "max_value": 10},
        }

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_heartbeat_url(self, check: MonitoringCheck) -> str | None:
        """Where a heartbeat check's job reports (``/fail`` appended reports a failure)."""
        from django.conf import settings

        path = check.heartbeat_path
        return f"{settings.SITE_URL}{path}" if path else None

    def to_representation(self, instance: MonitoringCheck) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["config"] = secrets.masked_config(instance.config)
        return data

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        if _has_nul(config):
            raise serializers.ValidationError("Text may not contain NUL characters.")
        if len(json.dumps(config)) > MAX_CONFIG_BYTES:
            raise serializers.ValidationError("The configuration is too large (64 KB at most).")
        misplaced = {
            key: [f"Set the check's {column} instead."]
            for key, column in COLUMN_OF.items()
            if key in config and key != "check_type"
        }
        if misplaced:
            raise serializers.ValidationError(misplaced)
        return config

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        check_type = value_of(attrs, current, "check_type")
        config = dict(value_of(attrs, current, "config", {}) or {})
        if "config" in attrs:
            stored = current.config if current is not None else None
            try:
                config = secrets.restore_secrets(config, stored)
            except secrets.MaskWithoutSecret as error:
                raise serializers.ValidationError(
                    {"config": {error.setting: [str(error)]}}
                ) from None
        if current is not None and "config" in attrs and check_type == current.check_type:
            for key in secrets.WRITE_ONLY_SETTINGS:
                if key not in config and key in (current.config or {}):
                    config[key] = current.config[key]
        attrs["config"] = config
        self._validate_config_for_type(check_type, config, attrs, current)
        self._validate_locations(check_type, attrs, current)
        return attrs

    def _validate_config_for_type(
        self,
        check_type: str,
        config: dict[str, Any],
        attrs: dict[str, Any],
        current: MonitoringCheck | None,
    ) -> None:
        probe = MonitoringCheck(
            check_type=check_type,
            config=config,
            interval_seconds=value_of(attrs, current, "interval_seconds", 60),
            timeout_seconds=value_of(attrs, current, "timeout_seconds", 10),
        )
        try:
            validate_check_config(check_type, probe.run_config())
        except DjangoValidationError as exc:
            errors: dict[str, Any] = {}
            for key, messages in exc.message_dict.items():
                column = COLUMN_OF.get(key)
                if column:
                    errors.setdefault(column, []).extend(messages)
                else:
                    errors.setdefault("config", {}).setdefault(key, []).extend(messages)
            raise serializers.ValidationError(errors) from None

    def _validate_locations(
        self, check_type: str, attrs: dict[str, Any], current: MonitoringCheck | None
    ) -> None:
        if "locations" in attrs:
            locations = attrs["locations"]
        elif current is not None:
            locations = list(current.locations.all())
        elif check_type == CheckType.HEARTBEAT:
            locations = []
        else:
            locations = list(MonitoringLocation.objects.filter(is_active=True))
        if check_type == CheckType.HEARTBEAT:
            if locations and "locations" in attrs:
                raise serializers.ValidationError(
                    {"locations": "Heartbeat checks are not run from locations: leave it empty."}
                )
            locations = []
        elif not locations:
            raise serializers.ValidationError({"locations": "Choose at least one location."})
        if value_of(attrs, current, "require_second_location") and len(locations) < 2:
            raise serializers.ValidationError(
                {"require_second_location": "Confirming from a second location needs two."}
            )
        attrs["locations"] = locations


def value_of(attrs: dict[str, Any], current: Any, field: str, default: Any = None) -> Any:
    """The value a write will leave: the request's, else the stored one, else ``default``."""
    if field in attrs:
        return attrs[field]
    return getattr(current, field) if current is not None else default


class RunNowResultSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=RESULT_STATUSES)
    response_time_ms = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    location = serializers.CharField(allow_null=True, help_text="Location code.")


class RunNowSerializer(serializers.Serializer):
    """What one immediate run found and did."""

    state = serializers.CharField(help_text="The check's state after this result.")
    previous_state = serializers.CharField()
    alert = serializers.UUIDField(allow_null=True, help_text="The open alert, if one opened.")
    incident = serializers.UUIDField(allow_null=True, help_text="The incident it opened, if any.")
    result = RunNowResultSerializer(allow_null=True)


class CheckResultSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()

    class Meta:
        model = CheckResult
        fields = ["checked_at", "status", "response_time_ms", "reason", "location"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=RESULT_STATUSES))
    def get_status(self, result: CheckResult) -> str:
        return STATUS_NAMES[result.status]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_location(self, result: CheckResult) -> str | None:
        """The location's code; null for a heartbeat (pushed to us, not probed)."""
        codes = self.context.get("location_codes") or {}
        return codes.get(result.location_id)


# --- Statistics ----------------------------------------------------------------------------


class StatisticsWindowSerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=["hour", "day"], default="hour", help_text="Bucket size (UTC hours or days)."
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="Window start (default: 24 hours ago for hours, 30 days ago for days); "
        "rounded down to the bucket.",
    )
    until = serializers.DateTimeField(
        required=False, help_text="Window end, exclusive (default: now)."
    )

    def validate(self, attrs: dict[str, Any]) -> Window:
        period = attrs["period"]
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - DEFAULT_WINDOW[period]
        try:
            since = bucket_floor(since, period)
        except OverflowError:
            raise serializers.ValidationError({"since": "Out of range."}) from None
        if until <= since:
            raise serializers.ValidationError({"until": "until must be after since."})
        if until - since > MAX_WINDOW[period]:
            days = MAX_WINDOW[period].days
            kind = "hourly" if period == "hour" else "daily"
            raise serializers.ValidationError(
                {"until": f"The window is at most {days} days for {kind} buckets."}
            )
        return Window(period, since, until)


class BucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    total_checks = serializers.IntegerField()
    up_checks = serializers.IntegerField()
    degraded_checks = serializers.IntegerField()
    down_checks = serializers.IntegerField()
    uptime_percent = serializers.FloatField(allow_null=True)
    avg_response_ms = serializers.FloatField(allow_null=True)
    p95_response_ms = serializers.FloatField(allow_null=True)


class StatisticsSerializer(serializers.Serializer):
    """Rollups over a window: totals, uptime (degraded counts as up) and one row per bucket."""

    check = serializers.UUIDField()
    period = serializers.ChoiceField(choices=["hour", "day"])
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    total_checks = serializers.IntegerField()
    up_checks = serializers.IntegerField()
    degraded_checks = serializers.IntegerField()
    down_checks = serializers.IntegerField()
    uptime_percent = serializers.FloatField(
        allow_null=True, help_text="null when nothing ran in the window."
    )
    avg_response_ms = serializers.FloatField(allow_null=True)
    p95_response_ms = serializers.FloatField(allow_null=True)
    buckets = BucketSerializer(many=True, help_text="Oldest first; empty buckets included.")
