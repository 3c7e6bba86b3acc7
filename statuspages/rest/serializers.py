"""Serializers for the status-page management API.

Every reference (page, group, component, service, check, internal incident) is looked up
in the caller's organization only, and a page's children must belong to the same page.
Field validation reuses the models' own rules (``clean``), so the API and the admin refuse
the same things with the same messages. Subscribers are shown without any token: their
confirmation and unsubscribe links are only ever sent to the subscriber.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.api.serializers import OrganizationRelatedField
from incidents.models import Incident, Service
from monitoring.models import MonitoringCheck
from statuspages.models import (
    Component,
    ComponentGroup,
    ComponentService,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentUpdate,
    Subscriber,
    parse_ip_allow_list,
    validate_domain,
)
from statuspages.rest.filters import MAINTENANCE_IMPACTS, SUBSCRIBER_STATES
from statuspages.services import set_component_status
from statuspages.subscriptions import page_url

validate_slug = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and hyphens."
)


def _same_page(attrs: dict, instance: Any, field: str = "status_page") -> StatusPage | None:
    """The page a write will leave the object on; a page cannot be changed after creation."""
    page = attrs.get(field)
    if instance is not None:
        if page is not None and page.pk != instance.status_page_id:
            raise serializers.ValidationError({field: "An object cannot move to another page."})
        return instance.status_page
    return page


def _components_of(page: StatusPage, ids: list[uuid.UUID], field: str) -> list[Component]:
    found = {c.pk: c for c in Component.objects.filter(status_page=page, pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise serializers.ValidationError({field: f"No component {missing[0]} on this page."})
    return [found[pk] for pk in dict.fromkeys(ids)]


class ComponentStatusMapField(serializers.DictField):
    """``{component_id: status}``, as Statuspage's API takes affected components."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=ComponentStatus.choices), **kwargs)

    def to_internal_value(self, data: Any) -> dict[uuid.UUID, str]:
        value = super().to_internal_value(data)
        result = {}
        for key, status in value.items():
            try:
                result[uuid.UUID(str(key))] = status
            except ValueError:
                raise serializers.ValidationError(f"'{key}' is not a component id.") from None
        return result


class ComponentIdsField(serializers.ListField):
    """A list of component ids (read from, and written to, a many-to-many relation)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.UUIDField(), **kwargs)

    def to_representation(self, data: Any) -> list:
        if hasattr(data, "all"):
            data = [component.pk for component in data.all()]
        return super().to_representation(data)


class SaveSentFieldsMixin:
    """Updates write only the fields sent.

    Statuses, versions and timestamps are kept by database triggers while a client holds
    an old copy; writing the whole row back would undo them (a stale ``content_version``
    would even move a page's cache version backwards).
    """

    def update(self, instance: Any, validated_data: dict) -> Any:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        if validated_data:
            instance.save(update_fields=list(validated_data))
        instance.refresh_from_db()
        return instance


# --- Pages ---------------------------------------------------------------------------------


class StatusPageSerializer(SaveSentFieldsMixin, serializers.ModelSerializer):
    slug = serializers.CharField(
        max_length=63, help_text="The page lives at /status/<slug>/ (lower case, digits, -)."
    )
    custom_domain = serializers.CharField(
        max_length=253, required=False, allow_null=True, allow_blank=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = StatusPage
        fields = [
            "id", "name", "slug", "description", "custom_domain", "is_public", "allowed_ips",
            "time_zone", "support_url", "url", "content_version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "content_version", "created_at", "updated_at"]

    @extend_schema_field(serializers.URLField())
    def get_url(self, page: StatusPage) -> str:
        return page_url(page)

    def validate_slug(self, slug: str) -> str:
        slug = slug.strip().lower()
        validate_slug(slug)
        return slug

    def validate_custom_domain(self, domain: str | None) -> str | None:
        domain = (domain or "").strip().lower().rstrip(".")
        if not domain:
            return None
        validate_domain(domain)
        return domain

    def validate_allowed_ips(self, text: str) -> str:
        try:
            parse_ip_allow_list(text)
        except ValueError as error:
            raise serializers.ValidationError(f"Not a network: {error}") from None
        return text


class ComponentGroupSerializer(SaveSentFieldsMixin, serializers.ModelSerializer):
    status_page = OrganizationRelatedField(queryset=StatusPage.objects.all())

    class Meta:
        model = ComponentGroup
        fields = ["id", "status_page", "name", "description", "position", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"position": {"min_value": -1_000_000, "max_value": 1_000_000}}

    def validate(self, attrs: dict) -> dict:
        _same_page(attrs, self.instance)
        return attrs


class ComponentSerializer(serializers.ModelSerializer):
    """A component; ``status`` set here holds until the next event recomputes it."""

    status_page = OrganizationRelatedField(queryset=StatusPage.objects.all())
    group = OrganizationRelatedField(
        queryset=ComponentGroup.objects.all(), allow_null=True, required=False
    )
    services = OrganizationRelatedField(
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="Incidents on these services move the component.",
    )
    monitoring_check = serializers.UUIDField(
        source="monitoring_check_id",
        allow_null=True,
        required=False,
        help_text="A monitoring check whose confirmed failures move the component.",
    )

    class Meta:
        model = Component
        fields = [
            "id", "status_page", "group", "name", "description", "status", "position",
            "showcase", "only_show_if_degraded", "start_date", "services", "monitoring_check",
            "monitoring_status", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "monitoring_status", "created_at", "updated_at"]
        extra_kwargs = {"position": {"min_value": -1_000_000, "max_value": 1_000_000}}

    def validate_monitoring_check(self, check_id: uuid.UUID | None) -> uuid.UUID | None:
        organization_id = self.context.get("organization_id")
        if (
            check_id is not None
            and not MonitoringCheck.objects.filter(
                pk=check_id, organization_id=organization_id
            ).exists()
        ):
            raise serializers.ValidationError(f"No check {check_id} in this organization.")
        return check_id

    def validate(self, attrs: dict) -> dict:
        page = _same_page(attrs, self.instance)
        group = attrs.get("group", self.instance.group if self.instance else None)
        if group is not None and page is not None and group.status_page_id != page.pk:
            raise serializers.ValidationError({"group": "Choose a group of the same page."})
        return attrs

    def create(self, validated_data: dict) -> Component:
        services = validated_data.pop("services", None)
        component = Component.objects.create(**validated_data)
        if services is not None:
            set_component_services(component, services)
        return component

    def update(self, instance: Component, validated_data: dict) -> Component:
        services = validated_data.pop("services", None)
        status = validated_data.pop("status", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        if validated_data:
            # Only the fields sent: ``status`` is kept by triggers and must not be written back.
            instance.save(update_fields=list(validated_data))
        if services is not None:
            set_component_services(instance, services)
        if status is not None:
            set_component_status(instance, status, reason="REST API")
        instance.refresh_from_db()
        return instance


def set_component_services(component: Component, services: list[Service]) -> None:
    """Link exactly ``services`` to ``component`` (their incidents then move it)."""
    wanted = {service.pk for service in services}
    ComponentService.objects.filter(component=component).exclude(service_id__in=wanted).delete()
    have = set(
        ComponentService.objects.filter(component=component).values_list("service_id", flat=True)
    )
    ComponentService.objects.bulk_create(
        ComponentService(
            organization_id=component.organization_id, component=component, service_id=pk
        )
        for pk in wanted - have
    )


# --- Incidents -----------------------------------------------------------------------------


class AffectedComponentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="component_id")
    name = serializers.CharField(source="component.name")
    status = serializers.ChoiceField(
        choices=ComponentStatus.choices, help_text="The status this incident holds it at."
    )


class StatusPageUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusPageIncidentUpdate
        fields = [
            "id", "status", "body", "affected_components", "deliver_notifications",
            "created_by", "display_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class StatusPageIncidentSerializer(SaveSentFieldsMixin, serializers.ModelSerializer):
    """A published incident with what it affects and its updates (newest first)."""

    components = AffectedComponentSerializer(source="affected", many=True, read_only=True)
    updates = StatusPageUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = StatusPageIncident
        fields = [
            "id", "status_page", "incident", "name", "status", "impact", "postmortem_body",
            "components", "updates", "started_at", "monitoring_at", "resolved_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status_page", "incident", "status", "started_at", "monitoring_at",
            "resolved_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {"name": {"allow_blank": False}}


class StatusPageIncidentCreateSerializer(serializers.Serializer):
    """Publish an incident: its first update (``body``) notifies subscribers."""

    status_page = OrganizationRelatedField(queryset=StatusPage.objects.all())
    name = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text="Defaults to the internal incident's title.",
    )  # fmt: skip
    body = serializers.CharField(max_length=20_000, help_text="What customers should know.")
    status = serializers.ChoiceField(
        choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    impact = serializers.ChoiceField(
        choices=Impact.choices, required=False, help_text="Default: from the incident severity."
    )
    components = ComponentStatusMapField(
        required=False,
        help_text="{component_id: status}; default: the page's components linked to the "
        "incident's service.",
    )
    incident = OrganizationRelatedField(
        queryset=Incident.objects.all(),
        required=False,
        allow_null=True,
        help_text="The internal incident this announces (never shown publicly).",
    )
    deliver_notifications = serializers.BooleanField(default=True)

    def validate(self, attrs: dict) -> dict:
        page = attrs["status_page"]
        if "components" in attrs:
            _components_of(page, list(attrs["components"]), "components")
        if not attrs.get("name", "").strip() and attrs.get("incident") is None:
            raise serializers.ValidationError({"name": "An incident needs a name."})
        return attrs


class StatusPageUpdateCreateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    body = serializers.CharField(max_length=20_000)
    components = ComponentStatusMapField(
        required=False, help_text="{component_id: status} the incident now holds them at."
    )
    deliver_notifications = serializers.BooleanField(default=True)


# --- Maintenance ---------------------------------------------------------------------------


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    status_page = OrganizationRelatedField(queryset=StatusPage.objects.all())
    components = ComponentIdsField(required=False, help_text="Component ids of the page.")
    status = serializers.ChoiceField(
        choices=MaintenanceStatus.choices,
        required=False,
        help_text="Set on update to start, verify or complete by hand.",
    )
    impact = serializers.ChoiceField(choices=MAINTENANCE_IMPACTS, read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id", "status_page", "name", "description", "status", "impact", "components",
            "scheduled_start", "scheduled_end", "auto_start", "auto_complete",
            "deliver_notifications", "started_at", "completed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "impact", "started_at", "completed_at", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {"name": {"allow_blank": False}}

    def validate(self, attrs: dict) -> dict:
        page = _same_page(attrs, self.instance)
        if self.instance is None and "status" in attrs:
            raise serializers.ValidationError(
                {"status": "A new window is scheduled; change its status afterwards."}
            )
        start = attrs.get("scheduled_start", getattr(self.instance, "scheduled_start", None))
        end = attrs.get("scheduled_end", getattr(self.instance, "scheduled_end", None))
        if start and end and end <= start:
            raise serializers.ValidationError(
                {"scheduled_end": "A maintenance window must end after it starts."}
            )
        if "components" in attrs and page is not None:
            attrs["components"] = _components_of(page, attrs["components"], "components")
        return attrs


# --- Subscribers ---------------------------------------------------------------------------


class SubscriberSerializer(serializers.ModelSerializer):
    """A subscriber; e-mail and SMS ones must confirm by the link they are sent."""

    status_page = OrganizationRelatedField(queryset=StatusPage.objects.all())
    components = ComponentIdsField(
        required=False, help_text="Only these components' news (default: everything on the page)."
    )
    state = serializers.SerializerMethodField()

    class Meta:
        model = Subscriber
        fields = [
            "id", "status_page", "channel", "target", "components", "state", "confirmed_at",
            "unsubscribed_at", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "confirmed_at", "unsubscribed_at", "created_at"]

    @extend_schema_field(serializers.ChoiceField(choices=SUBSCRIBER_STATES))
    def get_state(self, subscriber: Subscriber) -> str:
        if subscriber.unsubscribed_at is not None:
            return "unsubscribed"
        return "active" if subscriber.confirmed_at is not None else "pending"

    def validate(self, attrs: dict) -> dict:
        if "components" in attrs:
            attrs["components"] = _components_of(
                attrs["status_page"], attrs["components"], "components"
            )
        return attrs
