"""Create the demo admin account once; print its password the one time it is made."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser 'admin' if none exists. The password is read from "
        "DEMO_ADMIN_PASSWORD or generated and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USER", "admin"))

    def handle(self, *args, **options):
        User = get_user_model()
        username = options["username"]
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"Admin user '{username}' already exists; password unchanged "
                f"(forgotten? python manage.py changepassword {username})."
            )
            return
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("DEMO_ADMIN_PASSWORD"):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created admin '{username}' (password from DEMO_ADMIN_PASSWORD)."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created admin '{username}' with password: {password}\n"
                    "  (shown this once; set DEMO_ADMIN_PASSWORD to choose it)"
                )
            )
