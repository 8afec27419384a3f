"""The reader process of the fault suite (`python -m tests.faults.loopback_reader FD`): the
real one (backends.reader_child), whose name lookups answer loopback names only, as the suite's own
process does (conftest.py), so nothing it sends leaves this machine."""

from __future__ import annotations

import socket
from typing import Any

from backends import reader_child

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


def install() -> None:
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = loopback_only  # type: ignore[assignment]


if __name__ == "__main__":
    install()
    reader_child.main()
