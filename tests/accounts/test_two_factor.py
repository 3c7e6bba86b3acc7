"""Optional TOTP two-factor sign-in: real codes from the device's key, through the real views."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.api.keys import create_api_key
from accounts.models import ApiKey, OrganizationMember, User, UserActivityLog
from accounts.roles import Role

PASSWORD = "correct horse battery"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    valid = {code_for(device, steps) for steps in (-1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def unthrottle(device) -> None:
    """Let the back-off after a failed attempt pass, as if the user waited."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(hours=2)
    )


def activity(user: User, activity_type: str) -> list[UserActivityLog]:
    return list(UserActivityLog.objects.filter(user=user, activity_type=activity_type))


@pytest.fixture
def member(make_user, org_a) -> User:
    user = make_user("ana@acme.example", full_name="Ana")
    OrganizationMember.objects.create(organization=org_a, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def enrolled(member) -> tuple[User, TOTPDevice, list[str]]:
    """A member with a confirmed authenticator app and ten recovery codes."""
    device = TOTPDevice.objects.create(user=member, name="Authenticator app", confirmed=True)
    codes = two_factor.new_recovery_codes(member)
    member.refresh_from_db()
    assert member.two_factor_enabled  # the signal keeps the flag in step
    return member, device, codes


def log_in(client: Client, email: str, next_url: str = "/incidents/"):
    return client.post(f"/login/?next={next_url}", {"username": email, "password": PASSWORD})


def verify(client: Client, code: str, next_url: str = "/incidents/"):
    return client.post("/login/verify/", {"code": code, "next": next_url})


def is_signed_in(client: Client) -> bool:
    return client.get("/profile/").status_code == 200


# --- Users without 2FA ----------------------------------------------------------------------


def test_user_without_two_factor_signs_in_with_the_password_alone(client, member):
    response = log_in(client, member.email)
    assert response.status_code == 302
    assert response["Location"] == "/incidents/"
    assert is_signed_in(client)
    assert client.get("/login/verify/")["Location"] == "/"  # no code step to visit


def test_profile_offers_setup_when_off(client, member):
    client.force_login(member)
    page = client.get("/profile/").content.decode()
    assert "<strong>Off.</strong>" in page
    assert 'href="/profile/two-factor/"' in page


# --- The code step --------------------------------------------------------------------------


def test_password_alone_does_not_sign_in_a_user_with_two_factor(client, enrolled, org_a):
    user, device, _ = enrolled
    response = log_in(client, user.email)
    assert response.status_code == 302
    assert response["Location"] == "/login/verify/?next=%2Fincidents%2F"

    # Until the code: the responder UI, the profile, admin and the API treat it as anonymous.
    assert client.get("/profile/")["Location"].startswith("/login/?next=/profile/")
    assert client.get("/incidents/")["Location"].startswith("/login/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/login/?next=/admin/"
    assert client.get("/api/v1/incidents/").status_code in (401, 403)
    # ... and the login page sends it on to the code step rather than asking again.
    assert client.get("/login/?next=/profile/")["Location"] == "/login/verify/?next=%2Fprofile%2F"

    page = client.get("/login/verify/?next=/incidents/")
    assert page.status_code == 200
    assert user.email in page.content.decode()

    response = verify(client, code_for(device))
    assert response.status_code == 302
    assert response["Location"] == "/incidents/"
    assert is_signed_in(client)
    assert client.get("/incidents/").status_code == 200


def test_wrong_code_is_refused_with_a_clear_error(client, enrolled):
    user, device, _ = enrolled
    log_in(client, user.email)
    response = verify(client, wrong_code(device))
    assert response.status_code == 400
    assert "That code is not valid" in response.content.decode()
    assert not is_signed_in(client)

    response = verify(client, "not a code at all")
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_a_code_cannot_be_replayed(client, enrolled):
    user, device, _ = enrolled
    code = code_for(device)
    log_in(client, user.email)
    assert verify(client, code).status_code == 302
    client.post("/logout/")

    log_in(client, user.email)
    response = verify(client, code)  # the same code, still inside its 30 seconds
    assert response.status_code == 400
    assert not is_signed_in(client)
    unthrottle(device)
    assert verify(client, code_for(device, steps_ahead=1)).status_code == 302  # the next one


def test_guessing_codes_is_throttled_across_sessions(client, enrolled, settings):
    # A minute per failure instead of a second, so slow password hashing cannot outlast it.
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    user, device, _ = enrolled
    log_in(client, user.email)
    assert verify(client, wrong_code(device)).status_code == 400

    # Straight after a failure even the right code is refused, from a fresh session too.
    other = Client()
    log_in(other, user.email)
    response = verify(other, code_for(device))
    assert response.status_code == 429
    assert "Too many wrong attempts" in response.content.decode()
    assert not is_signed_in(other)

    for _ in range(4):
        unthrottle(device)
        verify(client, wrong_code(device))
    device.refresh_from_db()
    assert device.throttling_failure_count == 5
    response = verify(client, code_for(device))
    assert response.status_code == 429
    wait = int(re.search(r"Wait (\d+) seconds", response.content.decode()).group(1))
    assert 900 < wait <= 960  # 1, 2, 4, 8, 16 minutes: doubling with each failure

    unthrottle(device)
    assert verify(client, code_for(device)).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_recovery_code_works_once_and_is_logged(client, enrolled, org_a):
    user, _, codes = enrolled
    code = codes[0]
    log_in(client, user.email)
    response = verify(client, code.upper().replace("-", " "))  # as people type them
    assert response.status_code == 302
    assert is_signed_in(client)
    assert two_factor.remaining_recovery_codes(user) == 9
    [entry] = activity(user, "two_factor_recovery_code_used")
    assert entry.organization_id == org_a.pk
    assert entry.metadata == {"remaining": "9"}
    client.post("/logout/")

    log_in(client, user.email)
    assert verify(client, code).status_code == 400
    assert not is_signed_in(client)


def test_pending_sign_in_expires(client, enrolled):
    user, device, _ = enrolled
    log_in(client, user.email)
    session = client.session
    session[two_factor.PENDING_SESSION_KEY] = time.time() - two_factor.PENDING_SECONDS - 1
    session.save()
    response = verify(client, code_for(device))
    assert response["Location"] == "/login/"
    assert not is_signed_in(client)
    assert client.get("/login/").status_code == 200  # the password is asked for again


def test_unsafe_next_is_dropped_and_next_is_escaped(client, enrolled):
    user, device, _ = enrolled
    log_in(client, user.email)
    page = client.get('/login/verify/?next=/incidents/"><script>alert(1)</script>')
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html
    response = verify(client, code_for(device), next_url="https://evil.example/")
    assert response["Location"] == "/"


def test_pending_email_is_escaped(client, make_user, org_a):
    user = make_user("o'neil&co@acme.example")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    log_in(client, user.email)
    html = client.get("/login/verify/").content.decode()
    assert "o&#x27;neil&amp;co@acme.example" in html
    assert "o'neil&co@acme.example" not in html


def test_code_step_needs_csrf(enrolled):
    user, device, _ = enrolled
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    client.post(
        "/login/", {"username": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert client.post("/login/verify/", {"code": code_for(device)}).status_code == 403
    assert not is_signed_in(client)
    page = client.get("/login/verify/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = client.post(
        "/login/verify/", {"code": code_for(device), "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert is_signed_in(client)


# --- Admin and API --------------------------------------------------------------------------


def test_admin_needs_a_verified_session(client, enrolled):
    user, device, _ = enrolled  # an organization admin: admin is theirs once verified
    client.force_login(user)  # a session that skipped the code step entirely
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get(response["Location"])["Location"] == "/login/?next=/admin/"

    response = verify(client, code_for(device), next_url="/admin/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_without_two_factor_is_unaffected(client, member):
    client.force_login(member)
    assert client.get("/admin/").status_code == 200


def test_api_keys_do_not_care_about_two_factor(client, enrolled, org_a):
    user, _, _ = enrolled
    secret = create_api_key(org_a, "CI", scope=ApiKey.Scope.READ).secret
    log_in(client, user.email)  # a half-finished sign-in in the same client changes nothing
    response = client.get("/api/v1/incidents/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


# --- Turning it on ---------------------------------------------------------------------------


def test_setup_shows_qr_and_secret_and_turns_on_only_after_a_code(client, member, org_a):
    client.force_login(member)
    page = client.get("/profile/two-factor/")
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "<svg" in html
    device = TOTPDevice.objects.get(user=member)
    assert not device.confirmed
    assert device.config_url.startswith("otpauth://totp/Alert24%3Aana%40acme.example?")
    assert "issuer=Alert24" in device.config_url
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', html)[1].replace(" ", "")
    assert secret in device.config_url
    again = client.get("/profile/two-factor/").content.decode()  # a reload keeps the same key
    assert re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', again)[1].replace(" ", "") == secret
    assert TOTPDevice.objects.filter(user=member).count() == 1

    response = client.post("/profile/two-factor/", {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "That code is not valid" in response.content.decode()
    member.refresh_from_db()
    assert not member.two_factor_enabled
    unthrottle(device)

    response = client.post("/profile/two-factor/", {"code": code_for(device)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    codes = re.findall(
        r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", response.content.decode()
    )
    assert len(codes) == 10
    member.refresh_from_db()
    assert member.two_factor_enabled
    assert len(activity(member, "two_factor_enabled")) == 1

    # This session proved the code; it stays signed in. The codes are not shown again.
    page = client.get("/profile/")
    assert page.status_code == 200
    assert "10 recovery codes left" in page.content.decode()
    assert codes[0] not in page.content.decode()
    assert client.get("/profile/two-factor/")["Location"] == "/profile/"

    # The next sign-in asks for a code (the following step's: the confirmed one is used up).
    client.post("/logout/")
    assert log_in(client, member.email)["Location"].startswith("/login/verify/")
    assert verify(client, code_for(device, steps_ahead=1)).status_code == 302


def test_other_sessions_must_verify_once_two_factor_is_on(member):
    laptop, phone = Client(), Client()
    laptop.force_login(member)
    phone.force_login(member)
    laptop.get("/profile/two-factor/")
    device = TOTPDevice.objects.get(user=member)
    laptop.post("/profile/two-factor/", {"code": code_for(device)})
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert phone.get("/login/")["Location"].startswith("/login/verify/")


def test_setup_needs_csrf(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get("/profile/two-factor/")
    device = TOTPDevice.objects.get(user=member)
    assert client.post("/profile/two-factor/", {"code": code_for(device)}).status_code == 403
    member.refresh_from_db()
    assert not member.two_factor_enabled


# --- Turning it off, new recovery codes -----------------------------------------------------


def signed_in_with_code(client: Client, user: User, device: TOTPDevice) -> None:
    log_in(client, user.email)
    assert verify(client, code_for(device)).status_code == 302


def test_turning_off_needs_the_password_or_a_code(client, enrolled):
    user, device, _ = enrolled
    signed_in_with_code(client, user, device)

    response = client.post("/profile/two-factor/disable/", {"confirmation": "guess"})
    assert response.status_code == 400
    assert "Enter your password or a current authentication code" in response.content.decode()
    user.refresh_from_db()
    assert user.two_factor_enabled
    unthrottle(device)

    response = client.post("/profile/two-factor/disable/", {"confirmation": PASSWORD})
    assert response["Location"] == "/profile/"
    user.refresh_from_db()
    assert not user.two_factor_enabled
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert len(activity(user, "two_factor_disabled")) == 1
    assert is_signed_in(client)

    client.post("/logout/")
    assert log_in(client, user.email)["Location"] == "/incidents/"  # password only again


def test_turning_off_with_a_current_code(client, enrolled):
    user, device, _ = enrolled
    signed_in_with_code(client, user, device)
    response = client.post(
        "/profile/two-factor/disable/", {"confirmation": code_for(device, steps_ahead=1)}
    )
    assert response["Location"] == "/profile/"
    user.refresh_from_db()
    assert not user.two_factor_enabled


def test_wrong_passwords_on_the_off_form_are_throttled(client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    user, device, _ = enrolled
    signed_in_with_code(client, user, device)
    client.post("/profile/two-factor/disable/", {"confirmation": "guess one"})
    response = client.post("/profile/two-factor/disable/", {"confirmation": PASSWORD})
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.two_factor_enabled


def test_new_recovery_codes_replace_the_old(client, enrolled):
    user, device, old_codes = enrolled
    signed_in_with_code(client, user, device)
    response = client.post("/profile/two-factor/recovery-codes/", {"confirmation": PASSWORD})
    assert response.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-7-]{9})</code></li>", response.content.decode())
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert len(activity(user, "two_factor_recovery_codes_replaced")) == 1

    client.post("/logout/")
    log_in(client, user.email)
    assert verify(client, old_codes[1]).status_code == 400
    unthrottle(two_factor.recovery_device(user))
    assert verify(client, new_codes[1]).status_code == 302


def test_off_and_new_codes_need_a_post_with_csrf(enrolled):
    user, device, _ = enrolled
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # verified, as after the code step
    session.save()
    assert is_signed_in(client)
    assert client.get("/profile/two-factor/disable/").status_code == 405
    response = client.post("/profile/two-factor/disable/", {"confirmation": PASSWORD})
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.two_factor_enabled


# --- Lost phone -----------------------------------------------------------------------------


def test_reset_command_for_a_lost_phone(enrolled, org_a):
    user, _, _ = enrolled
    call_command("reset_two_factor", user.email)
    user.refresh_from_db()
    assert not user.two_factor_enabled
    assert not StaticToken.objects.filter(device__user=user).exists()
    [entry] = activity(user, "two_factor_reset")
    assert entry.organization_id == org_a.pk


# --- Organizations that require it ----------------------------------------------------------


def test_an_organization_can_require_two_factor(client, member, org_a, org_b, admin_b):
    org_a.require_two_factor = True
    org_a.save()
    client.force_login(member)

    response = client.get("/incidents/")
    assert response["Location"] == "/profile/two-factor/"
    assert client.get("/admin/")["Location"] == "/profile/two-factor/"
    assert client.post("/profile/quiet-hours/", {})["Location"] == "/profile/two-factor/"
    htmx = client.get("/incidents/", headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx["HX-Redirect"] == "/profile/two-factor/"
    page = client.get("/profile/two-factor/")
    assert page.status_code == 200
    assert "Acme requires two-factor authentication" in page.content.decode()

    device = TOTPDevice.objects.get(user=member)
    client.post("/profile/two-factor/", {"code": code_for(device)})
    assert client.get("/incidents/").status_code == 200

    # Someone else's organization without the requirement is unaffected.
    client.force_login(admin_b)
    assert client.get("/incidents/").status_code == 200


def test_superuser_resets_a_members_two_factor_in_admin(client, enrolled, make_user, org_a):
    user, _, _ = enrolled
    superuser = make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [str(user.pk)]},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.two_factor_enabled
    [entry] = activity(user, "two_factor_reset")
    assert entry.organization_id == org_a.pk
    assert entry.metadata == {"reset_by": "root@example.com"}
    assert not TOTPDevice.objects.filter(user=user).exists()
