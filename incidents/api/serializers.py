"""Serializers for the incident-response API.

Related objects are referenced by id; the querysets those ids are looked up in are
limited to the caller's organization (row-level security would hide the rest anyway), so
an id from another organization reads as "does not exist".
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers

from accounts.api.views import UserSummarySerializer
from accounts.models import OrganizationMember, TeamGroup
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    Incident,
    IncidentUpdate,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleRestriction,
    Service,
    ServiceIntegration,
    Severity,
    Urgency,
)


class OrganizationRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key field whose choices are the caller's organization's rows only."""

    def get_queryset(self):
        queryset = super().get_queryset()
        organization_id = self.context.get("organization_id")
        return queryset.filter(organization_id=organization_id)


# --- Incidents ---------------------------------------------------------------------------


class IncidentSerializer(serializers.ModelSerializer):
    assignees = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "service", "title", "description", "status", "severity", "urgency",
            "priority", "source", "dedup_key", "details", "escalation_policy", "assignees",
            "created_by", "triggered_at", "acknowledged_at", "acknowledged_by", "resolved_at",
            "resolved_by", "merged_into", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class IncidentCreateSerializer(serializers.Serializer):
    """Open an incident by hand; with a ``dedup_key`` an open one with it is returned."""

    service = OrganizationRelatedField(queryset=Service.objects.all())
    title = serializers.CharField(max_length=1024)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.HIGH)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    dedup_key = serializers.CharField(max_length=255, required=False)
    details = serializers.DictField(required=False, default=dict)


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentUpdate
        fields = ["id", "message", "user", "created_at"]
        read_only_fields = ["id", "user", "created_at"]
        # The model allows a blank message (status changes have none); a note needs one.
        extra_kwargs = {"message": {"required": True, "allow_blank": False, "max_length": 10_000}}


class TimelineEntrySerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="update_type")

    class Meta:
        model = IncidentUpdate
        fields = ["id", "type", "message", "status", "user", "metadata", "created_at"]
        read_only_fields = fields


# --- Services ----------------------------------------------------------------------------


class IntegrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceIntegration
        fields = ["id", "name", "kind", "integration_key", "created_at"]
        read_only_fields = ["id", "integration_key", "created_at"]


class ServiceSerializer(serializers.ModelSerializer):
    escalation_policy = OrganizationRelatedField(
        queryset=EscalationPolicy.objects.all(), allow_null=True, required=False
    )
    integrations = IntegrationSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id", "name", "description", "status", "escalation_policy", "urgency_rule",
            "acknowledgement_timeout", "auto_resolve_timeout", "integrations", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "acknowledgement_timeout": {"min_value": 60, "max_value": 2_592_000},
            "auto_resolve_timeout": {"min_value": 60, "max_value": 2_592_000},
        }


# --- Escalation policies -----------------------------------------------------------------


class TargetSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EscalationTarget.TargetType.choices)
    id = serializers.UUIDField()

    def to_representation(self, instance: EscalationTarget) -> dict[str, Any]:
        target_id = {"user": instance.user_id, "schedule": instance.schedule_id}.get(
            instance.target_type, instance.team_id
        )
        return {"type": instance.target_type, "id": str(target_id)}


class RuleSerializer(serializers.ModelSerializer):
    targets = TargetSerializer(many=True)

    class Meta:
        model = EscalationRule
        fields = ["id", "position", "delay_minutes", "targets"]
        read_only_fields = ["id", "position"]
        extra_kwargs = {"delay_minutes": {"min_value": 1, "max_value": 1440}}


class EscalationPolicySerializer(serializers.ModelSerializer):
    """A policy with its levels in order; writing ``rules`` replaces all levels at once."""

    handoff_policy = OrganizationRelatedField(
        queryset=EscalationPolicy.objects.all(), allow_null=True, required=False
    )
    rules = RuleSerializer(many=True, required=False)

    class Meta:
        model = EscalationPolicy
        fields = [
            "id", "name", "description", "repeat_count", "handoff_policy", "rules",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"repeat_count": {"min_value": 0, "max_value": 9}}

    def validate_rules(self, rules: list[dict]) -> list[dict]:
        organization_id = self.context["organization_id"]
        wanted: dict[str, set] = {"user": set(), "schedule": set(), "team": set()}
        for rule in rules:
            if not rule["targets"]:
                raise serializers.ValidationError("Every level needs at least one target.")
            for target in rule["targets"]:
                wanted[target["type"]].add(target["id"])
        found = {
            "user": set(
                OrganizationMember.objects.filter(
                    organization_id=organization_id, user_id__in=wanted["user"]
                ).values_list("user_id", flat=True)
            ),
            "schedule": set(
                OnCallSchedule.objects.filter(
                    organization_id=organization_id, pk__in=wanted["schedule"]
                ).values_list("pk", flat=True)
            ),
            "team": set(
                TeamGroup.objects.filter(
                    organization_id=organization_id, pk__in=wanted["team"]
                ).values_list("pk", flat=True)
            ),
        }
        for kind, ids in wanted.items():
            missing = ids - found[kind]
            if missing:
                raise serializers.ValidationError(
                    f"No {kind} {sorted(map(str, missing))[0]} in this organization."
                )
        return rules

    def validate(self, attrs: dict) -> dict:
        handoff = attrs.get("handoff_policy")
        if handoff is not None and self.instance is not None:
            seen, policy = {self.instance.pk}, handoff
            while policy is not None:
                if policy.pk in seen:
                    raise serializers.ValidationError(
                        {"handoff_policy": "This hand-off would loop back to the same policy."}
                    )
                seen.add(policy.pk)
                policy = policy.handoff_policy
        return attrs

    @transaction.atomic
    def create(self, validated_data: dict) -> EscalationPolicy:
        rules = validated_data.pop("rules", [])
        policy = EscalationPolicy.objects.create(**validated_data)
        self._write_rules(policy, rules)
        return policy

    @transaction.atomic
    def update(self, instance: EscalationPolicy, validated_data: dict) -> EscalationPolicy:
        rules = validated_data.pop("rules", None)
        policy = super().update(instance, validated_data)
        if rules is not None:
            policy.rules.all().delete()
            self._write_rules(policy, rules)
        return policy

    def _write_rules(self, policy: EscalationPolicy, rules: list[dict]) -> None:
        for position, rule in enumerate(rules):
            created = EscalationRule.objects.create(
                organization_id=policy.organization_id,
                policy=policy,
                position=position,
                delay_minutes=rule.get("delay_minutes", 30),
            )
            EscalationTarget.objects.bulk_create(
                EscalationTarget(
                    organization_id=policy.organization_id,
                    rule=created,
                    target_type=target["type"],
                    **{f"{target['type']}_id": target["id"]},
                )
                for target in rule["targets"]
            )


# --- Schedules ---------------------------------------------------------------------------


class RestrictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduleRestriction
        fields = ["kind", "start_day_of_week", "start_time", "duration_minutes"]
        read_only_fields = fields


class LayerSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    restrictions = RestrictionSerializer(many=True, read_only=True)

    class Meta:
        model = ScheduleLayer
        fields = [
            "id", "name", "position", "rotation_unit", "rotation_length", "rotation_start",
            "end_at", "members", "restrictions",
        ]  # fmt: skip
        read_only_fields = fields

    def get_members(self, layer: ScheduleLayer) -> list[str]:
        """Participants' user ids in turn order."""
        return [str(m.user_id) for m in layer.memberships.all()]


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule; its layers are read-only here (edit them in the UI or admin)."""

    layers = LayerSerializer(many=True, read_only=True)

    class Meta:
        model = OnCallSchedule
        fields = [
            "id", "name", "description", "time_zone", "handoff_notifications", "layers",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]


class OnCallNowSerializer(serializers.Serializer):
    schedule = serializers.UUIDField()
    at = serializers.DateTimeField()
    user = UserSummarySerializer(allow_null=True)


class ShiftSerializer(serializers.Serializer):
    user = UserSummarySerializer(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ShiftWindowSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Window start (ISO 8601 with offset).")
    until = serializers.DateTimeField(help_text="Window end; at most 366 days after since.")

    def validate(self, attrs: dict) -> dict:
        from incidents.oncall import MAX_WINDOW

        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": "until must be after since."})
        if attrs["until"] - attrs["since"] > MAX_WINDOW:
            raise serializers.ValidationError({"until": "The window is at most 366 days."})
        return attrs
