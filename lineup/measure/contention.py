"""Whether a table's speed figures were measured under the same contention, and the words of
its badge when they were not.

Each answer stores `concurrent_max` (lineup.run.contention: the most other requests this
process had in flight on the same host during its life; 0 when it ran alone). A table's
figures were measured under the same contention when every answer they count (the `ok`
answers of its models) has the same concurrent_max: all alone, or all beside the same number
of others (as in a `parallel` run of two models on one machine, each slowed alike). Otherwise
the table gets the badge: models measured under different contention (one alone, another
beside 2 others), or one model's figure mixing answers measured alone and together (a fair
study and a parallel one on the leaderboard). Each model is given by the smallest and the
largest concurrent_max of its answers; answers from before Lineup counted (NULL) take no part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lineup.core import N_, _, ngettext

CONTENTION_BADGE = N_("⚠ uneven contention")
# (model, smallest, largest concurrent_max over the answers its figures count)
ModelContention = tuple[str, int | None, int | None]


def in_flight_words(smallest: int | None, largest: int | None) -> str:
    """How one model's answers ran, e.g. `alone`, `with 1 other request in flight`,
    `alone to 2 other requests in flight`, or `not counted`."""
    if smallest is None or largest is None:
        return _("not counted")
    if largest == 0:
        return _("alone")
    if smallest == largest:
        return ngettext(
            "with {count} other request in flight", "with {count} other requests in flight", largest
        ).format(count=largest)
    if smallest == 0:
        return ngettext(
            "alone to {count} other request in flight",
            "alone to {count} other requests in flight",
            largest,
        ).format(count=largest)
    return ngettext(
        "{low} to {count} other request in flight",
        "{low} to {count} other requests in flight",
        largest,
    ).format(low=smallest, count=largest)


def contention_differs(ranges: Iterable[tuple[int | None, int | None]]) -> bool:
    """Whether the answers behind these (smallest, largest) ranges had different counts."""
    values = {value for pair in ranges for value in pair if value is not None}
    return len(values) > 1


def contention_note(by_model: Sequence[ModelContention]) -> str | None:
    """The badge's sentence for a table's models; None when all their answers agree."""
    if not contention_differs((low, high) for _, low, high in by_model):
        return None
    parts = [
        _("{model} {how}").format(model=model, how=in_flight_words(low, high))
        for model, low, high in by_model
    ]
    return _(
        "{badge}: these speed figures were measured under different contention (other requests "
        "Lineup had in flight on the same host): {models}. Fair timing measures each model alone "
        "on its host."
    ).format(badge=_(CONTENTION_BADGE), models="; ".join(parts))
