"""``manage.py reset_two_factor EMAIL``: for someone who lost their phone and recovery codes.

Removes their authenticator app and recovery codes, so they sign in with the password alone
and can set up two-factor authentication again from their profile. Logged in each of their
organizations' activity logs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import two_factor
from accounts.models import User


class Command(BaseCommand):
    help = "Turn off a user's two-factor authentication (lost phone and recovery codes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's e-mail address.")

    def handle(self, *args, email: str, **options) -> None:
        user = User.objects.filter(email=email.lower()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {email!r}.")
        if not user.two_factor_enabled:
            self.stdout.write(f"{user.email} has no two-factor authentication; nothing to do.")
            return
        two_factor.disable(user)
        two_factor.record_security_event(user, "two_factor_reset", reset_by="manage.py")
        self.stdout.write(f"Two-factor authentication reset for {user.email}.")
