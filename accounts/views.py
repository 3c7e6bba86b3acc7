"""Sign-in, the home page, the organization switcher and the responder's profile."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import two_factor_views
from accounts.activity import record_activity
from accounts.models import (
    OrganizationMember,
    User,
    UserContactMethod,
    UserNotificationPreference,
)
from alert24.tenancy import SESSION_KEY
from incidents.channels import Message, deliver
from incidents.models import NotificationRule


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = OrganizationMember.objects.filter(user=request.user).select_related(
        "organization"
    )
    return render(request, "accounts/home.html", {"memberships": memberships})


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations the active one for this session."""
    slug = request.POST.get("organization", "")
    membership = (
        OrganizationMember.objects.filter(user=request.user, organization__slug=slug)
        .select_related("organization")
        .first()
    )
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_KEY] = str(membership.organization_id)
        messages.success(request, f"Now working in {membership.organization.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "home"
    return redirect(target)


# --- Profile: how to reach me ---------------------------------------------------------------


def _channel_ready(method_type: str) -> bool:
    """Whether pages on this kind of contact method can go out with the current settings."""
    if method_type in (UserContactMethod.MethodType.SMS, UserContactMethod.MethodType.VOICE):
        names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
        return all(getattr(settings, name) for name in names)
    return True


class ContactMethodForm(forms.ModelForm):
    class Meta:
        model = UserContactMethod
        fields = ["method_type", "value", "label"]
        labels = {"method_type": "Type", "value": "Address, number or URL"}


class NotificationRuleForm(forms.ModelForm):
    class Meta:
        model = NotificationRule
        fields = ["urgency", "contact_method", "start_delay_minutes"]
        labels = {"start_delay_minutes": "After (minutes)", "contact_method": "Notify"}

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_method"].queryset = UserContactMethod.objects.filter(user=user)


class QuietHoursForm(forms.ModelForm):
    WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
    quiet_hours_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On (none ticked: every day)",
    )

    class Meta:
        model = UserNotificationPreference
        fields = [
            "quiet_hours_enabled",
            "quiet_hours_start",
            "quiet_hours_end",
            "quiet_hours_weekdays",
            "notify_on_acknowledge",
            "notify_on_resolve",
        ]
        widgets = {
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"quiet_hours_enabled": "Hold low-urgency notifications during quiet hours"}


def _profile_context(request: HttpRequest, **forms_: forms.Form) -> dict:
    user = request.user
    methods = list(UserContactMethod.objects.filter(user=user).order_by("created_at"))
    preference = UserNotificationPreference.objects.filter(user=user).first()
    rules = []
    if request.organization is not None:
        rules = list(
            NotificationRule.objects.filter(organization=request.organization, user=user)
            .select_related("contact_method")
            .order_by("urgency", "start_delay_minutes")
        )
    context = {
        "methods": [(method, _channel_ready(method.method_type)) for method in methods],
        "no_usable_method": not any(_channel_ready(m.method_type) for m in methods),
        "rules": rules,
        "method_form": ContactMethodForm(),
        "rule_form": NotificationRuleForm(user=user),
        "quiet_form": QuietHoursForm(instance=preference or UserNotificationPreference(user=user)),
        **two_factor_views.profile_context(request),
    }
    context.update(forms_)
    return context


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return profile_page(request)


def profile_page(request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
    """The profile page, with ``extra`` context (a form with errors, an error message)."""
    return render(
        request, "accounts/profile.html", _profile_context(request, **extra), status=status
    )


def _record(request: HttpRequest, activity: str, obj=None, description: str = "", **meta) -> None:
    # The activity log belongs to an organization; a user without one has nothing to log into.
    if request.organization is not None:
        record_activity(
            request.organization,
            activity,
            obj=obj,
            description=description[:500],
            metadata={key: str(value) for key, value in meta.items()},
            request=request,
        )


@login_required
@require_POST
def contact_method_add(request: HttpRequest) -> HttpResponse:
    """Add a way to be paged; validation errors come back on the form (status 400)."""
    method = UserContactMethod(user=request.user)
    form = ContactMethodForm(request.POST, instance=method)
    if form.is_valid():
        duplicate = UserContactMethod.objects.filter(
            user=request.user, method_type=method.method_type, value=method.value
        ).exists()
        if duplicate:
            form.add_error("value", "You already have this contact method.")
        else:
            form.save()
            _record(request, "contact_method_added", method, str(method), type=method.method_type)
            messages.success(request, f"Added {method}.")
            return redirect("profile")
    return render(
        request, "accounts/profile.html", _profile_context(request, method_form=form), status=400
    )


@login_required
@require_POST
def contact_method_delete(request: HttpRequest, pk) -> HttpResponse:
    method = UserContactMethod.objects.filter(pk=pk, user=request.user).first()
    if method is None:
        messages.info(request, "That contact method was already removed.")
    else:
        _record(request, "contact_method_removed", method, str(method), type=method.method_type)
        method.delete()
        messages.success(request, f"Removed {method}.")
    return redirect("profile")


@login_required
@require_POST
def contact_method_test(request: HttpRequest, pk) -> HttpResponse:
    """Send a test message through the real channel and say what happened."""
    method = UserContactMethod.objects.filter(pk=pk, user=request.user).first()
    if method is None:
        raise Http404("No such contact method.")
    message = Message(
        incident_id="",
        title="Alert24 test notification",
        summary="If you can read this, Alert24 can reach you here.",
        status="test",
        idempotency_key=f"test:{method.pk}:{uuid.uuid4()}",
    )
    result = deliver(method.method_type, method.value, message)
    _record(request, "contact_method_tested", method, str(method), status=result.status)
    if result.ok:
        messages.success(request, f"Test notification sent to {method}.")
    elif result.status == "skipped":
        messages.error(request, f"Not sent to {method}: {result.skipped_reason}.")
    else:
        messages.error(request, f"Sending to {method} failed: {result.error}.")
    return redirect("profile")


@login_required
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    if request.organization is None:
        raise Http404("Join an organization first.")
    rule = NotificationRule(organization=request.organization, user=request.user)
    form = NotificationRuleForm(request.POST, instance=rule, user=request.user)
    if form.is_valid():
        exists = NotificationRule.objects.filter(
            user=request.user,
            contact_method=rule.contact_method,
            urgency=rule.urgency,
            start_delay_minutes=rule.start_delay_minutes,
        ).exists()
        if exists:
            form.add_error(None, "This notification rule already exists.")
        else:
            form.save()
            _record(request, "notification_rule_added", rule, str(rule), urgency=rule.urgency)
            messages.success(request, "Notification rule added.")
            return redirect("profile")
    return render(
        request, "accounts/profile.html", _profile_context(request, rule_form=form), status=400
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk) -> HttpResponse:
    rule = NotificationRule.objects.filter(pk=pk, user=request.user).first()
    if rule is None:
        messages.info(request, "That rule was already removed.")
    else:
        _record(request, "notification_rule_removed", rule, str(rule))
        rule.delete()
        messages.success(request, "Notification rule removed.")
    return redirect("profile")


@login_required
@require_POST
def quiet_hours(request: HttpRequest) -> HttpResponse:
    preference = UserNotificationPreference.objects.filter(
        user=request.user
    ).first() or UserNotificationPreference(user=request.user)
    form = QuietHoursForm(request.POST, instance=preference)
    if form.is_valid():
        form.save()
        _record(
            request,
            "notification_preferences_changed",
            preference,
            "quiet hours " + ("on" if preference.quiet_hours_enabled else "off"),
        )
        messages.success(request, "Notification preferences saved.")
        return redirect("profile")
    return render(
        request, "accounts/profile.html", _profile_context(request, quiet_form=form), status=400
    )
