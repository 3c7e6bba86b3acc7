"""Public status page under load: a 50-component page with 90 days of history and 20 past
incidents, served by granian (as in production; ``--server gunicorn`` to compare), loaded
from a second process over loopback with keep-alive, while monitoring checks are writing
results.

The check load is the real pipeline: ``--checks`` HTTP checks (default 600 at a 30 s
interval, i.e. 20 results/s, like 1,200 monitors at 60 s) against a local target server,
claimed by the dispatcher every second (as beat does), run by a real Celery location worker
and written with ``record_check_results``. 50 of them are the page's components' checks.

Prints ``requests_per_second``, ``p50_ms`` and ``p99_ms`` for a 50/50 mix of the HTML page
and ``summary.json`` (cache hits: what a herd of readers produces), the check results
written per second meanwhile (``check_results_per_second``), then the same figures per
endpoint and for a cold render. Goal (issue "Status pages"): >= 2,000 req/s with
p99 < 50 ms on 2 cores. The load generator and the check worker share those cores.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from common import ROOT, figure, private_django, web_server


# --- Load generator (runs in its own process: ``--client``) ------------------------------
async def _connection(host, port, paths, deadline, latencies, errors) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    while time.perf_counter() < deadline:
        path = paths[i % len(paths)]
        i += 1
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept-Encoding: gzip, deflate, br\r\n\r\n"  # like a browser
        )
        started = time.perf_counter()
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(status)
        if b"connection: close" in head.lower():
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
    writer.close()


async def _load(host, port, paths, seconds, connections) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(host, port, paths, deadline, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": quantiles[49] * 1000,
        "p99": quantiles[98] * 1000,
        "errors": len(errors),
    }


def client_main(args) -> None:
    result = asyncio.run(
        _load(args.host, args.port, args.paths.split(","), args.seconds, args.connections)
    )
    print(json.dumps(result))


# --- Data --------------------------------------------------------------------------------
def build_page(components: int, days: int, incidents: int):
    import datetime as dt
    import random

    from django.db import connection
    from django.utils import timezone

    from accounts.models import Organization
    from incidents.models import Service
    from statuspages.models import (
        Component,
        ComponentGroup,
        ComponentService,
        ComponentStatusHistory,
        StatusPage,
        StatusPageIncident,
        StatusPageIncidentComponent,
        StatusPageIncidentUpdate,
    )
    from statuspages.services import calculate_uptime

    rng = random.Random(42)  # noqa: S311 - repeatable bench data, not secrets
    now = timezone.now()
    organization = Organization.objects.create(name="Bench", slug="bench")
    page = StatusPage.objects.create(organization=organization, name="Bench Co", slug="bench")
    groups = [
        ComponentGroup.objects.create(
            organization=organization, status_page=page, name=f"Region {g}", position=g
        )
        for g in range(5)
    ]
    created = now - dt.timedelta(days=days + 1)
    items = []
    for n in range(components):
        component = Component.objects.create(
            organization=organization,
            status_page=page,
            group=groups[n % len(groups)],
            name=f"Service component {n:02d}",
            description="A component under load.",
            position=n,
        )
        service = Service.objects.create(organization=organization, name=f"Bench service {n}")
        ComponentService.objects.create(
            organization=organization, component=component, service=service
        )
        items.append(component)
    Component.objects.filter(status_page=page).update(created_at=created)
    ComponentStatusHistory.objects.filter(status_page=page).delete()
    history = []
    for component in items:
        history.append(
            ComponentStatusHistory(
                organization=organization,
                component=component,
                status_page=page,
                new_status="operational",
                changed_at=created,
            )
        )
        for _ in range(rng.randint(2, 12)):  # a few bad moments per component
            start = now - dt.timedelta(minutes=rng.randint(60, days * 24 * 60))
            status = rng.choice(["degraded_performance", "partial_outage", "major_outage"])
            for at, new in [
                (start, status),
                (start + dt.timedelta(minutes=rng.randint(5, 180)), "operational"),
            ]:
                history.append(
                    ComponentStatusHistory(
                        organization=organization,
                        component=component,
                        status_page=page,
                        new_status=new,
                        changed_at=at,
                    )
                )
    ComponentStatusHistory.objects.bulk_create(history, batch_size=2000)
    for n in range(incidents):
        start = now - dt.timedelta(days=rng.randint(1, days - 1), hours=rng.randint(0, 23))
        incident = StatusPageIncident.objects.create(
            organization=organization,
            status_page=page,
            name=f"Past incident {n}",
            status="resolved",
            impact=rng.choice(["minor", "major", "critical"]),
            started_at=start,
            resolved_at=start + dt.timedelta(hours=1),
        )
        for status, minutes in [("investigating", 0), ("identified", 20), ("resolved", 60)]:
            StatusPageIncidentUpdate.objects.create(
                organization=organization,
                status_page_incident=incident,
                status=status,
                body=f"**{status.title()}**: details of past incident {n}.",
                display_at=start + dt.timedelta(minutes=minutes),
                deliver_notifications=False,
            )
        StatusPageIncident.objects.filter(pk=incident.pk).update(
            status="resolved", resolved_at=start + dt.timedelta(hours=1)
        )
        for component in rng.sample(items, 2):
            StatusPageIncidentComponent.objects.create(
                organization=organization,
                status_page_incident=incident,
                component=component,
                status="partial_outage",
            )
    started = time.perf_counter()
    rows = calculate_uptime(days=90)
    uptime_ms = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return page, rows, uptime_ms, len(history)


# --- Check load ----------------------------------------------------------------------------
class CheckLoad:
    """HTTP checks through dispatcher → Redis → Celery worker → ``record_check_results``."""

    QUEUE = "checks.us-east"

    def __init__(self, page, checks: int, interval: int) -> None:
        self.page, self.checks, self.interval = page, checks, interval
        self.children: list[subprocess.Popen] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._dispatch, daemon=True)

    def start(self, env: dict[str, str]) -> None:
        from django.db import connection

        from alert24.tasks import ping
        from incidents.models import Service
        from monitoring.models import MonitoringLocation
        from statuspages.models import Component

        port = free_port()
        target = [sys.executable, str(ROOT / "bench" / "check_throughput.py"), "--serve", str(port)]
        self.children.append(subprocess.Popen(target, start_new_session=True))
        worker = [
            sys.executable, "-m", "celery", "-A", "alert24", "worker", "-Q", self.QUEUE,
            "--pool", "threads", "--concurrency", "2", "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        worker_env = {**env, "MONITORING_ALLOW_PRIVATE_TARGETS": "true"}
        self.children.append(
            subprocess.Popen(worker, cwd=ROOT, env=worker_env, start_new_session=True)
        )
        ping.apply_async(args=["ready"], queue=self.QUEUE).get(timeout=60)
        organization = self.page.organization
        service = Service.objects.create(organization=organization, name="Checked service")
        location = MonitoringLocation.objects.get(queue=self.QUEUE)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO monitoring_checks (organization_id, name, check_type, config,"
                " interval_seconds, timeout_seconds, service_id)"
                " SELECT %s, 'check ' || g, 'http', jsonb_build_object('url', %s),"
                " %s, 10, %s FROM generate_series(1, %s) g RETURNING id",
                [organization.pk, f"http://127.0.0.1:{port}/ok", self.interval, service.pk,
                 self.checks],
            )  # fmt: skip
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "INSERT INTO check_schedules (check_id, location_id)"
                " SELECT id, %s FROM monitoring_checks WHERE organization_id = %s",
                [location.pk, organization.pk],
            )
        for component, check_id in zip(
            Component.objects.filter(status_page=self.page).order_by("position"), ids, strict=False
        ):
            Component.objects.filter(pk=component.pk).update(monitoring_check_id=check_id)
        self.thread.start()

    def _dispatch(self) -> None:
        from django.db import connection

        from monitoring.engine import dispatch_due_checks

        try:
            while not self.stopping.is_set():
                tick = time.monotonic()
                dispatch_due_checks()
                self.stopping.wait(max(0.0, 1.0 - (time.monotonic() - tick)))
        finally:
            connection.close()

    def wait_until_every_check_ran(self, timeout: float) -> None:
        """Past the first round, checks leave "pending": steady state, as in production."""
        from monitoring.models import MonitoringCheck

        deadline = time.monotonic() + timeout
        checks = MonitoringCheck.objects.filter(organization=self.page.organization)
        while checks.filter(state="pending").exists() and time.monotonic() < deadline:
            time.sleep(1)

    def results_between(self, started: float, ended: float) -> tuple[int, int]:
        """(results written, of which not up) in the wall-clock window."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE status <> 0) FROM check_results"
                " WHERE checked_at >= to_timestamp(%s) AND checked_at < to_timestamp(%s)",
                [started, ended],
            )
            return cursor.fetchone()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(30)
        for child in reversed(self.children):
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


# --- Server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not come up")


def tree_cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children (gunicorn's master and workers)."""
    import psutil

    total = 0.0
    try:
        parent = psutil.Process(pid)
        for process in [parent, *parent.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


def run_client(port: int, paths: list[str], seconds: float, connections: int) -> dict:
    """Load from a second process; adds the generator's own CPU seconds (``client_cpu_s``)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [
            sys.executable, __file__, "--client", "--port", str(port), "--paths",
            ",".join(paths), "--seconds", str(seconds), "--connections", str(connections),
        ],
        check=False, capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["client_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--paths", default="")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--checks", type=int, default=600, help="concurrent HTTP checks")
    parser.add_argument("--check-interval", type=int, default=30)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return

    private_django()
    from django.conf import settings

    page, rows, uptime_ms, history = build_page(args.components, args.days, args.incidents)
    figure("components", args.components)
    figure("history_rows", history)
    figure("uptime_rollup_rows", rows)
    figure("uptime_rollup_ms", uptime_ms, "ms")

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    load = CheckLoad(page, args.checks, args.check_interval)
    server = subprocess.Popen(
        web_server(args.server, port, args.workers, args.threads),
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        html, summary = "/status/bench/", "/status/bench/api/v2/summary.json"
        if args.checks:
            load.start(env)
            load.wait_until_every_check_ran(args.check_interval * 3)
        wait_for(port, html)
        # Cold render (cache miss) cost, measured by bumping the version each time.
        from django.db import connection

        cold = []
        for _ in range(5):
            with connection.cursor() as cursor:
                cursor.execute("SELECT status_page_touch(%s)", [page.pk])
            time.sleep(1.1)  # the fast path reuses a page's version for up to 1 s
            started = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(f"GET {html} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                sock.recv(65536)
            cold.append((time.perf_counter() - started) * 1000)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", html)
        figure("page_bytes", len(conn.getresponse().read()), "B")
        conn.close()
        figure("cold_render_page_ms", statistics.median(cold), "ms")
        run_client(port, [html, summary], 3, args.connections)  # warm up every worker

        started, server_cpu = time.time(), tree_cpu_seconds(server.pid)
        mixed = run_client(port, [html, summary], args.seconds, args.connections)
        server_cpu = tree_cpu_seconds(server.pid) - server_cpu
        ended = time.time()
        time.sleep(2)  # results are dated by run start; let the window's last batches land
        written, failed = load.results_between(started, ended)
        figure("requests_per_second", mixed["rps"], "req/s")
        figure("p50_ms", mixed["p50"], "ms")
        figure("p99_ms", mixed["p99"], "ms")
        figure("errors", mixed["errors"])
        # CPU per request does not depend on what else runs on the machine: on 2 idle cores,
        # capacity is about 2000 / (server + client ms per request).
        per_request = {"server": server_cpu, "client": mixed["client_cpu_s"]}
        for who, seconds in per_request.items():
            figure(f"{who}_cpu_ms_per_request", f"{seconds * 1000 / mixed['requests']:.3f}", "ms")
        figure("check_results_per_second", written / (ended - started), "results/s")
        figure("check_results_not_up", failed)
        for name, path in [("page", html), ("summary_json", summary)]:
            result = run_client(port, [path], args.seconds / 2, args.connections)
            figure(f"{name}_requests_per_second", result["rps"], "req/s")
            figure(f"{name}_p50_ms", result["p50"], "ms")
            figure(f"{name}_p99_ms", result["p99"], "ms")
    finally:
        load.stop()
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


if __name__ == "__main__":
    main()
