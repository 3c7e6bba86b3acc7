"""Events API ingest throughput and latency: new incidents, and dedup hits.

An event is accepted (202) once it is committed to the inbox, and applied a moment later
(incidents/event_inbox.py), so besides the answer rate this prints ``*_applied_per_second``:
events of the burst divided by the time from its first request until the inbox was empty.
The CPU figures are taken after that, so they include applying.

Serves Alert24 with granian (as in production; ``--server gunicorn`` to compare) on a
private database, and sends PagerDuty v2 events from a second process over loopback
(asyncio, keep-alive connections). Prints ``new_*``, ``dedup_*`` and the combined
``events_per_second``, ``p50_ms`` and ``p99_ms``, plus CPU milliseconds per event for the
web workers, PostgreSQL, Redis and the client (unlike wall-clock figures, these barely move
when other work shares the machine). Every event must get a 202 and be in the database,
or the run fails.

    .venv/bin/python bench/events_ingest.py [--events 3000] [--concurrency 16]
        [--workers 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _client(url: str, key: str, events: int, concurrency: int, mode: str) -> dict:
    """Runs in the second process: send ``events`` events, return timings.

    A few lines of asyncio speaking HTTP/1.1 with keep-alive instead of an HTTP library:
    on 2 cores the client shares the CPU with the server, and httpx's own cost per request
    (several times this) would be measured as the server's latency.
    """
    host, port = url.removeprefix("http://").split(":")

    async def run() -> dict:
        latencies: list[float] = []
        failures: list[str] = []
        counter = iter(range(events))

        async def connection() -> None:
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                for number in counter:
                    dedup = f"dedup-{number % 10}" if mode == "dedup" else f"{mode}-{number}"
                    body = json.dumps({
                        "routing_key": key,
                        "event_action": "trigger",
                        "dedup_key": dedup,
                        "payload": {"summary": f"Bench {dedup}", "source": "bench",
                                    "severity": "error"},
                    }).encode()  # fmt: skip
                    request = (
                        f"POST /v2/enqueue HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                    started = time.perf_counter()
                    writer.write(request)
                    status, answer, keep_alive = await _read_response(reader)
                    latencies.append(time.perf_counter() - started)
                    if status != 202:
                        failures.append(f"{status} {answer[:200]!r}")
                    if not keep_alive:
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, int(port))
            finally:
                writer.close()

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return {
            "latencies": latencies,
            "elapsed": elapsed,
            "started": started,  # perf_counter is the system's monotonic clock: comparable
            "cpu": time.process_time() - cpu,
            "failures": failures[:5],
        }

    return asyncio.run(run())


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response (Content-Length or chunked)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    status = int(head[9:12])
    headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # chunked
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    return status, body, headers.get("connection") != "close"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def _cpu_seconds(processes: dict[str, list]) -> dict[str, float]:
    """CPU seconds used so far by each group of processes, exited children included."""
    totals = {}
    for name, roots in processes.items():
        total = 0.0
        for root in roots:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for process in tree:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                # children_*: exited children (autovacuum workers, closed backends).
                total += times.user + times.system + times.children_user + times.children_system
        totals[name] = total
    return totals


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def _inbox_drained(started: float, timeout: float = 120) -> float:
    """Seconds from ``started`` until no accepted event waits to be applied."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM event_inbox WHERE failed_at IS NULL")
            if cursor.fetchone()[0] == 0:
                return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit("accepted events were still waiting to be applied after two minutes")


def _check_outcome(svc, events: int) -> None:
    """Every accepted event is in the database: one incident per new key, ten for dedup."""
    from bench.common import figure
    from incidents.models import Incident, IncidentUpdate

    opened = Incident.objects.filter(service=svc, dedup_key__startswith="new-").count()
    deduplicated = Incident.objects.filter(service=svc, dedup_key__startswith="dedup-")
    dedup_hits = IncidentUpdate.objects.filter(
        incident__in=deduplicated, update_type="dedup"
    ).count()
    figure("new_incidents", opened)
    figure("dedup_hits_recorded", dedup_hits)
    if opened != events or deduplicated.count() != 10 or dedup_hits != events - 10:
        raise SystemExit("the database does not hold every accepted event")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    # As the README's production layout says: one worker process per core, eight threads
    # each to cover the waits on PostgreSQL.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--client", nargs=4, metavar=("URL", "KEY", "MODE", "OUT"))
    args = parser.parse_args()
    if args.client:
        url, key, mode, out = args.client
        result = _client(url, key, args.events, args.concurrency, mode)
        Path(out).write_text(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    from bench.common import figure, private_django, web_server

    private_django()
    from django.conf import settings

    from accounts.models import Organization
    from incidents.models import ServiceIntegration
    from tests.incidents.factories import member, policy, service

    organization = Organization.objects.create(name="Bench", slug="bench")
    responder = member(organization, "oncall@example.com")
    svc = service(organization, policy(organization, [[responder]]), name="Bench")
    key = ServiceIntegration.objects.create(organization=organization, service=svc).integration_key

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EVENTS_RATE_LIMIT": "10000000/min",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        web_server(args.server, port, args.workers, args.threads),
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    data = Path(os.environ["ALERT24_DATA_DIR"])
    processes = {
        "web": [psutil.Process(server.pid)],
        "postgres": [
            psutil.Process(int((data / "postgres/postmaster.pid").read_text().split()[0]))
        ],
        "redis": [psutil.Process(int((data / "redis/redis.pid").read_text().split()[0]))],
    }
    combined: list[float] = []
    total_events, total_elapsed = 0, 0.0
    try:
        _wait_until_up(url, server)
        for mode in ("warmup", "new", "dedup"):
            out = data / f"{mode}.json"
            count = 300 if mode == "warmup" else args.events
            cpu_before = _cpu_seconds(processes)
            subprocess.run(
                [sys.executable, __file__, "--events", str(count), "--concurrency",
                 str(args.concurrency), "--client", url, key,
                 mode, str(out)],
                check=True, cwd=ROOT,
            )  # fmt: skip
            result = json.loads(out.read_text())
            if result["failures"]:
                raise SystemExit(f"{mode}: non-202 answers, e.g. {result['failures']}")
            applied_after = _inbox_drained(started=result["started"])
            if mode == "warmup":
                continue
            cpu_after = _cpu_seconds(processes)
            latencies = result["latencies"]
            figure(f"{mode}_events_per_second", len(latencies) / result["elapsed"])
            figure(f"{mode}_p50_ms", _percentile(latencies, 0.50))
            figure(f"{mode}_p99_ms", _percentile(latencies, 0.99))
            # Accepted is not yet applied: how long until the last event of the burst was
            # applied (the inbox empty), counted from the first request.
            figure(f"{mode}_applied_per_second", len(latencies) / applied_after)
            # CPU per event does not depend on what else the machine runs, unlike the
            # figures above: on 2 cores, 2000 / the sum is the ceiling in events/s.
            cpu = {name: cpu_after[name] - cpu_before[name] for name in processes}
            cpu["client"] = result["cpu"]
            for name, seconds in cpu.items():
                figure(f"{mode}_cpu_ms_per_event_{name}", seconds * 1000 / len(latencies))
            combined += latencies
            total_events += len(latencies)
            total_elapsed += result["elapsed"]
        figure("events_per_second", total_events / total_elapsed)
        figure("p50_ms", _percentile(combined, 0.50))
        figure("p99_ms", _percentile(combined, 0.99))
        figure("mean_ms", statistics.fmean(combined) * 1000)
        _check_outcome(svc, args.events)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


if __name__ == "__main__":
    main()
