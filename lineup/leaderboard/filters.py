"""The leaderboard's filters: which generations and labels its figures count.

A filter narrows the rows; every figure keeps its definition (lineup.measure's figures
and voices) and is computed over the rows the filter keeps. Filters combine: a row
must pass each one that is set.

- study_id: the generations held by the study's runs (one run per item of its set), in any
  state. A row a resumed study released (lineup.study.records.release_unfinished) stays in its
  run and counts here as the failure it was; the study's own tables count only its current
  answers.
- set_name: the generations of the runs that ask an item of that set, in every study of it.
- tag: the generations of the runs that ask an item carrying that tag (exact, case-sensitive).
  Tags belong to set items, so only study answers have them.
- since, until: the generations started in [since, until): since included, until excluded,
  moments in UTC (a naive datetime is read as UTC; a day given as YYYY-MM-DD is its 00:00 UTC).
- annotator: only that annotator's counted labels (their latest on each `ok` answer) count in
  the label columns. It narrows no generation: the counts and the timings stay.
- status: the generations in that state (`ok`, `error`, `timeout`, `cancelled`,
  `interrupted`, `running`), or `failed` (every final state but `ok`). The count columns
  (generations, ok, failed and each failed state) then count those rows only, and a model
  with none of them has no row; the figures stay over `ok` answers as always, so with any
  status but `ok` a row holds counts and no figure, and with `ok` the figures are those
  without the status filter.
- alone: only the generations measured alone (lineup.run.contention: concurrent_max = 0, no
  other request of Lineup's in flight on their host during their life); rows from before
  Lineup counted (NULL) are left out too. Its query value is `yes`.

The choices the filters can take, and the check that a filter names what the store holds, are
in choices.py; the counts the figures are made from, and what they cost, in counts.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from lineup.core import (
    CANCELLED,
    ERROR,
    FINAL_STATUSES,
    INTERRUPTED,
    N_,
    OK,
    RUNNING,
    TIMEOUT,
    InputError,
    _,
    state_word,
)

FAILED = "failed"  # every final state but `ok`
STATUS_CHOICES = (OK, FAILED, ERROR, TIMEOUT, CANCELLED, INTERRUPTED, RUNNING)

# The query (URL and JSON) names of the filters, in the order the filter bar shows them.
QUERY_KEYS = ("study", "set", "tag", "since", "until", "annotator", "status", "alone")
ALONE = "yes"  # the `alone` filter's query value
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


_NOT_A_DATE = {
    "date": N_("{value} is not a date: write it as YYYY-MM-DD (a day in UTC), e.g. 2026-11-30."),
    "date (since)": N_(
        "{value} is not a date (since): write it as YYYY-MM-DD (a day in UTC), e.g. 2026-11-30."
    ),
    "date (until)": N_(
        "{value} is not a date (until): write it as YYYY-MM-DD (a day in UTC), e.g. 2026-11-30."
    ),
}


def parse_moment(value: str, what: str = "date") -> datetime:
    """A day (YYYY-MM-DD: its 00:00 UTC) or an ISO 8601 moment (naive: UTC); InputError
    saying how to write one otherwise (`what`: one of _NOT_A_DATE's keys)."""
    text_value = value.strip()
    try:
        if _DAY.fullmatch(text_value):
            return datetime.combine(date.fromisoformat(text_value), time(), tzinfo=UTC)
        return as_utc(datetime.fromisoformat(text_value))
    except ValueError:
        raise InputError(_(_NOT_A_DATE[what]).format(value=repr(value))) from None


def as_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive datetime is taken to be in UTC (the store's clock)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def states_of(status: str) -> tuple[str, ...]:
    """The states a status filter keeps."""
    return tuple(s for s in FINAL_STATUSES if s != OK) if status == FAILED else (status,)


def _moment_text(moment: datetime) -> str:
    """A day as YYYY-MM-DD when the moment is its midnight UTC, else the ISO moment."""
    return moment.date().isoformat() if moment.timetz() == time(tzinfo=UTC) else moment.isoformat()


def _cleaned(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True)
class LeaderboardFilter:
    """Which generations and labels a leaderboard counts (see the module docstring). Checked
    when made: InputError for an unknown status or an empty date range. Whether the study,
    set, tag and annotator exist is checked against the store (`check_filter`)."""

    study_id: int | None = None
    set_name: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    annotator: str | None = None
    status: str | None = None
    alone: bool | None = None  # True or None (no filter)

    def __post_init__(self) -> None:
        # Normalised once here, so that equal filters compare equal: names stripped (an
        # empty one is no filter), moments in UTC.
        for name in ("set_name", "tag", "annotator", "status"):
            object.__setattr__(self, name, _cleaned(getattr(self, name)))
        if not self.alone:
            object.__setattr__(self, "alone", None)
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, as_utc(moment))
        if self.status is not None and self.status not in STATUS_CHOICES:
            raise InputError(
                _(
                    "Status {status} is not one of: {choices} ({failed}: every final state but "
                    "{ok})."
                ).format(
                    status=repr(self.status),
                    choices=", ".join(STATUS_CHOICES),
                    failed=FAILED,
                    ok=OK,
                )
            )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InputError(
                _(
                    "The date range is empty: since ({since}) must be before until ({until}, "
                    "which is not included)."
                ).format(since=_moment_text(self.since), until=_moment_text(self.until))
            )

    @property
    def is_empty(self) -> bool:
        """No filter set: the leaderboard counts every generation and label."""
        return all(getattr(self, f.name) is None for f in fields(self))

    @property
    def narrows_rows(self) -> bool:
        """Whether a filter other than the annotator and the status is set: then the counts
        read the rows the filter keeps instead of the indexes alone."""
        return any(
            value is not None
            for value in (
                self.study_id,
                self.set_name,
                self.tag,
                self.since,
                self.until,
                self.alone,
            )
        )

    def as_query(self) -> dict[str, str]:
        """The filters set, by query name (QUERY_KEYS): for the page's address and the JSON."""
        values = {
            "study": None if self.study_id is None else str(self.study_id),
            "set": self.set_name,
            "tag": self.tag,
            "since": None if self.since is None else _moment_text(self.since),
            "until": None if self.until is None else _moment_text(self.until),
            "annotator": self.annotator,
            "status": self.status,
            "alone": ALONE if self.alone else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> LeaderboardFilter:
        """The filter of a page's address or of the CLI's options, by query name (QUERY_KEYS;
        other keys are ignored); InputError naming the bad value."""
        study = _cleaned(query.get("study"))
        if study is not None and not study.isdigit():
            raise InputError(
                _("Study {study} is not a study id: give a number, e.g. 3.").format(
                    study=repr(study)
                )
            )
        since, until = _cleaned(query.get("since")), _cleaned(query.get("until"))
        alone = _cleaned(query.get("alone"))
        if alone is not None and alone != ALONE:
            raise InputError(
                f"alone={alone!r} is not a filter: write alone={ALONE}, or leave it out."
            )
        return cls(
            study_id=None if study is None else int(study),
            set_name=query.get("set"),
            tag=query.get("tag"),
            since=None if since is None else parse_moment(since, "date (since)"),
            until=None if until is None else parse_moment(until, "date (until)"),
            annotator=query.get("annotator"),
            status=query.get("status"),
            alone=alone == ALONE,
        )

    def describe(self) -> str:
        """The filters set, in words, e.g. `study #3, tag "billing", started from 2026-11-01`."""
        parts = []  # each a phrase standing alone, in the current language
        if self.study_id is not None:
            parts.append(_("study #{id}").format(id=self.study_id))
        if self.set_name is not None:
            parts.append(_('set "{name}"').format(name=self.set_name))
        if self.tag is not None:
            parts.append(_('tag "{tag}"').format(tag=self.tag))
        if self.since is not None:
            parts.append(_("started from {moment}").format(moment=_moment_text(self.since)))
        if self.until is not None:
            parts.append(_("started before {moment}").format(moment=_moment_text(self.until)))
        if self.annotator is not None:
            parts.append(_("labels by {annotator}").format(annotator=self.annotator))
        if self.status is not None:
            parts.append(_("status {status}").format(status=state_word(self.status)))
        if self.alone:
            parts.append(_("measured alone"))
        return ", ".join(parts) if parts else _("no filter")


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """since and until for the days first to last, both included (a date picker's range)."""
    since = None if first is None else datetime.combine(first, time(), tzinfo=UTC)
    until = None if last is None else datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    return since, until
