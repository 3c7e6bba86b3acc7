"""``manage.py serve`` (what ``make run`` runs): web, Celery worker and beat in one command.

It migrates, loads the demo organization, then supervises three child processes. Ctrl-C
(or SIGTERM) stops the children, each with its whole process group so Celery's pool goes
too, and then the embedded PostgreSQL and Redis this process started. A child that dies
takes the others down with it, loudly, instead of leaving a half-running system.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from alert24.demo import DEMO_ADMIN_EMAIL

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Run web + Celery worker + beat (the `make run` command)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo org")

    def handle(self, *args, addr: str, no_demo: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not no_demo:
            call_command("load_demo")
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        queues = ",".join(settings.CELERY_WORKER_QUEUES)
        commands = {
            "web": [python, manage, "runserver", addr, "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "alert24", "worker",
                "-Q", queues, "--loglevel", "INFO", "--concurrency", "4",
            ],
            "beat": [python, "-m", "celery", "-A", "alert24", "beat", "--loglevel", "INFO"],
        }  # fmt: skip
        children = {
            name: subprocess.Popen(argv, cwd=settings.BASE_DIR, start_new_session=True)
            for name, argv in commands.items()
        }
        stopping = False

        def request_stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nAlert24 is running: http://{addr}/  (admin: http://{addr}/admin/, "
                f"log in as {DEMO_ADMIN_EMAIL})\n"
                f"Embedded services: {', '.join(settings.EMBEDDED_SERVICES) or 'none'}. "
                "Press Ctrl-C to stop.\n"
            )
        )
        exit_code = 0
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping.")
                        stopping, exit_code = True, 1
                time.sleep(0.5)
        finally:
            self.stdout.write("Stopping web, worker and beat...")
            stop_children(list(children.values()))
            self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)


def stop_children(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child's process group, then SIGKILL whatever outlives the grace period."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.1, deadline - time.monotonic()))
        _signal_group(child, signal.SIGKILL)
        child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
