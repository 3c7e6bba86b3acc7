from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from accounts.models import (
    ApiKey,
    Organization,
    OrganizationMember,
    TeamGroup,
    TeamMembership,
    User,
    UserActivityLog,
    UserContactMethod,
    UserNotificationPreference,
)


class MemberInline(admin.TabularInline):
    model = OrganizationMember
    fk_name = "organization"
    extra = 0
    autocomplete_fields = ["user"]
    exclude = ["invited_by"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MemberInline]


class ContactMethodInline(admin.TabularInline):
    model = UserContactMethod
    extra = 0


class NotificationPreferenceInline(admin.StackedInline):
    model = UserNotificationPreference
    can_delete = False


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "full_name", "time_zone"]


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "time_zone", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "time_zone"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "time_zone", "password1", "password2"],
            },
        )
    ]
    inlines = [ContactMethodInline, NotificationPreferenceInline]


@admin.register(OrganizationMember)
class OrganizationMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "user__full_name", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]
    exclude = ["invited_by"]


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]
    exclude = ["organization"]


@admin.register(TeamGroup)
class TeamGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]

    def save_formset(self, request, form, formset, change):
        for membership in formset.save(commit=False):
            membership.organization_id = form.instance.organization_id
            membership.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(UserContactMethod)
class UserContactMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "method_type", "value", "label", "is_verified"]
    list_filter = ["method_type", "is_verified"]
    search_fields = ["user__email", "value", "label"]
    autocomplete_fields = ["user"]


@admin.register(UserActivityLog)
class UserActivityLogAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by the application, never edited."""

    list_display = ["created_at", "organization", "user", "activity_type", "object_type"]
    list_filter = ["activity_type", "object_type"]
    search_fields = ["description", "user__email", "activity_type"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """API keys: made here (the key is shown once, in the confirmation), revoked here."""

    list_display = ["name", "prefix", "organization", "scope", "created_at", "last_used_at"]
    list_filter = ["scope", "organization"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]
    fields = ["organization", "name", "scope", "revoked_at", *readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        from django.contrib import messages

        from accounts.api.keys import create_api_key

        new = create_api_key(obj.organization, obj.name, scope=obj.scope, created_by=request.user)
        obj.pk = new.api_key.pk
        messages.warning(
            request, f"The new key is {new.secret} — copy it now, it will not be shown again."
        )
