from django.core.management.base import BaseCommand

from alert24.demo import DEMO_ADMIN_EMAIL, load_demo


class Command(BaseCommand):
    help = "Create the demo organization and its admin (idempotent)."

    def handle(self, *args, **options) -> None:
        result = load_demo()
        if result.password:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organization ready. Log in as {DEMO_ADMIN_EMAIL} with password "
                    f"{result.password}\n(shown only this once; change it with "
                    f"`manage.py changepassword {DEMO_ADMIN_EMAIL}`)."
                )
            )
        else:
            self.stdout.write(f"Demo organization already loaded; admin is {DEMO_ADMIN_EMAIL}.")
