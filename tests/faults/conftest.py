"""Fixtures of the fault-injection suite: the loopback fault servers, and a name lookup that
never leaves this machine."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.fault_server import BacklogFullListener, FaultServer

_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_dns_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look up loopback names only: any other name fails as an unknown host does, without a
    query to a DNS server (this suite sends nothing beyond 127.0.0.1)."""
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture()
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture()
def backlog_full() -> Iterator[BacklogFullListener]:
    listener = BacklogFullListener()
    try:
        yield listener
    finally:
        listener.close()
