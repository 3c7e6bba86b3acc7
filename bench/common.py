"""What every benchmark needs: a private, migrated Alert24 database, removed afterwards.

Each bench script imports :func:`private_django` before anything else from Django; it
points Alert24 at a fresh embedded PostgreSQL + Redis in a temporary folder, so a bench
never touches the data of ``make run`` and cleans up after itself.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def private_django() -> None:
    folder = tempfile.mkdtemp(prefix="alert24-bench-")
    os.environ["ALERT24_DATA_DIR"] = folder
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alert24.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    # Registered before Django's own exit handlers, so it runs after the services stop.
    atexit.register(shutil.rmtree, folder, True)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def figure(name: str, value: float | str, unit: str = "") -> None:
    """Print one headline figure as ``name: value unit``."""
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def web_server(server: str, port: int, workers: int, threads: int) -> list[str]:
    """The command that serves ``alert24.wsgi`` the way production does (README).

    ``granian`` is the production web server; ``gunicorn`` (threaded workers) stays
    available for comparison: on two cores its pure-Python HTTP handling costs about twice
    the CPU per request of the whole cached status-page answer.
    """
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "wsgi", "alert24.wsgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--blocking-threads", str(threads), "--no-ws", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "alert24.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
        "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip
