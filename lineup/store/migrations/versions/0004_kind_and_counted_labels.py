"""Copies that let every aggregate read one index: a generation's kind, a label's kind and spec,
the label that counts, and each scored clip's word errors and reference words.

- generations.kind: the kind of its run. A leaderboard of one kind then reads the indexes of
  generations alone, with no pass over the runs to prove which specs are of which kind.
- generations.word_errors, generations.reference_words: WER's numerator and denominator, so
  that a voice's corpus WER is two sums (before: one sum per sentence, joined to the runs).
  Old rows get them from their sentence, normalised as lineup.scoring normalises it.
- labels.kind, labels.model_spec: those of its generation; labels.counted: the annotator's
  latest label on a complete (`ok`) generation, the one that counts, kept by the store and
  unique per (generation, annotator).

The figure indexes lead with the kind. SQLite cannot add a NOT NULL column without a default,
and rebuilding the tables would run with foreign keys on (a cascade from a dropped table), so
the new NOT NULL columns are added with the default '' and filled at once; on PostgreSQL the
default is dropped after the fill. The store always writes them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import re
import unicodedata
from collections import Counter
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (name, columns, the rows it holds): frozen copies of lineup.models at 0003 and at this one.
OLD_FIGURE_INDEXES = [
    ("ttft_total", ["ttft_s", "total_s"], "ttft_s IS NOT NULL AND total_s IS NOT NULL"),
    ("total_ttft", ["total_s", "ttft_s"], "ttft_s IS NOT NULL AND total_s IS NOT NULL"),
    ("tokens_per_s", ["tokens_per_s"], "tokens_per_s IS NOT NULL"),
    ("rtf", ["rtf"], "rtf IS NOT NULL"),
    ("gen_s", ["gen_s"], "gen_s IS NOT NULL"),
    ("peak_mem_mb", ["peak_mem_mb"], "peak_mem_mb IS NOT NULL"),
    ("wer", ["wer", "cer", "run_id"], "wer IS NOT NULL"),
]
FIGURE_INDEXES = [
    *OLD_FIGURE_INDEXES[:-1],
    ("wer", ["wer", "cer", "word_errors", "reference_words"], "wer IS NOT NULL"),
]
WER_WITHOUT_TRANSCRIPT = "wer IS NOT NULL AND transcript IS NULL"


def _partial(name: str, table: str, columns: list[str], where: str, unique: bool = False) -> None:
    predicate = sa.text(where)
    op.create_index(
        name, table, columns, unique=unique, sqlite_where=predicate, postgresql_where=predicate
    )


# A frozen copy of the WER normalisation as it was when this migration was written
# (lineup/scoring.py and lineup/language.py at that time): a migration must give the same result
# whatever the live code becomes, so it never imports it.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_PERCENT = re.compile(r"(\d)\s*%")
_MONEY = re.compile(r"([$€£])\s?(\d+)(?:\.(\d{2}))?\b")
_CURRENCY = {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("pound", "pounds")}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_WORD = re.compile(r"[^\w\s']|_")
_EDGE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")
_SCRIPT_LANGUAGE = {"Latin": "en", "Cyrillic": "ru", "Greek": "el", "Hebrew": "he", "Arabic": "ar"}


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "Han"
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "Japanese"
    return name.split(" ", 1)[0].capitalize() or None


def _guess_language(text: str) -> str:
    counts = Counter(script for script in map(_script, text) if script)
    script = counts.most_common(1)[0][0] if counts else ""
    return _SCRIPT_LANGUAGE.get(script, "en")


def _number_words(number: str, language: str) -> str:
    from num2words import num2words

    value: int | Decimal = Decimal(number) if "." in number else int(number)
    try:
        return str(num2words(value, lang=language))
    except (NotImplementedError, OverflowError, ValueError):
        return number


def _ordinal_words(match: re.Match[str]) -> str:
    from num2words import num2words

    return f" {num2words(int(match.group(1)), to='ordinal', lang='en')} "


def _money_words(match: re.Match[str]) -> str:
    one, many = _CURRENCY[match.group(1)]
    amount, cents = match.group(2), match.group(3)
    words = f" {amount} {one if amount == '1' else many}"
    if cents and cents != "00":
        words += f" {int(cents)} {'cent' if cents == '01' else 'cents'}"
    return words + " "


def _normalize(text: str) -> str:
    language = _guess_language(text)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text)
    if language == "en":
        text = _MONEY.sub(_money_words, text)
        text = _ORDINAL.sub(_ordinal_words, text)
        text = _PERCENT.sub(r"\1 percent", text)
    text = _NUMBER.sub(lambda m: f" {_number_words(m.group(0), language)} ", text)
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _not_null_text(table: str, name: str, length: int) -> None:
    op.add_column(
        table, sa.Column(name, sa.String(length), nullable=False, server_default=sa.text("''"))
    )


def _fill_word_counts(connection: sa.Connection) -> None:
    """Each scored clip's reference words (its sentence, normalised as when it was scored) and
    word errors (its WER times those words: the count WER was computed from)."""
    sentences = connection.execute(
        sa.text(
            "SELECT DISTINCT runs.input_text FROM runs JOIN generations "
            "ON generations.run_id = runs.id WHERE generations.wer IS NOT NULL"
        )
    ).scalars()
    counts = []
    for sentence in list(sentences):
        words = len(_normalize(sentence).split())
        if words:  # a sentence with no words has no WER (lineup.scoring.ScoringError)
            counts.append({"sentence": sentence, "words": words})
    if not counts:
        return
    words_of = sa.table("lineup_sentence_words", sa.column("sentence"), sa.column("words"))
    op.create_table(
        "lineup_sentence_words",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
    )
    connection.execute(sa.insert(words_of), counts)
    words_sql = (
        "(SELECT w.words FROM lineup_sentence_words w JOIN runs r ON r.input_text = w.sentence "
        "WHERE r.id = generations.run_id)"
    )
    op.execute(
        f"UPDATE generations SET reference_words = {words_sql}, "
        f"word_errors = CAST(ROUND(wer * {words_sql}) AS INTEGER) WHERE wer IS NOT NULL"
    )
    op.drop_table("lineup_sentence_words")


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"

    op.drop_index("ix_generations_status", "generations")
    op.drop_index("ix_generations_model_spec_status", "generations")
    op.drop_index("ix_generations_wer_without_transcript", "generations")
    for name, _, _ in OLD_FIGURE_INDEXES:
        op.drop_index(f"ix_generations_ok_{name}", "generations")

    _not_null_text("generations", "kind", 8)
    op.add_column("generations", sa.Column("word_errors", sa.Integer(), nullable=True))
    op.add_column("generations", sa.Column("reference_words", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE generations SET kind = "
        "(SELECT runs.kind FROM runs WHERE runs.id = generations.run_id)"
    )
    _fill_word_counts(connection)

    _not_null_text("labels", "kind", 8)
    _not_null_text("labels", "model_spec", 512)
    op.add_column(
        "labels",
        sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE labels SET "
        "kind = (SELECT g.kind FROM generations g WHERE g.id = labels.generation_id), "
        "model_spec = (SELECT g.model_spec FROM generations g WHERE g.id = labels.generation_id)"
    )
    # The latest label of each annotator on each complete generation: no later one (by
    # created_at, then id) on the same generation by the same annotator.
    op.execute(
        sa.text(
            "UPDATE labels SET counted = :yes WHERE "
            "EXISTS (SELECT 1 FROM generations g WHERE g.id = labels.generation_id "
            "AND g.status = 'ok') AND NOT EXISTS (SELECT 1 FROM labels later "
            "WHERE later.generation_id = labels.generation_id "
            "AND later.annotator = labels.annotator "
            "AND (later.created_at > labels.created_at "
            "OR (later.created_at = labels.created_at AND later.id > labels.id)))"
        ).bindparams(yes=True)
    )
    if postgres:
        for table, column in (
            ("generations", "kind"),
            ("labels", "kind"),
            ("labels", "model_spec"),
        ):
            op.alter_column(table, column, server_default=None)

    op.create_index(
        "ix_generations_kind_spec_status", "generations", ["kind", "model_spec", "status"]
    )
    op.create_index("ix_generations_status_kind", "generations", ["status", "kind"])
    for name, columns, present in FIGURE_INDEXES:
        _partial(
            f"ix_generations_ok_{name}",
            "generations",
            ["kind", "model_spec", "status", *columns],
            f"status = 'ok' AND {present}",
        )
    _partial(
        "ix_generations_wer_without_transcript",
        "generations",
        ["kind", "model_spec"],
        WER_WITHOUT_TRANSCRIPT,
    )
    _partial("ix_labels_counted", "labels", ["kind", "model_spec", "relevance"], "counted")
    _partial("uq_labels_counted", "labels", ["generation_id", "annotator"], "counted", True)
    op.create_index("ix_labels_kind", "labels", ["kind"])
    if postgres:
        op.execute("ANALYZE generations")
        op.execute("ANALYZE labels")


def downgrade() -> None:
    op.drop_index("ix_labels_kind", "labels")
    op.drop_index("uq_labels_counted", "labels")
    op.drop_index("ix_labels_counted", "labels")
    op.drop_index("ix_generations_wer_without_transcript", "generations")
    for name, _, _ in reversed(FIGURE_INDEXES):
        op.drop_index(f"ix_generations_ok_{name}", "generations")
    op.drop_index("ix_generations_status_kind", "generations")
    op.drop_index("ix_generations_kind_spec_status", "generations")
    for table, column in (
        ("labels", "counted"),
        ("labels", "model_spec"),
        ("labels", "kind"),
        ("generations", "reference_words"),
        ("generations", "word_errors"),
        ("generations", "kind"),
    ):
        op.drop_column(table, column)
    for name, columns, present in OLD_FIGURE_INDEXES:
        _partial(
            f"ix_generations_ok_{name}",
            "generations",
            ["model_spec", "status", *columns],
            f"status = 'ok' AND {present}",
        )
    _partial(
        "ix_generations_wer_without_transcript",
        "generations",
        ["model_spec"],
        WER_WITHOUT_TRANSCRIPT,
    )
    op.create_index("ix_generations_model_spec_status", "generations", ["model_spec", "status"])
    op.create_index("ix_generations_status", "generations", ["status"])
