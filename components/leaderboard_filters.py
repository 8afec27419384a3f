"""The leaderboard's filter bar: study, set, tag, dates, annotator, status and "measured
alone", kept in the page's address
(`?study=3&tag=billing&since=2026-11-01&until=2026-12-01&status=ok&alone=yes`) so that a
reload or a shared link shows the same rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import streamlit as st

from components.tables import date_format
from lineup.app import (
    FAILED,
    INPUT_ERRORS,
    N_,
    QUERY_KEYS,
    FilterChoices,
    LeaderboardFilter,
    Lineup,
    _,
    day_range,
)

ADDRESS_KEY = "leaderboard-filter-address"  # the filters the bar last showed, as a query
ROUND_KEY = "leaderboard-filter-round"  # bumped when the address changes from outside
ALL = N_("All")
# Marked; the pickers are given them said (a format_func never calls `_()`).
STATUS_WORDS = {
    "ok": N_("ok: complete answers"),
    FAILED: N_("failed: every failure"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "cancelled": N_("cancelled (Stop pressed)"),
    "interrupted": N_("interrupted (process died)"),
    "running": N_("running"),
}
STATUS_HELP = N_(
    "Count only the generations in this state. The figures (labels, medians, WER) are over "
    "complete (ok) answers as always, so with another state a row holds only its counts."
)
FILTERS_HELP = N_(
    "Narrow both tables to a study, a set, a tag of its items, a range of days, one "
    "annotator's labels, one state, or the answers measured alone. Turning this off clears "
    "the filters."
)
# Each filter's width in px, wide enough for its label and a usual value ("#12 ·
# support-screenshots (VLM)", a date as YYYY-MM-DD), in the order shown. The filters sit in a
# row that wraps onto more rows where they do not fit, none squeezed: study, set and the dates
# above tag, annotator and status in a 1400 px window; three rows at 1000 px.
WIDTH_PX = {
    "Study": 290,
    "Set": 230,
    "From (UTC)": 150,
    "To (UTC)": 150,
    "Tag": 160,
    "Labels by": 160,
    "Status": 240,
    "Measured alone": 190,
}
ALONE_HELP = N_(
    "Only answers that ran with no other request of Lineup's in flight on their host (this "
    "machine, or the server's machine): speed figures measured alone. Answers stored before "
    "Lineup counted this are left out too."
)
FROM_HELP = N_("Only generations started on this day (UTC) or later.")
TO_HELP = N_("Only generations started on this day (UTC) or earlier.")


def address_filter() -> tuple[LeaderboardFilter, list[str]]:
    """The filter in the page's address, and a message for each value that could not be read
    (that filter is left out)."""
    good: dict[str, str] = {}
    problems = []
    for key in QUERY_KEYS:
        value = st.query_params.get(key)
        if not value:
            continue
        try:
            LeaderboardFilter.from_query({key: value})
        except INPUT_ERRORS as exc:
            problems.append(
                _("The address's `{key}` is left out: {problem}").format(key=key, problem=exc)
            )
        else:
            good[key] = value
    try:
        return LeaderboardFilter.from_query(good), problems
    except INPUT_ERRORS as exc:  # each value reads, but together they do not: the dates
        problems.append(_("The address's dates are left out: {problem}").format(problem=exc))
        good.pop("since", None)
        good.pop("until", None)
        return LeaderboardFilter.from_query(good), problems


def _known(f: LeaderboardFilter, choices: FilterChoices) -> tuple[LeaderboardFilter, list[str]]:
    """The filter without what the store does not hold (a link from another store, a typo)."""
    query = f.as_query()
    known = {
        "study": {str(s.id) for s in choices.studies},
        "set": {s.name for s in choices.sets},
        "tag": set(choices.tags),
        "annotator": set(choices.annotators),
    }
    problems = []
    for key, values in known.items():
        if key in query and query[key] not in values:
            problems.append(
                _("There is no {key} {value} here: that filter is left out.").format(
                    key=key, value=repr(query[key])
                )
            )
            del query[key]
    return LeaderboardFilter.from_query(query), problems


def _shown_days(f: LeaderboardFilter) -> tuple[date | None, date | None]:
    """The first and last days (both included) the date pickers show for the filter. The page
    works in whole UTC days: a moment within a day in the address widens to that day."""
    first = None if f.since is None else f.since.date()
    last = None if f.until is None else (f.until - timedelta(microseconds=1)).date()
    return first, last


def _select(where: Any, label: str, options: list[Any], value: Any, key: str, **kw: Any) -> Any:
    """A selectbox whose first option is "All" (no filter); `label` is marked (N_), said here."""
    choices = [None, *options]
    return where.selectbox(
        _(label),
        choices,
        index=choices.index(value) if value in choices else 0,
        key=key,
        width=WIDTH_PX[label],
        **kw,
    )


def _clear() -> None:
    """No filter in the page's address."""
    for key in QUERY_KEYS:
        if key in st.query_params:
            del st.query_params[key]


def _scope(
    bar: Any, choices: FilterChoices, shown: LeaderboardFilter, round_: int
) -> tuple[int | None, str | None]:
    """The study and set pickers, first in the bar."""
    studies = {s.id: s for s in choices.studies}
    sets = {s.name: s for s in choices.sets}
    every = _(ALL)
    study_id = _select(
        bar,
        N_("Study"),
        list(studies),
        shown.study_id,
        f"lb-study-{round_}",
        format_func=lambda s: (
            every if s is None else f"#{s} · {studies[s].set_name} ({studies[s].kind.upper()})"
        ),
        help=_("Only the answers of this study (every one of its runs, in any state)."),
    )
    set_name = _select(
        bar,
        N_("Set"),
        list(sets),
        shown.set_name,
        f"lb-set-{round_}",
        format_func=lambda s: every if s is None else f"{s} ({sets[s].kind.upper()})",
        help=_("Only the answers to this set's items, in every study of it."),
    )
    return study_id, set_name


def _days(bar: Any, shown: LeaderboardFilter, round_: int) -> tuple[date | None, date | None]:
    """The first and last day pickers, after the study and set."""
    first_day, last_day = _shown_days(shown)
    first = bar.date_input(
        _("From (UTC)"),
        value=first_day,
        key=f"lb-from-{round_}",
        format=date_format("YYYY-MM-DD"),
        help=_(FROM_HELP),
        width=WIDTH_PX["From (UTC)"],
    )
    last = bar.date_input(
        _("To (UTC)"),
        value=last_day,
        key=f"lb-to-{round_}",
        format=date_format("YYYY-MM-DD"),
        help=_(TO_HELP),
        width=WIDTH_PX["To (UTC)"],
    )
    return first, last


def _tag_annotator_status(
    bar: Any, choices: FilterChoices, shown: LeaderboardFilter, round_: int
) -> tuple[str | None, str | None, str | None]:
    """The tag, annotator and status pickers, last in the bar."""
    every = _(ALL)
    status_words = {state: _(words) for state, words in STATUS_WORDS.items()}
    tag = _select(
        bar,
        N_("Tag"),
        list(choices.tags),
        shown.tag,
        f"lb-tag-{round_}",
        format_func=lambda t: every if t is None else t,
        help=_("Only the answers to set items with this tag (only study answers have tags)."),
    )
    annotator = _select(
        bar,
        N_("Labels by"),
        list(choices.annotators),
        shown.annotator,
        f"lb-annotator-{round_}",
        format_func=lambda a: every if a is None else a,
        help=_("Count only this annotator's labels (their latest on each answer)."),
    )
    status = _select(
        bar,
        N_("Status"),
        list(choices.statuses),
        shown.status,
        f"lb-status-{round_}",
        format_func=lambda s: every if s is None else status_words.get(s, s),
        help=_(STATUS_HELP),
    )
    return tag, annotator, status


def _valid_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The moments the chosen days cover; none while the last day is before the first."""
    if first is not None and last is not None and last < first:
        st.warning(
            _("The last day is before the first: the dates are left out until they are swapped."),
            icon=":material/event_busy:",
        )
        first = last = None
    return day_range(first, last)


def _write_address(query: dict[str, str]) -> None:
    """The filter into the page's address: each key set, changed or removed as needed."""
    for key in QUERY_KEYS:
        if key in query:
            if st.query_params.get(key) != query[key]:
                st.query_params[key] = query[key]
        elif key in st.query_params:
            del st.query_params[key]


def filter_bar(app: Lineup) -> LeaderboardFilter:
    """The filter bar; returns the filter chosen and keeps it in the page's address.

    Off (no filter, nothing read) until the person turns it on or the address holds a
    filter: the unfiltered page stays as fast as it was. The widgets start from the address
    (on a reload, a shared link, or a link that changed it), then keep what the person
    picks; each pick is written back to the address.
    """
    in_address = any(st.query_params.get(key) for key in QUERY_KEYS)
    shown, problems = address_filter()
    if st.session_state.get(ADDRESS_KEY) != shown.as_query():
        st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
    round_ = st.session_state[ROUND_KEY]
    if not st.toggle(_("Filters"), value=in_address, key=f"lb-on-{round_}", help=_(FILTERS_HELP)):
        _clear()
        st.session_state[ADDRESS_KEY] = {}
        return LeaderboardFilter()
    choices = app.leaderboard.choices()
    shown, unknown = _known(shown, choices)
    for problem in [*problems, *unknown]:
        st.warning(problem, icon=":material/filter_alt_off:")

    bar = st.container(horizontal=True, wrap=True, vertical_alignment="bottom")
    study_id, set_name = _scope(bar, choices, shown, round_)
    first, last = _days(bar, shown, round_)
    tag, annotator, status = _tag_annotator_status(bar, choices, shown, round_)
    alone = bar.toggle(
        _("Measured alone"),
        value=bool(shown.alone),
        key=f"lb-alone-{round_}",
        help=_(ALONE_HELP),
        width=WIDTH_PX["Measured alone"],
    )
    since, until = _valid_range(first, last)
    chosen = LeaderboardFilter(
        study_id=study_id,
        set_name=set_name,
        tag=tag,
        since=since,
        until=until,
        annotator=annotator,
        status=status,
        alone=alone,
    )
    query = chosen.as_query()
    _write_address(query)
    st.session_state[ADDRESS_KEY] = query
    if not chosen.is_empty:
        st.caption(
            _(
                "Filtered: {filters}. Only the generations and labels that match count; the "
                "raw rows under All rows are every row."
            ).format(filters=chosen.describe())
        )
    return chosen
