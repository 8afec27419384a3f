"""Who runs a `running` row: this process's host and pid, and whether a row's owner is gone
(its process ended on this host, its heartbeat stale elsewhere)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from lineup.core import N_, RUNNING, Message
from lineup.store.tables import Generation, utcnow

# A running row on another host whose heartbeat is older than this has lost its owner.
HEARTBEAT_STALE_S = 30.0


def this_owner() -> tuple[str, int]:
    """The host and process id this process records as the owner of what it runs."""
    return socket.gethostname()[:255], os.getpid()


def owner_gone(
    owner_host: str | None,
    owner_pid: int | None,
    since: datetime | None,
    heartbeat_at: datetime | None,
    *,
    stale_s: float = HEARTBEAT_STALE_S,
) -> Message | None:
    """Why the owner of a running row is gone (a phrase, said within an interrupted row's
    message), or None while it lives.

    On this host an owner is gone at once when its process no longer exists (or its pid now
    belongs to a process younger than `since`, when the row was taken). Elsewhere, when its
    heartbeat (or `since`) is older than `stale_s`.
    """
    import psutil

    if owner_host == this_owner()[0] and owner_pid is not None:
        if _process_alive(psutil, owner_pid, since):
            return None
        return Message.of(N_("the Lineup process that ran it (pid {pid}) is gone"), pid=owner_pid)
    last = _aware(heartbeat_at or since)
    if last is None or utcnow() - last > timedelta(seconds=stale_s):
        if owner_host:
            return Message.of(
                N_("the Lineup process on {host} stopped sending its heartbeat"), host=owner_host
            )
        return Message.of(
            N_("the Lineup process of an earlier Lineup stopped sending its heartbeat")
        )
    return None


def running_row(
    model_spec: str,
    position: int,
    sample_index: int,
    seed: int | None,
    resolved_spec: str | None = None,
) -> Generation:
    """A new `running` row, owned by this process, its heartbeat now."""
    host, pid = this_owner()
    return Generation(
        model_spec=model_spec,
        resolved_spec=resolved_spec or model_spec,
        position=position,
        sample_index=sample_index,
        seed=seed,
        status=RUNNING,
        owner_host=host,
        owner_pid=pid,
        heartbeat_at=utcnow(),
    )


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the store writes UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def _process_alive(psutil: Any, pid: int, started_at: datetime | None) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; whose it is cannot be told
    started = _aware(started_at)
    # A pid reused by a process started after the row was written is not its owner.
    return started is None or created <= started.timestamp() + 1.0
