"""A judge scoring a study in the background of this process (the Studies page's "Score").

The job runs lineup.score.judge.judge_study in a thread: every verdict is stored the moment it
comes, so the job itself holds only what the page shows while it runs (requests done of the total,
then the JudgeRun or the error). Stopping it stops the request in flight, whose row is stored
as failed and asked again next time; a killed process leaves its row `asking`, asked again
once its owner is gone. Scoring again is the resume: it asks only what has no verdict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backends.base import CancelToken
from lineup.core import N_, InputError, Message
from lineup.score.judge import JudgeRun
from lineup.score.judge_prompt import JUDGE_MAX_TOKENS, JUDGE_TIMEOUT_S
from lineup.score.judge_verdicts import JudgeSetting


@dataclass(frozen=True)
class JudgeProgress:
    """What a judge job has done: requests done of the total, and how it ended."""

    study_id: int
    judge: str
    protocol: str
    done: int
    total: int | None  # None until the requests are counted
    running: bool
    stopped: bool
    run: JudgeRun | None  # when it ended by itself or was stopped
    error: str | None  # when it ended on an error
    # The error's template and values (Message.stored), said in the page's language.
    error_said: dict[str, Any] | None = None


Work = Callable[[Callable[[int, int], None], CancelToken], JudgeRun]


class JudgeJob:
    """One study's judge at work in a thread of this process."""

    def __init__(
        self,
        store_key: str,
        study_id: int,
        judge: str,
        protocol: str,
        work: Work,
        *,
        max_tokens: int = JUDGE_MAX_TOKENS,
        timeout_s: float = JUDGE_TIMEOUT_S,
    ):
        self.store_key = store_key  # which store the study is in (one process, many in tests)
        self.study_id = study_id
        self.judge = judge
        self.protocol = protocol
        # The judge's limits, as the job asks with them (what a reloaded page shows).
        self.setting = JudgeSetting(judge, protocol, max_tokens, timeout_s)
        self._work = work
        self._stop = CancelToken()
        self._lock = threading.Lock()
        self._done = 0
        self._total: int | None = None
        self._run: JudgeRun | None = None
        self._error: Message | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"judge-study-{study_id}", daemon=True
        )

    def start(self) -> JudgeJob:
        _register(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the request in flight is stopped (it is asked again next time)."""
        self._stop.cancel()

    def wait(self, timeout_s: float | None = None) -> JudgeProgress:
        self._thread.join(timeout_s)
        return self.progress()

    def progress(self) -> JudgeProgress:
        with self._lock:
            return JudgeProgress(
                self.study_id,
                self.judge,
                self.protocol,
                self._done,
                self._total,
                self._thread.is_alive(),
                self._stop.cancelled,
                self._run,
                self._error.english if self._error is not None else None,
                self._error.stored() if self._error is not None else None,
            )

    def _advance(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = done, total

    def _main(self) -> None:
        try:
            run = self._work(self._advance, self._stop)
        except InputError as exc:
            # Said in this thread's language (English): the caller's checks came first.
            error: Message | None = Message(str(exc))
            run = None
        except Exception as exc:  # noqa: BLE001 - the job reports it; the app keeps running
            error = Message.of(
                N_("The judge stopped on an error: {error}"),
                error=f"{type(exc).__name__}: {exc}",
            )
            run = None
        else:
            error = None
        with self._lock:
            self._run, self._error = run, error


_jobs: dict[tuple[str, int], JudgeJob] = {}
_jobs_lock = threading.Lock()


def _register(job: JudgeJob) -> None:
    with _jobs_lock:
        _jobs[(job.store_key, job.study_id)] = job


def active_judging(store_key: str, study_id: int) -> JudgeJob | None:
    """The study's judge job in this process that is still running, or None."""
    job = last_judging(store_key, study_id)
    return job if job is not None and job.progress().running else None


def last_judging(store_key: str, study_id: int) -> JudgeJob | None:
    """The study's latest judge job in this process, running or ended."""
    with _jobs_lock:
        return _jobs.get((store_key, study_id))
