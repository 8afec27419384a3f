"""Alone or together: how many other requests Lineup had in flight beside each one, and the
`fair` timing mode's order.

Definitions (docs/design.md, "Alone or together"):

- host: where a request's compute runs. In-process engines (transformers, OCR, Bark, Piper,
  Whisper), servers on a loopback address (localhost, 127.0.0.0/8, ::1, 0.0.0.0), servers
  named by this machine's own host name, and a spec without a URL (every server kind's
  default is a loopback address) are all `this machine`: an Ollama on 127.0.0.1:11434 and a
  transformers model share its CPU and memory. Any other server is its URL's host name, lower
  case, without the port: two servers on one remote machine share its hardware. Names are not
  resolved (no DNS while measuring), so this machine's LAN address, or two names of one
  remote machine, count as different hosts.
- endpoint: one server: the host and the port (the scheme's default when none is written);
  an in-process engine kind is an endpoint of its own (`in-process:transformers`).
- in flight: from the moment the request is sent (the clock's start; an in-process TTS
  engine's synthesis, once it holds the engine) until its last chunk, or the moment its
  final state is decided (a timeout or Stop ends it then).
- concurrent_max: the most OTHER requests this process had in flight on the same host at
  any one moment of this request's life (0: it ran alone there); concurrent_endpoint_max:
  the same on the same endpoint. Counted across every comparison, voice comparison and study
  of this process (one registry, `IN_FLIGHT`, under one lock); another process's requests
  (a second app, a CLI run, another person) are not seen.

Timing modes: `parallel` sends every model at once (fastest; figures measured together);
`fair` runs the models of one host one after another, in the order `fair_order` gives (a
rotation that starts at offset (item + repeat) mod k, so over k items or repeats each model
goes first once); models on different hosts still run at the same time.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Sequence
from typing import Literal, TypeVar
from urllib.parse import urlsplit

TimingMode = Literal["parallel", "fair"]
PARALLEL: TimingMode = "parallel"
FAIR: TimingMode = "fair"
TIMING_MODES: tuple[TimingMode, ...] = (PARALLEL, FAIR)
THIS_MACHINE = "this machine"
IN_PROCESS = "in-process:"
_DEFAULT_PORTS = {"http": 80, "https": 443}

T = TypeVar("T")


def is_this_machine(hostname: str) -> bool:
    """Whether a host name (no port, no brackets) is this machine: a loopback or unspecified
    address, `localhost`, or this machine's own name."""
    if hostname in ("localhost", "localhost.localdomain", socket.gethostname().lower()):
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return hostname.endswith(".localhost")
    return address.is_loopback or address.is_unspecified


def host_of(endpoint: str) -> str:
    """The host of a lane's endpoint (a base URL, `in-process:KIND`, or a bare kind)."""
    if endpoint.startswith(IN_PROCESS) or "://" not in endpoint:
        return THIS_MACHINE
    hostname = (urlsplit(endpoint).hostname or "").lower()
    if not hostname or is_this_machine(hostname):
        return THIS_MACHINE
    return hostname


def endpoint_of(endpoint: str) -> str:
    """One server's key: `host:port` (so 127.0.0.1:11434 and localhost:11434 are one), or
    the in-process engine kind, or a bare kind's name."""
    if endpoint.startswith(IN_PROCESS) or "://" not in endpoint:
        return endpoint
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port if port is not None else _DEFAULT_PORTS.get(parts.scheme.lower())
    return f"{host_of(endpoint)}:{port}"


def fair_order(members: Sequence[T], item: int, repeat: int) -> list[T]:
    """`members` (one host's models, in the order given) rotated to start at offset
    (item + repeat) mod k: item 0 repeat 0 starts with the first, item 1 (or repeat 1) with
    the second, ..., so each model goes first once in every k consecutive items."""
    if not members:
        return []
    offset = (item + repeat) % len(members)
    return [*members[offset:], *members[:offset]]


class InFlight:
    """One request while it is in flight: the most others seen beside it so far."""

    def __init__(self, registry: InFlightRegistry, host: str, endpoint: str) -> None:
        self.registry = registry
        self.host = host
        self.endpoint = endpoint
        self.concurrent_max = 0
        self.concurrent_endpoint_max = 0
        self.open = True

    def leave(self) -> None:
        """The request's life ended (its last chunk, or its final state); idempotent."""
        self.registry.leave(self)

    def figures(self) -> dict[str, int]:
        """The stored fields (generations.concurrent_max, concurrent_endpoint_max)."""
        return {
            "concurrent_max": self.concurrent_max,
            "concurrent_endpoint_max": self.concurrent_endpoint_max,
        }


class InFlightRegistry:
    """Every request this process has in flight, by host and endpoint, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: list[InFlight] = []

    def enter(self, lane_endpoint: str) -> InFlight:
        """A request to `lane_endpoint` is being sent now."""
        with self._lock:
            ticket = InFlight(self, host_of(lane_endpoint), endpoint_of(lane_endpoint))
            self._open.append(ticket)
            # Only an arrival raises a count, so the maxima are kept up to date here alone.
            on_host = [t for t in self._open if t.host == ticket.host]
            on_endpoint = [t for t in on_host if t.endpoint == ticket.endpoint]
            for other in on_host:
                other.concurrent_max = max(other.concurrent_max, len(on_host) - 1)
            for other in on_endpoint:
                other.concurrent_endpoint_max = max(
                    other.concurrent_endpoint_max, len(on_endpoint) - 1
                )
            return ticket

    def leave(self, ticket: InFlight) -> None:
        with self._lock:
            if ticket.open:
                ticket.open = False
                self._open.remove(ticket)

    def in_flight(self, host: str | None = None) -> int:
        """How many requests are in flight now (on `host`, or anywhere)."""
        with self._lock:
            return sum(1 for t in self._open if host is None or t.host == host)


IN_FLIGHT = InFlightRegistry()  # the process's one registry


class HostTurns:
    """The `fair` mode's one-at-a-time rule per host across this process: a fair comparison or
    study takes its host's turn before it sends, so two fair runs never overlap on a host
    (a `parallel` run beside them still may; its overlap is recorded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: dict[str, threading.Lock] = {}

    def of(self, host: str) -> threading.Lock:
        with self._lock:
            return self._turns.setdefault(host, threading.Lock())


HOST_TURNS = HostTurns()


class Turn:
    """A request's hold on its host's turn (fair mode): taken before it is sent, given back
    once when its final state is decided, from whichever thread decides it."""

    def __init__(self, host_lock: threading.Lock) -> None:
        self._host_lock = host_lock
        self._guard = threading.Lock()
        self._held = False

    def take(self, stopped: threading.Event, poll_s: float = 0.05) -> bool:
        """Wait for the host's turn; False (and not held) when `stopped` is set meanwhile.
        Whoever sets `stopped` calls give_back after, so a turn taken just then is freed."""
        while not self._host_lock.acquire(timeout=poll_s):
            if stopped.is_set():
                return False
        with self._guard:
            self._held = True
        if stopped.is_set():
            self.give_back()
            return False
        return True

    def give_back(self) -> None:
        with self._guard:
            if self._held:
                self._held = False
                self._host_lock.release()


def check_timing(mode: str) -> TimingMode:
    """`mode` as a TimingMode; ValueError naming the choices otherwise."""
    for known in TIMING_MODES:
        if mode == known:
            return known
    raise ValueError(f"Timing {mode!r} is not one of: {', '.join(TIMING_MODES)}.")
