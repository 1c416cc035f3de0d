"""The embedded PostgreSQL server: a private server per repository, under ``<repo>/.opsctl/``.

``database_url: embedded`` in ``opsctl.yaml`` makes opsctl run this server. It is created on
first use (``initdb``), started on demand by any command that needs it, and keeps running so
later commands (other processes) reuse it, until ``opsctl db stop``. It listens on 127.0.0.1
only, on a port chosen free at start (read back from ``postmaster.pid``), with no Unix socket,
so the data folder's path length never matters.

PostgreSQL refuses to run as root; when opsctl runs as root the server runs as an unprivileged
system user (``pgserver``, the same user the ``pgserver`` wheel uses, created if missing).
A file lock serialises start and stop between concurrent opsctl processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.database.binaries import PostgresBinaries, find_binaries
from opsctl.errors import DatabaseError
from opsctl.processes import pid_alive

if TYPE_CHECKING:
    from opsctl.config.models import LoadedProject

STATE_DIR = ".opsctl"
SUPERUSER = "postgres"
SERVICE_USER = "pgserver"  # runs the server when opsctl runs as root
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class ServerStatus:
    """What ``opsctl db status`` shows."""

    data_dir: Path
    initialised: bool
    running: bool
    pid: int | None = None
    port: int | None = None
    major: int | None = None

    @property
    def admin_url(self) -> str | None:
        if not self.running or self.port is None:
            return None
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"


class EmbeddedServer:
    """The private PostgreSQL server whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log_file = data_dir / "server.log"
        self.lock_file = data_dir.parent / "postgres.lock"
        self.started_here = False  # True when this object started the server

    @classmethod
    def for_project(cls, project: LoadedProject) -> EmbeddedServer:
        return cls(project.root / STATE_DIR / "postgres")

    # -- inspection ---------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        initialised = (self.data_dir / "PG_VERSION").is_file()
        major = _read_major(self.data_dir) if initialised else None
        pid, port, ready = _read_postmaster_pid(self.data_dir)
        running = pid is not None and ready and pid_alive(pid)
        return ServerStatus(
            data_dir=self.data_dir,
            initialised=initialised,
            running=running,
            pid=pid if running else None,
            port=port if running else None,
            major=major,
        )

    @property
    def admin_url(self) -> str:
        """URL of the ``postgres`` database (the server must be running)."""
        url = self.status().admin_url
        if url is None:
            raise DatabaseError(
                f"the embedded PostgreSQL server is not running ({self.data_dir})",
                hint="start it with: opsctl db start",
            )
        return url

    def url(self, database: str) -> str:
        from opsctl.database.urls import with_database

        return with_database(self.admin_url, database)

    # -- life cycle ---------------------------------------------------------------------------

    def ensure_started(self) -> EmbeddedServer:
        """Start the server unless it runs already (initialising the data folder on first use)."""
        with self._locked():
            if self.status().running:
                return self
            binaries = self._ensure_initialised()
            self._start(binaries)
            self.started_here = True
        return self

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        with self._locked():
            current = self.status()
            if not current.running or current.pid is None:
                return False
            binaries = find_binaries(current.major)
            try:
                self._run(
                    binaries,
                    "pg_ctl",
                    [
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        str(STOP_TIMEOUT_S),
                        "stop",
                    ],
                    timeout=STOP_TIMEOUT_S + 10,
                )
            except DatabaseError:
                if pid_alive(current.pid):
                    raise
            _wait_until_gone(current.pid, timeout_s=STOP_TIMEOUT_S)
            return True

    def ensure_database(self, name: str) -> str:
        """URL of database ``name`` on this server, created when it does not exist."""
        import psycopg
        from psycopg import sql

        self.ensure_started()
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as admin:
                exists = admin.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if exists is None:
                    with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            raise DatabaseError(f"cannot create database {name}: {error}".strip()) from None
        return self.url(name)

    # -- internals ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.lock_file.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# opsctl's local state (embedded PostgreSQL data)\n*\n")
        with self.lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _ensure_initialised(self) -> PostgresBinaries:
        if (self.data_dir / "PG_VERSION").is_file():
            return find_binaries(_read_major(self.data_dir))
        binaries = find_binaries()
        # a half-made folder (initdb interrupted) is useless: start afresh
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise DatabaseError(
                f"{self.data_dir} exists but holds no PostgreSQL data (an interrupted initdb?)",
                hint=f"delete {self.data_dir} and run the command again",
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        _prepare_for_service_user(self.data_dir, binaries.bin_dir)
        self._run(
            binaries,
            "initdb",
            [
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            timeout=120,
        )
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "\n# opsctl: loopback TCP only, no Unix socket, small footprint\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 50\n"
                "shared_buffers = 32MB\n"
            )
        return binaries

    def _start(self, binaries: PostgresBinaries) -> None:
        _prepare_for_service_user(self.data_dir, binaries.bin_dir)
        last_error: DatabaseError | None = None
        for _attempt in range(2):  # a second port if the first was taken in between
            port = _free_port()
            try:
                self._run(
                    binaries,
                    "pg_ctl",
                    [
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_file),
                        "-w",
                        "-t",
                        str(START_TIMEOUT_S),
                        "-o",
                        f"-p {port}",
                        "start",
                    ],
                    timeout=START_TIMEOUT_S + 10,
                    new_session=True,
                )
            except DatabaseError as error:
                last_error = error
                continue
            if self.status().running:
                return
        raise DatabaseError(
            f"the embedded PostgreSQL server did not start: {last_error or 'not ready'}",
            hint=f"see its log: {self.log_file}",
        )

    def _run(
        self,
        binaries: PostgresBinaries,
        program: str,
        args: list[str],
        *,
        timeout: float,
        new_session: bool = False,
    ) -> None:
        user = _service_user()
        # again before every command: another process may have tightened a parent folder
        # (pytest resets /tmp/pytest-of-<user> to 0700 at each session start, for example)
        _prepare_for_service_user(self.data_dir, binaries.bin_dir)
        try:
            # output to a file, not a pipe: the postmaster inherits pg_ctl's descriptors and a
            # pipe would never reach EOF while it runs
            with Path(os.devnull).open("rb") as stdin, tempfile.TemporaryFile() as out:
                result = subprocess.run(
                    [binaries.path(program), *args],
                    stdin=stdin,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                    start_new_session=new_session,
                    user=user,
                    group=_group_of(user),
                    extra_groups=[] if user is not None else None,
                    env={**os.environ, "LC_ALL": "C"},
                )
                out.seek(0)
                output = out.read().decode("utf-8", "replace").strip()
        except subprocess.TimeoutExpired:
            raise DatabaseError(f"{program} did not finish within {timeout:.0f} s") from None
        except OSError as error:
            raise DatabaseError(f"cannot run {program}: {error.strerror}") from None
        if result.returncode != 0:
            tail = " | ".join(output.splitlines()[-3:])
            raise DatabaseError(f"{program} failed: {tail}", hint=f"see {self.log_file}")


def _read_major(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return None


def _read_postmaster_pid(data_dir: Path) -> tuple[int | None, int | None, bool]:
    """(pid, port, ready) from ``postmaster.pid`` (lines: pid, data dir, start, port, ...)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None, None, False
    try:
        pid = int(lines[0])
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip() else None
    except (IndexError, ValueError):
        return None, None, False
    ready = len(lines) > 7 and lines[7].strip() == "ready"
    return pid, port, ready


def _wait_until_gone(pid: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise DatabaseError(f"the embedded PostgreSQL server (pid {pid}) did not stop")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _service_user() -> str | None:
    """None normally; as root, the unprivileged user the server runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        try:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVICE_USER,
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise DatabaseError(
                f"PostgreSQL cannot run as root and creating user {SERVICE_USER} failed: {error}",
                hint="run opsctl as an ordinary user",
            ) from None
    return SERVICE_USER


def _group_of(user: str | None) -> int | None:
    return None if user is None else pwd.getpwnam(user).pw_gid


def _prepare_for_service_user(data_dir: Path, bin_dir: Path) -> None:
    """As root: give the data folder to the service user and let it reach it and the binaries."""
    user = _service_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    if data_dir.exists() and data_dir.stat().st_uid != entry.pw_uid:
        _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
    for folder in (*data_dir.parents, *bin_dir.parents, bin_dir.parent / "lib"):
        with contextlib.suppress(OSError):
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(Path(dirpath) / name, uid, gid)
