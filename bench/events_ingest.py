"""Events API ingest throughput and latency: new incidents, and dedup hits.

Serves Alert24 with gunicorn (threaded workers, keep-alive) on a private database, and
sends PagerDuty v2 events from a second process over loopback (asyncio + httpx, keep-alive
connections). Prints ``new_*``, ``dedup_*`` and the combined ``events_per_second``,
``p50_ms`` and ``p99_ms``. Every event gets a 202 or the run fails.

    .venv/bin/python bench/events_ingest.py [--events 3000] [--concurrency 16]
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

ROOT = Path(__file__).resolve().parent.parent


def _client(url: str, key: str, events: int, concurrency: int, mode: str) -> dict:
    """Runs in the second process: send ``events`` events, return timings."""
    import httpx

    async def run() -> dict:
        latencies: list[float] = []
        failures: list[str] = []
        counter = iter(range(events))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

            async def worker() -> None:
                for number in counter:
                    dedup = f"dedup-{number % 10}" if mode == "dedup" else f"{mode}-{number}"
                    body = {
                        "routing_key": key,
                        "event_action": "trigger",
                        "dedup_key": dedup,
                        "payload": {"summary": f"Bench {dedup}", "source": "bench",
                                    "severity": "error"},
                    }  # fmt: skip
                    started = time.perf_counter()
                    response = await client.post("/v2/enqueue", json=body)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 202:
                        failures.append(f"{response.status_code} {response.text[:200]}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return {"latencies": latencies, "elapsed": elapsed, "failures": failures[:5]}

    return asyncio.run(run())


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--client", nargs=4, metavar=("URL", "KEY", "MODE", "OUT"))
    args = parser.parse_args()
    if args.client:
        url, key, mode, out = args.client
        result = _client(url, key, args.events, args.concurrency, mode)
        Path(out).write_text(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    from bench.common import figure, private_django

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
        [sys.executable, "-m", "gunicorn", "alert24.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", "gthread", "--threads", "4",
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    combined: list[float] = []
    total_events, total_elapsed = 0, 0.0
    try:
        _wait_until_up(url, server)
        for mode in ("warmup", "new", "dedup"):
            out = Path(os.environ["ALERT24_DATA_DIR"]) / f"{mode}.json"
            count = 300 if mode == "warmup" else args.events
            subprocess.run(
                [sys.executable, __file__, "--events", str(count), "--concurrency",
                 str(args.concurrency), "--client", url, key,
                 mode, str(out)],
                check=True, cwd=ROOT,
            )  # fmt: skip
            result = json.loads(out.read_text())
            if result["failures"]:
                raise SystemExit(f"{mode}: non-202 answers, e.g. {result['failures']}")
            if mode == "warmup":
                continue
            latencies = result["latencies"]
            figure(f"{mode}_events_per_second", len(latencies) / result["elapsed"])
            figure(f"{mode}_p50_ms", _percentile(latencies, 0.50))
            figure(f"{mode}_p99_ms", _percentile(latencies, 0.99))
            combined += latencies
            total_events += len(latencies)
            total_elapsed += result["elapsed"]
        figure("events_per_second", total_events / total_elapsed)
        figure("p50_ms", _percentile(combined, 0.50))
        figure("p99_ms", _percentile(combined, 0.99))
        figure("mean_ms", statistics.fmean(combined) * 1000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


if __name__ == "__main__":
    main()
