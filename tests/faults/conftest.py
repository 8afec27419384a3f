"""Fixtures of the fault-injection suite: the loopback fault servers, and a name lookup that
never leaves this machine."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from backends import reader
from tests.faults.fault_server import BacklogFullListener, FaultServer
from tests.faults.loopback_reader import LOOPBACK_NAMES as _LOOPBACK_NAMES


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


@pytest.fixture(scope="session")
def loopback_reader() -> Iterator[reader.Reader]:
    """One reader process for the suite, whose lookups stay on this machine too."""
    shared = reader.Reader([sys.executable, "-m", "tests.faults.loopback_reader"])
    shared.warm()  # the first comparison's short timeout is not for starting it
    yield shared
    shared.stop()


@pytest.fixture(autouse=True)
def reader_without_dns(
    loopback_reader: reader.Reader, monkeypatch: pytest.MonkeyPatch
) -> reader.Reader:
    """The runner reads HTTP answers in the reader process: the suite's own one here."""
    monkeypatch.setattr(reader, "_shared", loopback_reader)
    return loopback_reader


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
