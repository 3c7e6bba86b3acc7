"""``manage.py serve`` (what ``make run`` runs): web, Celery worker and beat in one command.

It migrates, loads the demo organization, then supervises the child processes: web, worker,
beat and, for the demo's SSL and DNS monitors, an HTTPS listener (gunicorn with a
certificate from a local demo CA) and a DNS server for ``alert24.test`` (see
``alert24.demo_endpoints``). The children get ``SITE_URL`` from ``--addr`` (unless set),
the demo ports, and ``MONITORING_EXTRA_CA_FILE`` pointing at the demo CA. Ctrl-C
(or SIGTERM) stops the children, each with its whole process group so Celery's pool goes
too, and then the embedded PostgreSQL and Redis this process started. A child that dies
takes the others down with it, loudly, instead of leaving a half-running system.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from alert24 import demo_endpoints
from alert24.demo import DEMO_ADMIN_EMAIL
from alert24.embedded import data_dir
from incidents import live

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Run web + Celery worker + beat (the `make run` command)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo org")
        parser.add_argument(
            "--https-port",
            type=int,
            default=demo_endpoints.https_port(),
            help="demo HTTPS listener port (DEMO_HTTPS_PORT, default 8443)",
        )
        parser.add_argument(
            "--dns-port",
            type=int,
            default=demo_endpoints.dns_port(),
            help="demo DNS server port on 127.0.0.1, UDP+TCP (DEMO_DNS_PORT, default 8053)",
        )

    def handle(
        self, *args, addr: str, no_demo: bool, https_port: int, dns_port: int, **options
    ) -> None:
        host, _, port = addr.rpartition(":")
        bind_host = host or "127.0.0.1"
        public_host = "127.0.0.1" if bind_host == "0.0.0.0" else bind_host  # noqa: S104
        _require_free_port("web", bind_host, int(port))
        if not no_demo:
            _require_free_port("HTTPS", bind_host, https_port)
            _require_free_port("DNS", "127.0.0.1", dns_port)
        # What the demo monitors aim at and what the children serve must agree: children
        # inherit this environment, and this process loads the demo with the same values.
        os.environ.setdefault("SITE_URL", f"http://{public_host}:{port}")
        os.environ["DEMO_HTTPS_PORT"], os.environ["DEMO_DNS_PORT"] = str(https_port), str(dns_port)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        python = sys.executable
        extra_children = {}
        if not no_demo:
            tls = self.load_demo_and_tls()
            extra_children = demo_endpoints.child_commands(
                python, bind_host, https_port, dns_port, tls
            )
        manage = str(settings.BASE_DIR / "manage.py")
        queues = ",".join(settings.CELERY_WORKER_QUEUES)
        commands = {
            "web": [python, manage, "runserver", addr, "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "alert24", "worker",
                "-Q", queues, "--loglevel", "INFO", "--concurrency", "4",
            ],
            "beat": [python, "-m", "celery", "-A", "alert24", "beat", "--loglevel", "INFO"],
            **extra_children,
        }  # fmt: skip
        if live.pusher_configured():
            # Changes made outside a web request (monitoring, events, escalation) reach
            # open pages through this relay; without Pusher, pages poll instead.
            commands["relay"] = [python, manage, "relay_incident_changes"]
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
                + (
                    ""
                    if no_demo
                    else f"Demo HTTPS: https://{public_host}:{https_port}/ (local demo CA), "
                    f"demo DNS: 127.0.0.1:{dns_port} ({demo_endpoints.DEMO_ZONE})\n"
                )
                + f"Embedded services: {', '.join(settings.EMBEDDED_SERVICES) or 'none'}. "
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
            self.stdout.write(f"Stopping {', '.join(children)}...")
            stop_children(list(children.values()))
            self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)

    def load_demo_and_tls(self) -> demo_endpoints.DemoTLS:
        """Load the demo aimed at this run's endpoints; the certificate its listener serves."""
        tls = demo_endpoints.ensure_demo_tls(data_dir() / demo_endpoints.TLS_FOLDER)
        extra_ca = os.environ.setdefault("MONITORING_EXTRA_CA_FILE", str(tls.ca_file))
        if extra_ca != str(tls.ca_file):
            self.stderr.write(
                f"MONITORING_EXTRA_CA_FILE is set to {extra_ca}: the demo SSL/HTTPS monitors "
                f"are green only if that bundle includes the demo CA {tls.ca_file}."
            )
        with override_settings(SITE_URL=os.environ["SITE_URL"].rstrip("/")):
            call_command("load_demo")
        return tls


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


def _require_free_port(name: str, host: str, port: int) -> None:
    """Fail before starting anything when a port is taken, naming the option that moves it."""
    kinds = [socket.SOCK_STREAM, socket.SOCK_DGRAM] if name == "DNS" else [socket.SOCK_STREAM]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in kinds:
        with socket.socket(family, kind) as sock:
            # As the servers themselves bind: connections of the last run may be in TIME_WAIT.
            if kind == socket.SOCK_STREAM:  # (for UDP it would let two servers share a port)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host.strip("[]"), port))
            except OSError as exc:
                option = {"web": "--addr", "HTTPS": "--https-port", "DNS": "--dns-port"}[name]
                raise CommandError(
                    f"{name} port {host}:{port} is not available ({exc.strerror}); "
                    f"choose another with {option}."
                ) from exc


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
