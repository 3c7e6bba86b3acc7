"""The base every API viewset builds on, and the read-only people endpoints.

:class:`OrganizationViewSet` is what makes adding a resource "a few lines": it scopes the
queryset to the caller's organization (on top of row-level security, which already hides
other organizations' rows), stamps the organization on creation, runs each request in a
savepoint that is rolled back when the answer is an error (nothing half-written),
names the permission writes need, and records every successful write in the activity log.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.activity import record_activity, without_url_secrets
from accounts.api.authentication import ApiKeyPrincipal, request_organization_id
from accounts.api.filters import TeamFilter, UserFilter
from accounts.models import ApiKey, TeamGroup, TeamMembership, User
from accounts.roles import Permission, Role


class OrganizationViewSetMixin:
    """Organization scoping, atomic requests and write permissions for a viewset.

    Subclasses set ``queryset`` (of an organization-scoped model), ``serializer_class``,
    optionally ``write_permission`` (default ``configure``) and ``ordering``.

    Every successful write (create, update, delete, and any POST/PUT/PATCH/DELETE
    ``@action``) is recorded in ``user_activity_log`` as ``api.<action>`` once the answer
    is known, inside the request's savepoint: in the same transaction as the change, and
    whatever the subclass overrides (``perform_*``, ``create``, custom actions). Name in
    ``activity_logged_elsewhere`` the actions whose writes the database already records.
    """

    write_permission: str = Permission.CONFIGURE
    activity_logged_elsewhere: frozenset[str] = frozenset()
    organization_field = "organization_id"
    # Any id reaches the view, so a malformed one is a JSON 404 rather than Django's HTML.
    lookup_value_regex = "[^/]+"

    def dispatch(self, request, *args, **kwargs):
        # The tenancy middleware's transaction commits whatever the view leaves behind;
        # an error answer must leave nothing, so the view runs in a savepoint of its own.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    @property
    def organization_id(self) -> uuid.UUID | None:
        return request_organization_id(self.request)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(**{self.organization_field: self.organization_id})

    def get_object(self):
        try:
            uuid.UUID(str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)))
        except ValueError:
            raise NotFound() from None
        obj = super().get_object()
        # What a write acted on, for the activity log; the id too, as a delete clears it.
        self._activity_object, self._activity_object_id = obj, obj.pk
        return obj

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        action = getattr(self, "action", None)
        if (
            request.method not in SAFE_METHODS
            and 200 <= response.status_code < 300
            and action
            and action not in self.activity_logged_elsewhere
            and not getattr(self, "swagger_fake_view", False)
        ):
            record_api_write(self, request, response, action)
        return response

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["organization_id"] = (
            None if getattr(self, "swagger_fake_view", False) else (self.organization_id)
        )
        return context

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(organization_id=self.organization_id)


def acting_user(request: Request) -> User | None:
    """The person an API call acts as, for the timeline and audit log.

    A session's user; for an API key, the member named by PagerDuty's ``From`` header
    (an e-mail address), if any, else nobody (the action is recorded as the API's).
    """
    if not isinstance(request.auth, ApiKeyPrincipal):
        return request.user if request.user.is_authenticated else None
    email = request.headers.get("From", "").strip().lower()
    if not email:
        return None
    return User.objects.filter(
        email=email, memberships__organization_id=request.auth.organization_id
    ).first()


API_ACTIVITY = {
    "create": ("api.create", "Created"),
    "update": ("api.update", "Updated"),
    "partial_update": ("api.update", "Updated"),
    "destroy": ("api.delete", "Deleted"),
}


def record_api_write(
    view: OrganizationViewSetMixin, request: Request, response: Response, action: str
) -> None:
    """One activity-log row for a successful API write.

    The object is the one the URL named (for a nested write such as ``notes``, the
    incident, with the new row's id as ``created``), or the new row for a create. The
    description and metadata name the API key by name and prefix, never the key itself.
    """
    organization_id = view.organization_id
    if organization_id is None:
        return
    model = view.get_queryset().model
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    new_id = data.get("id")
    obj = getattr(view, "_activity_object", None)
    metadata: dict = {"method": request.method, "path": request.path[:300]}
    if obj is None:  # a create: the new row
        label = data.get("name") or data.get("title") or ""
        obj = model(pk=new_id) if new_id else None
    elif action in ("update", "partial_update"):
        label = data.get("name") or data.get("title") or str(obj)
    else:
        label = str(obj)
        if new_id and str(new_id) != str(obj.pk):
            metadata["created"] = str(new_id)
    if obj is not None and obj.pk is None:  # deleted: the row is gone, its id is not
        obj = model(pk=view._activity_object_id)
    noun = str(model._meta.verbose_name)
    named = f"{noun} “{without_url_secrets(str(label))}”" if label else noun
    if action in API_ACTIVITY:
        activity, verb = API_ACTIVITY[action]
        description = f"{verb} {named}"
    else:  # a custom action: "Monitoring check “Homepage”: run now"
        activity = f"api.{action}"
        description = f"{named[0].upper()}{named[1:]}: {action.replace('_', ' ')}"
    if isinstance(request.auth, ApiKeyPrincipal):
        key = ApiKey.objects.filter(pk=request.auth.key_id).values("name", "prefix").first()
        key = key or {"name": "", "prefix": ""}
        metadata["api_key"] = {"id": str(request.auth.key_id), **key}
        description += f" with API key “{key['name']}” ({key['prefix']}…)"
    record_activity(
        organization_id,
        activity,
        user=acting_user(request),
        obj=obj,
        description=description[:500],
        metadata=metadata,
        request=request,
    )


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class MemberSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "time_zone", "role", "is_active"]
        read_only_fields = fields


class UserViewSet(OrganizationViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Members of the organization, with their role."""

    serializer_class = MemberSerializer
    queryset = User.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = UserFilter
    ordering = "email"
    organization_field = "memberships__organization_id"

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().annotate(role=F("memberships__role"))


class TeamMemberSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["user", "role"]


class TeamSerializer(serializers.ModelSerializer):
    members = TeamMemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = TeamGroup
        fields = ["id", "name", "description", "members", "created_at", "updated_at"]
        read_only_fields = fields


class TeamViewSet(OrganizationViewSetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    queryset = TeamGroup.objects.prefetch_related("memberships__user")
    filter_backends = [DjangoFilterBackend]
    filterset_class = TeamFilter
    ordering = "name"
