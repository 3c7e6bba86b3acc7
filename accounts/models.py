"""Organizations, users, memberships, teams, contact methods, preferences and the activity log.

Table names are the seed's (file 03). Users are global (one person may belong to several
organizations); everything else belongs to an organization or to a user and is under
row-level security (see ``alert24/tenancy.py`` and ``accounts/sql/``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now

from accounts.roles import Role, role_allows
from accounts.validators import CONTACT_VALIDATORS, validate_time_zone
from alert24.tenancy import OrganizationScopedModel, UUIDModel


class Organization(UUIDModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    require_two_factor = models.BooleanField(
        default=False,
        db_default=False,
        verbose_name="require two-factor authentication",
        help_text="Members without it are sent to set it up before they can use Alert24 here.",
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "organizations"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=email, **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=self.normalize_email(username).lower())


class User(UUIDModel, AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with an e-mail address; pages are timed in their own time zone."""

    email = models.EmailField(
        unique=True, error_messages={"unique": "A user with this e-mail address already exists."}
    )
    full_name = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_active = models.BooleanField(default=True, db_default=True)
    is_staff = models.BooleanField(
        default=False, db_default=False, help_text="May log in to Django admin."
    )
    date_joined = models.DateTimeField(db_default=Now(), editable=False)
    # Mirrors "has a confirmed TOTP device" so each request knows for free whether its
    # session owes a second factor; accounts.two_factor keeps it in step.
    two_factor_enabled = models.BooleanField(
        default=False, db_default=False, editable=False, verbose_name="two-factor authentication"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="users_email_lowercase"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = (self.email or "").strip().lower()

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class OrganizationMemberQuerySet(models.QuerySet):
    def active_for(self, user: User, preferred_organization_id: str | None):
        """The membership a request acts through: the preferred one if still valid."""
        memberships = self.filter(user=user).select_related("organization")
        if preferred_organization_id:
            membership = memberships.filter(organization_id=preferred_organization_id).first()
            if membership is not None:
                return membership
        return memberships.order_by("organization__name").first()


class OrganizationMember(OrganizationScopedModel):
    """A user's membership of an organization, with their incident role."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RESPONDER)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = OrganizationMemberQuerySet.as_manager()

    class Meta:
        db_table = "organization_members"
        ordering = ["organization", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="organization_members_unique_user",
                violation_error_message="This user is already a member of the organization.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="organization_members_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["user"], name="org_members_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def allows(self, permission: str) -> bool:
        return role_allows(self.role, permission)


class TeamGroup(OrganizationScopedModel):
    """A team: a group of members that escalation levels and schedules can target."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")

    class Meta:
        db_table = "team_groups"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="team_groups_unique_name",
                violation_error_message="A team with this name already exists.",
            ),
            # Target of the composite foreign key from team_memberships.
            models.UniqueConstraint(fields=["id", "organization"], name="team_groups_id_org"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(OrganizationScopedModel):
    """A member's place in a team. The database guarantees team and user share the org."""

    class TeamRole(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Team lead"

    team = models.ForeignKey(TeamGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "team_memberships"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                name="team_memberships_unique_user",
                violation_error_message="This user is already in the team.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["member", "lead"]), name="team_memberships_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["user"], name="team_memberships_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"

    def clean(self) -> None:
        super().clean()
        if (
            self.team_id
            and self.organization_id
            and self.team.organization_id != self.organization_id
        ):
            raise ValidationError({"team": "The team belongs to another organization."})
        if (
            self.user_id
            and self.organization_id
            and not OrganizationMember.objects.filter(
                organization_id=self.organization_id, user_id=self.user_id
            ).exists()
        ):
            raise ValidationError({"user": "Only members of the organization can join its teams."})


class UserContactMethod(UUIDModel):
    """Where a person can be paged: an address, a phone number or a chat webhook."""

    class MethodType(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        VOICE = "voice", "Voice call"
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"
        APPRISE = "apprise", "Apprise URL (Telegram, Discord, ntfy, Pushover, …)"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="contact_methods")
    method_type = models.CharField(max_length=16, choices=MethodType.choices)
    value = models.CharField(
        max_length=500, help_text="E-mail address, E.164 phone number or webhook URL."
    )
    label = models.CharField(max_length=100, blank=True, default="", db_default="")
    is_verified = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "user_contact_methods"
        ordering = ["user", "method_type", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "method_type", "value"],
                name="user_contact_methods_unique",
                violation_error_message="This contact method already exists.",
            ),
            models.CheckConstraint(
                condition=Q(method_type__in=["email", "sms", "voice", "slack", "teams", "apprise"]),
                name="user_contact_methods_type_valid",
            ),
            # The database refuses what validation refuses, for raw SQL writers too.
            models.CheckConstraint(
                condition=~Q(method_type__in=["sms", "voice"])
                | Q(value__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="user_contact_methods_phone_e164",
            ),
            models.CheckConstraint(
                condition=~Q(method_type="email") | Q(value__regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                name="user_contact_methods_email_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_type_display()}: {self.value}"

    def clean(self) -> None:
        super().clean()
        if self.method_type == self.MethodType.EMAIL:
            self.value = (self.value or "").strip().lower()
        else:
            self.value = (self.value or "").strip()
        validator = CONTACT_VALIDATORS.get(self.method_type)
        if validator is not None:
            try:
                validator(self.value)
            except ValidationError as error:
                raise ValidationError({"value": error.messages}) from error


class UserNotificationPreference(UUIDModel):
    """Per-user delivery preferences, chiefly quiet hours in the user's own time zone.

    Quiet hours hold back low-urgency notifications only; high-urgency pages always go out.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="notification_preference"
    )
    quiet_hours_enabled = models.BooleanField(default=False, db_default=False)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    quiet_hours_weekdays = models.JSONField(
        default=list,
        blank=True,
        help_text="ISO weekdays (1 = Monday) the quiet hours apply on; empty means every day.",
    )
    notify_on_acknowledge = models.BooleanField(default=True, db_default=True)
    notify_on_resolve = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "user_notification_preferences"
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_hours_enabled=False)
                | (Q(quiet_hours_start__isnull=False) & Q(quiet_hours_end__isnull=False)),
                name="user_notification_preferences_quiet_hours_complete",
                violation_error_message="Quiet hours need both a start and an end time.",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.quiet_hours_enabled:
            if self.quiet_hours_start is None:
                errors["quiet_hours_start"] = "Set when quiet hours start."
            if self.quiet_hours_end is None:
                errors["quiet_hours_end"] = "Set when quiet hours end."
            elif self.quiet_hours_start == self.quiet_hours_end:
                errors["quiet_hours_end"] = "Quiet hours must not start and end at the same time."
        if not isinstance(self.quiet_hours_weekdays, list) or any(
            not isinstance(day, int) or not 1 <= day <= 7 for day in self.quiet_hours_weekdays
        ):
            errors["quiet_hours_weekdays"] = "Use ISO weekday numbers 1 (Monday) to 7 (Sunday)."
        if errors:
            raise ValidationError(errors)

    def in_quiet_hours(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls in quiet hours, judged on the user's local clock.

        A window that crosses midnight (22:00-07:00) belongs to the day it starts on.
        """
        if not self.quiet_hours_enabled or not self.quiet_hours_start or not self.quiet_hours_end:
            return False
        local = at.astimezone(self.user.zone)
        start, end, now = self.quiet_hours_start, self.quiet_hours_end, local.time()
        if start < end:
            inside, day = start <= now < end, local.date()
        elif now >= start:
            inside, day = True, local.date()
        else:
            inside, day = now < end, local.date() - dt.timedelta(days=1)
        days = self.quiet_hours_weekdays
        return inside and (not days or day.isoweekday() in days)

    def quiet_hours_over(self, at: dt.datetime) -> dt.datetime:
        """When the quiet hours holding ``at`` end (``at`` itself if it is not held)."""
        if not self.in_quiet_hours(at):
            return at
        zone = self.user.zone
        local = at.astimezone(zone)
        end_day = local.date()
        if self.quiet_hours_start > self.quiet_hours_end and local.time() >= self.quiet_hours_start:
            end_day += dt.timedelta(days=1)
        return dt.datetime.combine(end_day, self.quiet_hours_end, tzinfo=zone)


class UserActivityLog(OrganizationScopedModel):
    """Who did what to which object, when and from where. Written, never edited."""

    # Written for every incident opened, so no index repeats another: organization is
    # covered by (organization, created_at), user by a partial index (events have none).
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    activity_type = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True, default="", db_default="")
    object_id = models.UUIDField(null=True, blank=True)
    description = models.TextField(blank=True, default="", db_default="")
    metadata = models.JSONField(default=dict, blank=True, db_default={})
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False, db_index=False)

    class Meta:
        db_table = "user_activity_log"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["organization", "-created_at"], name="activity_log_org_created_idx"
            ),
            models.Index(fields=["object_type", "object_id"], name="activity_log_object_idx"),
            models.Index(fields=["activity_type"], name="activity_log_type_idx"),
            models.Index(
                fields=["user"], condition=Q(user__isnull=False), name="activity_log_user_idx"
            ),
            models.Index(fields=["created_at"], name="activity_log_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.activity_type} {self.object_type} at {self.created_at:%Y-%m-%d %H:%M}"


class ApiKey(OrganizationScopedModel):
    """A per-organization REST API credential, stored only as a SHA-256 hash.

    The full key (``a24_`` + 40 random characters) is shown once, when it is made; what
    stays is its hash, so a database leak gives no usable credential, and a short prefix
    that lets a person recognise the key in a list. A key finds its organization through
    the ``authenticate_api_key()`` SQL function (SECURITY DEFINER: the one narrow path
    across organizations), never through this table under the request's role.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read-only"
        WRITE = "write", "Read-write"

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(
        max_length=8, choices=Scope.choices, default=Scope.READ, db_default="read"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        ordering = ["organization", "name"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=["read", "write"]), name="api_keys_scope_valid"),
            models.CheckConstraint(condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_keys_hash_format"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE
