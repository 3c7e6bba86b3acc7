"""Two-factor sign-in in a real browser: set it up from the profile like a person with an
authenticator app would (typing the displayed setup key), then log in with a code."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


def app_code(setup_key: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this setup key (now, or a later 30 s step)."""
    generator = TOTP(b32decode(setup_key.replace(" ", "")))
    generator.time = time.time() + 30 * steps_ahead
    return f"{generator.token():06d}"


def test_enable_two_factor_then_log_in_with_a_code(page, live_server, org_a):
    ana = User.objects.create_user("ana@acme.example", PASSWORD, full_name="Ana Responder")
    OrganizationMember.objects.create(organization=org_a, user=ana, role="responder")

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", ana.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("a.who")
    page.click("#two-factor-setup-link")

    expect(page.locator("#two-factor-qr svg")).to_be_visible()
    setup_key = page.locator("#two-factor-secret").inner_text()
    page.fill("#id_code", app_code(setup_key))
    page.click("#two-factor-confirm-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Two-factor authentication is on")
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    page.click("text=back to my profile")
    expect(page.locator("#recovery-codes-left")).to_have_text("10 recovery codes left.")
    page.click("text=Log out")

    page.fill("#id_username", ana.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Two-factor authentication")
    page.fill("#id_code", "000000" if app_code(setup_key, 1) != "000000" else "111111")
    page.click("#two-factor-form button[type=submit]")
    expect(page.locator("#two-factor-form .field-errors")).to_contain_text("not valid")

    time.sleep(1.1)  # the back-off after one wrong code is a second
    page.fill("#id_code", app_code(setup_key, 1))  # the setup step's code is used up
    page.click("#two-factor-form button[type=submit]")
    expect(page.locator("a.who")).to_contain_text(ana.email)
    expect(page).to_have_url(f"{live_server.url}/")
