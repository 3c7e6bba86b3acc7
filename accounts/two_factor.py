"""Optional TOTP two-factor sign-in, built on django-otp.

A person who turns it on has a confirmed TOTP device (their authenticator app) and a static
device holding ten single-use recovery codes. ``User.two_factor_enabled`` mirrors "has a
confirmed TOTP device" (kept in step by the signal handlers below, whoever writes devices)
so that deciding whether a session still owes its second factor costs no query.

**A session that owes its second factor is anonymous.** :class:`TwoFactorMiddleware`
(django-otp's ``OTPMiddleware`` plus that rule) hands every view, the admin, DRF's session
authentication and the tenancy middleware an ``AnonymousUser`` until the session has been
verified with a code, whichever way the password was checked (the login page, an older
session from before 2FA was turned on). Nothing downstream has to remember to check.
Organization API keys do not use the session and are unaffected.

Codes are checked by django-otp: a TOTP code is accepted once (``last_t``), within one
30-second step of drift, and failed attempts back off exponentially per device (1 s, 2 s,
4 s, ... : brute force of the six digits is hopeless, and the lock holds across sessions
because it lives on the device row). A recovery code is deleted when used.
"""

from __future__ import annotations

import re
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.activity import record_activity
from accounts.models import Organization, OrganizationMember, User
from alert24.tenancy import organization_scope

RECOVERY_CODE_COUNT = 10
# Seconds between the password step and the code step before the sign-in starts over.
PENDING_SECONDS = 600
PENDING_SESSION_KEY = "alert24_2fa_password_at"
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


# --- Which sessions are verified ------------------------------------------------------------


class TwoFactorMiddleware(OTPMiddleware):
    """``OTPMiddleware`` that also hides a not-yet-verified 2FA user behind ``AnonymousUser``.

    The real user is kept on ``request.two_factor_pending_user`` for the code step.
    Install in place of ``OTPMiddleware``, after ``AuthenticationMiddleware`` and before
    anything that reads ``request.user`` (the tenancy middleware).
    """

    def _verify_user_sync(self, request: HttpRequest, user):
        return self._hide_unverified(request, super()._verify_user_sync(request, user))

    async def _verify_user_async_via_auser(self, request: HttpRequest, auser):
        user = await super()._verify_user_async_via_auser(request, auser)
        return self._hide_unverified(request, user)

    def _hide_unverified(self, request: HttpRequest, user):
        request.two_factor_pending_user = None
        if user.is_authenticated and user.two_factor_enabled and not user.is_verified():
            request.two_factor_pending_user = user
            anonymous = AnonymousUser()
            self._init_user_fields(anonymous)
            return anonymous
        return user


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password this session has checked but who still owes a code."""
    if not request.user.is_authenticated:  # evaluates the lazy user, which sets the attribute
        return getattr(request, "two_factor_pending_user", None)
    return None


def session_is_verified(request: HttpRequest) -> bool:
    """Whether the request may act as its user: no 2FA, or 2FA passed in this session."""
    user = request.user
    if not user.is_authenticated:
        return False
    if not getattr(user, "two_factor_enabled", False):
        return True
    return bool(getattr(user, "is_verified", lambda: False)())


class RequireTwoFactorMiddleware:
    """Members of an organization that requires 2FA, without it, must set it up first.

    Install after the tenancy middleware (it needs ``request.organization``). Only the
    pages to set it up, to sign in or out and to switch to another organization stay open.
    """

    OPEN_URL_NAMES = frozenset(
        {"two-factor-setup", "login", "login-verify", "logout", "switch-organization"}
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        organization = getattr(request, "organization", None)
        if organization is None or not organization.require_two_factor:
            return None
        if not request.user.is_authenticated or request.user.two_factor_enabled:
            return None
        if request.resolver_match.url_name in self.OPEN_URL_NAMES:
            return None
        setup_url = reverse("two-factor-setup")
        if getattr(request, "htmx", False):
            return HttpResponse(status=204, headers={"HX-Redirect": setup_url})
        messages.warning(
            request,
            f"{organization.name} requires two-factor authentication: set it up to continue.",
        )
        return redirect(setup_url)


# --- Keeping User.two_factor_enabled in step with the devices -------------------------------


def _refresh_flag(user_id) -> None:
    enabled = TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()
    User.objects.filter(pk=user_id).exclude(two_factor_enabled=enabled).update(
        two_factor_enabled=enabled
    )


def _device_changed(sender, instance: TOTPDevice, **kwargs) -> None:
    _refresh_flag(instance.user_id)


def connect_signals() -> None:
    post_save.connect(_device_changed, sender=TOTPDevice, dispatch_uid="alert24_2fa_save")
    post_delete.connect(_device_changed, sender=TOTPDevice, dispatch_uid="alert24_2fa_delete")


# --- Setting up, confirming, turning off ----------------------------------------------------


def app_device(user: User, confirmed: bool | None = True) -> TOTPDevice | None:
    devices = TOTPDevice.objects.filter(user=user)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    return devices.order_by("-id").first()


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def start_setup(user: User) -> TOTPDevice:
    """The unconfirmed device whose secret the setup page shows (the same one on reload)."""
    return app_device(user, confirmed=False) or TOTPDevice.objects.create(
        user=user, name=APP_DEVICE_NAME, confirmed=False
    )


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (segno; no image library needed).

    The URI names issuer "Alert24" (``OTP_TOTP_ISSUER``) and the user's e-mail address;
    segno encodes it as modules, so nothing of it appears as markup in the SVG.
    """
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)


def secret_for_display(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app that cannot scan."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; the only time they are readable."""
    with transaction.atomic():
        device = recovery_device(user)
        if device is None:
            device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
        device.token_set.all().delete()
        device.throttle_reset(commit=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return [format_recovery_code(code) for code in codes]


def format_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def remaining_recovery_codes(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def disable(user: User) -> None:
    """Remove the authenticator app and the recovery codes: sign-in asks for a password only."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


# --- Checking a code ------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of one code: which device accepted it, or why not."""

    device: TOTPDevice | StaticDevice | None = None
    locked_seconds: int = 0  # > 0: too many failures, try again after this many seconds

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def used_recovery_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


def normalize_code(value: str) -> str:
    return re.sub(r"[\s-]+", "", value or "").lower()


def _locked_seconds(device: TOTPDevice | StaticDevice) -> int:
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, int((info["locked_until"] - timezone.now()).total_seconds() + 0.999))


def check_code(user: User, value: str, *, device: TOTPDevice | None = None) -> CodeCheck:
    """Check a six-digit app code, or a recovery code, against the user's own devices.

    ``device`` picks an unconfirmed device (the setup step); otherwise six digits go to the
    confirmed app and anything else to the recovery codes. Each device is locked (row lock
    inside django-otp's ``verify_token``) while it checks, so two requests cannot both use
    one code, and counts its own failures for the back-off.
    """
    code = normalize_code(value)
    if device is None:
        device = app_device(user) if re.fullmatch(r"\d{6}", code) else recovery_device(user)
    if device is None or not code:
        return CodeCheck()
    locked = _locked_seconds(device)
    if locked:
        return CodeCheck(locked_seconds=locked)
    verified = verify_token(user, device.persistent_id, code)
    if verified is None:
        device.refresh_from_db()
        return CodeCheck(locked_seconds=0)
    return CodeCheck(device=verified)


def confirm_setup(request: HttpRequest, device: TOTPDevice, value: str) -> CodeCheck:
    """Turn 2FA on once the app shows a code that matches; this session counts as verified."""
    result = check_code(request.user, value, device=device)
    if result.ok:
        with transaction.atomic():
            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
            device.refresh_from_db()
            _refresh_flag(request.user.pk)  # .update() sends no signal
        request.user.two_factor_enabled = True
        otp_login(request, device)
    return result


def check_password_or_code(user: User, value: str) -> CodeCheck:
    """Re-authentication for turning 2FA off or replacing recovery codes: password or code.

    A wrong password counts as a failure on the app device, so this form cannot be used to
    guess either one quickly.
    """
    device = app_device(user)
    if device is not None:
        locked = _locked_seconds(device)
        if locked:
            return CodeCheck(locked_seconds=locked)
    if value and user.check_password(value):
        return CodeCheck(device=device)
    result = check_code(user, value)
    guessed_password = not re.fullmatch(r"\d{6}", normalize_code(value))
    if not result.ok and not result.locked_seconds and device is not None and guessed_password:
        device.throttle_increment(commit=True)
    return result


# --- The audit trail ------------------------------------------------------------------------


def record_security_event(
    user: User, activity_type: str, request: HttpRequest | None = None, **metadata
) -> None:
    """Write a 2FA event to the activity log of every organization the user belongs to.

    The log is per organization and a sign-in belongs to none of them, yet each
    organization's admins should see a member turn 2FA off. The memberships are read as
    the user (RLS shows a user their own memberships), each entry is written inside that
    organization's scope.
    """
    with organization_scope(None, user.pk):
        organization_ids = list(
            OrganizationMember.objects.filter(user=user).values_list("organization_id", flat=True)
        )
    for organization_id in organization_ids:
        with organization_scope(organization_id, user.pk):
            record_activity(
                Organization(pk=organization_id),
                activity_type,
                user=user,
                obj=user,
                description=f"{user.email}: {activity_type.replace('_', ' ')}",
                metadata={key: str(value) for key, value in metadata.items()},
                request=request,
            )
