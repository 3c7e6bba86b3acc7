"""Check throughput: N HTTP checks at a 60 s interval through the real pipeline.

dispatcher (``dispatch_due_checks``, the function beat runs) → Redis → real Celery worker
process(es) on the location queue → asyncio batch → one ``record_check_results`` per
batch. The target is a small asyncio HTTP server in its own process on 127.0.0.1.

Prints ``checks_per_second``, ``p50_lateness_s`` / ``p99_lateness_s`` (when a check
started minus its scheduled time), ``cpu_s_per_1000_checks`` (worker processes' CPU,
psutil) and ``failure_to_incident_s`` (one extra check's target flipped to 500: seconds
until its incident row exists; includes waiting for its next scheduled run, 30 s interval,
and the immediate re-check from a second location).

Goal (issue "Monitoring"): one worker process sustains 10,000 checks at 60 s (≈170/s)
with p99 lateness under 2 s on 2 cores. Default 2,000 checks for ~60 s; ``--checks 10000``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from common import ROOT, figure, private_django

FLIP_INTERVAL_S = 30


# --------------------------------------------------------------------------- target server


def serve(port: int) -> None:
    """A fast HTTP/1.1 server: /ok answers 200; /flip answers the code set by /set/<code>."""
    state = {"flip": 200}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            if target.startswith("/set/"):
                state["flip"] = int(target.rsplit("/", 1)[1])
                code = 200
            elif target.startswith("/flip"):
                code = state["flip"]
            else:
                code = 200
            writer.write(
                f"HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.recv(1024)


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        time.sleep(0.1)
    raise RuntimeError("target server did not start")


# --------------------------------------------------------------------------- the bench


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(process: subprocess.Popen) -> float:
    import psutil

    try:
        parent = psutil.Process(process.pid)
        total = sum(parent.cpu_times()[:2])
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += sum(child.cpu_times()[:2])
    except psutil.NoSuchProcess:
        return 0.0
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="batches per worker at once")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    private_django()
    from django.conf import settings
    from django.db import connection

    from accounts.models import Organization
    from alert24.tasks import ping
    from incidents.models import Incident, Service
    from monitoring.engine import dispatch_due_checks
    from monitoring.models import MonitoringCheck, MonitoringLocation

    port = free_port()
    children: list[subprocess.Popen] = []
    target = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], start_new_session=True
    )
    children.append(target)
    try:
        wait_port(port)
        env = {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
            "MONITORING_ALLOW_PRIVATE_TARGETS": "true",
            "LOG_LEVEL": "WARNING",
        }
        queues = "checks.us-east,checks.eu-west"
        worker_argv = [sys.executable, "-m", "celery", "-A", "alert24", "worker", "-Q", queues,
                       "--pool", "threads", "--concurrency", str(args.threads),
                       "--loglevel", "WARNING", "--without-mingle", "--without-gossip",
                       "--without-heartbeat"]  # fmt: skip
        workers = [
            subprocess.Popen(
                [*worker_argv, "-n", f"bench{n}@%h"], cwd=ROOT, env=env, start_new_session=True
            )
            for n in range(args.workers)
        ]
        children.extend(workers)
        ping.apply_async(args=["ready"], queue="checks.us-east").get(timeout=60)

        organization = Organization.objects.create(name="Bench", slug="bench")
        service = Service.objects.create(organization=organization, name="Bench service")
        east = MonitoringLocation.objects.get(code="us-east")
        west = MonitoringLocation.objects.get(code="eu-west")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO monitoring_checks (organization_id, name, check_type, config,"
                " interval_seconds, timeout_seconds, service_id)"
                " SELECT %s, 'bench ' || g, 'http', jsonb_build_object('url', %s),"
                " %s, 10, %s FROM generate_series(1, %s) g",
                [organization.pk, f"http://127.0.0.1:{port}/ok", args.interval, service.pk,
                 args.checks],
            )  # fmt: skip
            cursor.execute(
                "INSERT INTO check_schedules (check_id, location_id)"
                " SELECT id, %s FROM monitoring_checks",
                [east.pk],
            )
            cursor.execute("ANALYZE")
        flip = MonitoringCheck.objects.create(
            organization=organization,
            name="flip",
            check_type="http",
            config={"url": f"http://127.0.0.1:{port}/flip"},
            interval_seconds=FLIP_INTERVAL_S,
            timeout_seconds=5,
            service=service,
            failure_threshold=2,
        )
        flip.locations.add(east, west)

        # Steady state: the dispatcher ticks every second, as beat would every few.
        started = time.time()
        cpu_before = sum(cpu_seconds(w) for w in workers)
        dispatch_s = []
        while time.time() - started < args.seconds:
            tick = time.perf_counter()
            dispatch_due_checks()
            dispatch_s.append(time.perf_counter() - tick)
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
        ended = time.time()
        time.sleep(2)  # let the last batches finish writing
        cpu_after = sum(cpu_seconds(w) for w in workers)

        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH late AS (
                    SELECT mod(extract(epoch FROM r.checked_at - s.next_run_at)::numeric
                               + 100 * c.interval_seconds, c.interval_seconds) AS wrapped,
                           c.interval_seconds AS every
                    FROM check_results r
                    JOIN monitoring_checks c ON c.series_id = r.series_id
                    JOIN check_schedules s ON s.check_id = c.id
                                          AND s.location_id = r.location_id
                    WHERE r.checked_at >= to_timestamp(%s) AND r.checked_at < to_timestamp(%s)
                      AND c.name <> 'flip'
                ), lateness AS (
                    -- a run slightly early would wrap to almost a whole interval
                    SELECT CASE WHEN wrapped > every / 2 THEN wrapped - every ELSE wrapped END
                           AS s FROM late
                )
                SELECT count(*),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY s),
                       max(s)
                FROM lateness
                """,
                [started, ended],
            )
            ran, p50, p99, worst = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FILTER (WHERE status = 2) FROM check_results"
                " WHERE checked_at >= to_timestamp(%s)",
                [started],
            )
            (failed,) = cursor.fetchone()
        window = ended - started
        figure("checks", args.checks)
        figure("worker_processes", args.workers)
        figure("measured_s", window)
        figure("checks_per_second", ran / window)
        figure("expected_checks_per_second", args.checks / args.interval)
        figure("p50_lateness_s", f"{float(p50 or 0):.3f}")
        figure("p99_lateness_s", f"{float(p99 or 0):.3f}")
        figure("max_lateness_s", f"{float(worst or 0):.3f}")
        figure("failed_results", failed)
        figure("cpu_s_per_1000_checks", f"{(cpu_after - cpu_before) / max(ran, 1) * 1000:.2f}")
        dispatch_s.sort()
        figure("dispatch_tick_p99_ms", dispatch_s[int(len(dispatch_s) * 0.99)] * 1000)

        # Failure to incident: flip the extra check's target and keep dispatching.
        http_get(port, "/set/500")
        flipped = time.time()
        incident_at = None
        while time.time() - flipped < 3 * FLIP_INTERVAL_S:
            dispatch_due_checks()
            if Incident.objects.filter(dedup_key=f"monitoring:{flip.pk}").exists():
                incident_at = time.time()
                break
            time.sleep(0.2)
        if incident_at is None:
            figure("failure_to_incident_s", "none within 90 s")
        else:
            figure("failure_to_incident_s", f"{incident_at - flipped:.1f}")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT extract(epoch FROM i.created_at - min(r.checked_at))"
                    " FROM incidents i, check_results r WHERE i.dedup_key = %s"
                    " AND r.series_id = %s AND r.status = 2 GROUP BY i.created_at",
                    [f"monitoring:{flip.pk}", flip.series_id],
                )
                (pipeline,) = cursor.fetchone()
            figure("first_failed_run_to_incident_s", f"{float(pipeline):.2f}")
    finally:
        for child in reversed(children):
            stop(child)


if __name__ == "__main__":
    main()
