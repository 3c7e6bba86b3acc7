"""The zero-configuration default: embedded PostgreSQL + Redis, reused data, no orphans.

Each test runs ``manage.py`` in child processes against a private data folder, exactly as a
newcomer's ``make run`` would, with no DATABASE_URL or REDIS_URL.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    yield path
    # Whatever a failing test left behind must not outlive it.
    for proc in _processes_using(path):
        proc.kill()


def _env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["ALERT24_DATA_DIR"] = str(data_dir)
    return env


def _manage(data_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _processes_using(path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_data_is_reused_and_services_stop_with_the_command(data_dir):
    first = _manage(data_dir, "migrate", "--no-input")
    assert first.returncode == 0, first.stderr
    created = _manage(
        data_dir,
        "shell",
        "-c",
        "from accounts.models import Organization;"
        "Organization.objects.create(name='Kept', slug='kept')",
    )
    assert created.returncode == 0, created.stderr
    assert _gone(data_dir)  # the command that started them stopped them

    again = _manage(
        data_dir,
        "shell",
        "-c",
        "from accounts.models import Organization; print(Organization.objects.get().slug)",
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "kept"
    assert _gone(data_dir)


def test_services_orphaned_by_a_killed_owner_are_adopted_and_stopped(data_dir):
    owner = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", "import time; print('up', flush=True); "
         "time.sleep(600)"],
        cwd=settings.BASE_DIR,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for line in owner.stdout:  # Django's shell may print its auto-imports first
        if line.strip() == "up":
            break
    owner.kill()  # no atexit, no signal handler: the services are orphaned
    owner.wait(timeout=30)
    assert {p.name() for p in _processes_using(data_dir)} >= {"postgres", "redis-server"}

    adopter = _manage(data_dir, "shell", "-c", "print('adopted')")
    assert adopter.returncode == 0, adopter.stderr
    assert _gone(data_dir)  # the next command took them over and stopped them on exit


def _gone(data_dir, seconds: float = 15) -> bool:
    """Whether every process using ``data_dir`` has exited (allowing for slow shutdowns)."""
    deadline = time.monotonic() + seconds
    while _processes_using(data_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_everything_and_ctrl_c_leaves_no_orphans(data_dir):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        # With Pusher configured, serve also runs the relay of incident changes (the
        # stand-in host refuses connections; a failed push is only logged).
        env={
            **_env(data_dir),
            "PUSHER_APP_ID": "1",
            "PUSHER_KEY": "key",
            "PUSHER_SECRET": "secret",
            "PUSHER_HOST": "127.0.0.1",
            "PUSHER_PORT": "9",
            "PUSHER_SSL": "False",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = _wait_for_health(port, process)
        assert body == b'{"status": "ok", "database": "ok", "redis": "ok"}'
        # While it runs, the standard commands just work against the same services.
        dbshell = subprocess.run(
            [sys.executable, "manage.py", "dbshell", "--", "-tAc", "SELECT count(*) FROM users"],
            cwd=settings.BASE_DIR,
            env=_env(data_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dbshell.returncode == 0, dbshell.stderr
        assert int(dbshell.stdout.strip()) >= 1  # the demo admin
        running = {p.name() for p in _processes_using(data_dir)}
        assert "postgres" in running and "redis-server" in running
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert "Log in as admin@example.com with password" in output
    assert "Stopped." in output
    assert "Relaying incident_changes to Pusher" in output
    assert "relay exited" not in output
    assert _gone(data_dir)
    assert not _children_alive(process.pid)


def _children_alive(pid: int) -> bool:
    return any(p.ppid() == pid for p in psutil.process_iter())


def _wait_for_health(port: int, process: subprocess.Popen) -> bytes:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError("serve did not become healthy in time")
