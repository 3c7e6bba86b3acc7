"""What child processes started by tests (workers, manage.py) need to find our database."""

import os
import signal
import subprocess
import sys
from urllib.parse import quote

from django.db import connection


def database_url(name: str | None = None) -> str:
    """The URL of the database the tests run on (the test database, not the dev one), or of
    database ``name`` on the same server."""
    db = {**connection.settings_dict, **({"NAME": name} if name else {})}
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    if host.startswith("/"):
        return f"postgres://{auth}@/{db['NAME']}?host={host}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def start_worker(
    queues: list[str],
    *,
    pool: str = "prefork",
    concurrency: int = 1,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """A real Celery worker on ``queues``, bound to the test database, in its own session.

    ``WORKER_LOG=INFO`` in the environment shows what it does while debugging a test.
    """
    from django.conf import settings

    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alert24", "worker", "-Q", ",".join(queues),
         "--pool", pool, "--concurrency", str(concurrency),
         "--loglevel", os.environ.get("WORKER_LOG", "WARNING"),
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=settings.BASE_DIR, env=environment, start_new_session=True,
    )  # fmt: skip


def stop_worker(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the worker's whole process group (pool children too); kill what lingers."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
