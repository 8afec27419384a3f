"""A throwaway PostgreSQL server on 127.0.0.1, for the integration tests and bench/leaderboard.py.

Debian's PostgreSQL (packages.apt): `initdb` in a temporary folder (UTF-8, one trusted user
`lineup`), started with `pg_ctl` on a free loopback port, stopped and its folder removed on
exit. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the package
creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from testbed.net import free_port


class PostgresMissing(RuntimeError):
    """PostgreSQL's programs are not installed."""


class Postgres:
    """`with Postgres() as server:` a running server; `server.database(name)` creates a
    database and returns its SQLAlchemy URL."""

    def __init__(self, prefix: str = "lineup-pg-") -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise PostgresMissing(
                "PostgreSQL is not installed: `make setup-dev` installs it (packages.apt)."
            )
        self.bin = Path(found[-1]).parent
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, self.port = self.workdir / "data", free_port()

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)

    def __enter__(self) -> Postgres:
        try:
            self._run(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "lineup",
                "--auth=trust",
                "-E",
                "UTF8",
            )
            self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.workdir / "log"),
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.workdir}",
                "start",
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def database(self, name: str) -> str:
        """Create the database `name`; its URL."""
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "lineup",
            name,
        )
        return f"postgresql+psycopg://lineup@127.0.0.1:{self.port}/{name}"

    def drop(self, name: str) -> None:
        self._run(
            str(self.bin / "dropdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "lineup", name
        )

    def __exit__(self, *_: object) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
        )
        time.sleep(0.2)
        shutil.rmtree(self.workdir, ignore_errors=True)
