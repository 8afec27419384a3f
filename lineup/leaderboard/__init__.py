"""The per-model and per-voice leaderboards over the whole store, and their filters."""

from lineup.leaderboard.boards import TTS_COLUMNS, tts_leaderboard, vlm_leaderboard
from lineup.leaderboard.choices import FilterChoices, check_filter, filter_choices
from lineup.leaderboard.filters import (
    FAILED,
    QUERY_KEYS,
    STATUS_CHOICES,
    LeaderboardFilter,
    day_range,
    parse_moment,
)

__all__ = [
    "FAILED",
    "FilterChoices",
    "LeaderboardFilter",
    "QUERY_KEYS",
    "STATUS_CHOICES",
    "TTS_COLUMNS",
    "check_filter",
    "day_range",
    "filter_choices",
    "parse_moment",
    "tts_leaderboard",
    "vlm_leaderboard",
]
