"""A study's tables per model: relevance, speed, voices, repeats, and the voices' transcripts
side by side."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.charts import interval_text
from components.study.common import (
    EMPTY_CELL,
    MIN_TRANSCRIPT_PX,
    SENTENCE_PX,
    TABLE_PX,
    model_table,
    name_column,
    number_column,
    words,
)
from components.tables import dataframe
from lineup.app import N_, StudyTables, _, escape_markdown, hide_credentials, number, percentage


def relevance_columns(kind: str) -> dict[str, Any]:
    said = words(kind)
    share = _("% correct") if kind == "tts" else _("% relevant")
    return {
        "name": name_column(N_("Voice") if kind == "tts" else N_("Model")),
        "pct_relevant": number_column(
            share,
            _("Labels '{label}' / labels counted × 100.").format(label=said["relevant"]),
            "%.0f%%",
            70,
        ),
        "ci_text": st.column_config.TextColumn(
            N_("95% CI"),
            help=_(
                "95% item-bootstrap interval of {figure}: the items resampled 1,000 times with "
                "all their answers and labels (labels of one item are not independent). None "
                "below 5 labeled items, nor when every item gives the same share."
            ).format(figure=share),
            width=70,
        ),
        "relevance": number_column(
            N_("Mean score"),
            _(
                "Mean relevance score: per item, the mean over the model's answers there of each "
                "answer's mean label ({relevant} 1, {partial} 0.5, {irrelevant} 0: the per-item "
                "grid's cell); then the mean over the labeled items, each item weighing the same."
            ).format(
                relevant=said["relevant"], partial=said["partial"], irrelevant=said["irrelevant"]
            ),
            "%.2f",
            78,
        ),
        "relevance_ci_text": st.column_config.TextColumn(
            N_("95% CI"),
            help=N_(
                "95% item-bootstrap interval of the mean score, from the same resampled items "
                "as % relevant's. None below 5 labeled items, nor when every item gives the same "
                "score."
            ),
            width=70,
        ),
        "requests": number_column(
            N_("Labels"),
            N_(
                "Labels counted: each annotator's latest label on each complete answer (only the "
                "chosen annotator's when one is chosen)."
            ),
            "%d",
            56,
        ),
        "relevant": number_column(
            said["relevant"], _("Labels '{label}'.").format(label=said["relevant"]), "%d", 68
        ),
        "partial": number_column(
            said["partial"], _("Labels '{label}'.").format(label=said["partial"]), "%d", 56
        ),
        "irrelevant": number_column(
            said["irrelevant"], _("Labels '{label}'.").format(label=said["irrelevant"]), "%d", 72
        ),
        "labeled_answers": number_column(
            N_("Labeled"), N_("Complete answers with at least one counted label."), "%d", 60
        ),
        "ok": number_column(
            N_("Complete"), N_("Answers that ended complete (state ok)."), "%d", 70
        ),
        "errors": number_column(
            N_("Failed"),
            N_(
                "Answers that ended in error, timeout, cancelled or interrupted: never labeled, "
                "timed or counted elsewhere."
            ),
            "%d",
            56,
        ),
    }


def _interval(low: Any, high: Any, scale: float = 1.0, decimals: int = 2, unit: str = "") -> Any:
    """An interval as one cell, e.g. "0.31–0.55"; None when there is none (None or NaN, as
    a frame holds a missing value)."""
    if low is None or high is None or low != low or high != high:
        return None
    end = percentage if unit == "%" else number
    return f"{number(scale * low, decimals)}–{end(scale * high, decimals)}"


def _intervals(frame: Any, name: str, scale: float = 1.0, decimals: int = 2, unit: str = "") -> Any:
    return [
        _interval(low, high, scale, decimals, unit)
        for low, high in zip(frame[f"{name}_ci_low"], frame[f"{name}_ci_high"], strict=True)
    ]


def relevance_table(tables: StudyTables, names: dict[str, str]) -> None:
    frame = tables.relevance.assign(
        ci_text=[
            interval_text(low, high)
            for low, high in zip(
                tables.relevance["pct_relevant_ci_low"],
                tables.relevance["pct_relevant_ci_high"],
                strict=True,
            )
        ],
        relevance_ci_text=_intervals(tables.relevance, "relevance"),
    )
    model_table(frame, names, relevance_columns(tables.study.kind))


# lineup.measure.contention: a model's figures beside the others' in flight on its host.
CONTENTION_SHOWN: dict[str, Any] = {
    "concurrent_max": number_column(
        N_("Most in flight"),
        N_(
            "The most other requests Lineup had in flight on the same host during one of these "
            "answers (0: each ran alone there). Figures measured under different contention are "
            "not like for like: the study's fair timing measures each model alone."
        ),
        "%d",
        96,
    ),
    "answers_alone": number_column(
        N_("Alone"), N_("Answers with no other request in flight on their host."), "%d", 56
    ),
}

SPEED_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Model")),
    "tokens_per_time_s": number_column(
        N_("Tok/s (total)"),
        N_(
            "Output tokens over the time of the answers that report both: long answers weigh more "
            "than in a median."
        ),
        "%.1f",
        92,
    ),
    "median_tokens_per_s": number_column(
        N_("Median tok/s"),
        N_(
            "Median decode speed: the server's own figure where it reports one, else (output "
            "tokens − 1) / (total − TTFT)."
        ),
        "%.1f",
        92,
    ),
    "median_ttft_s": number_column(
        N_("Med. TTFT (s)"), N_("Median time to the first token of the answer."), "%.2f", 96
    ),
    "median_total_s": number_column(
        N_("Med. total (s)"),
        N_("Median time from sending the request to the last chunk."),
        "%.2f",
        96,
    ),
    "ok": number_column(N_("Complete"), N_("Complete answers: the only ones timed."), "%d", 72),
    "output_tokens": number_column(
        N_("Tokens"), N_("Output tokens of the answers with a time."), "%d", 62
    ),
    "time_s": number_column(N_("Time (s)"), N_("Total seconds of the same answers."), "%.1f", 66),
    "mean_chars": number_column(
        N_("Mean chars"), N_("Mean length of the answers in characters."), "%.0f", 80
    ),
    "chars_per_s": number_column(
        N_("Chars/s"), N_("Characters of the answers over their total seconds."), "%.0f", 64
    ),
}
# What the speed figures were measured under: beside them, in a table of their own (the speed
# table and these together are wider than the page).
CONDITION_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Model")),
    **CONTENTION_SHOWN,
    "cold_answers": number_column(
        N_("Cold"),
        N_(
            "Answers that included a model load: every figure here is over the warm ones; the "
            "cold ones are counted here, with their own median TTFT beside."
        ),
        "%d",
        56,
    ),
    "cold_median_ttft_s": number_column(
        N_("Cold TTFT (s)"),
        N_("Median time to the first token of the cold answers alone."),
        "%.2f",
        96,
    ),
    "median_energy_j": number_column(
        N_("Energy (J)"),
        N_(
            "Median energy of an answer: the whole device's (GPU by NVML, CPU package by RAPL) "
            "over the answer's time, not the model's alone; – where the machine has no counter."
        ),
        "%.1f",
        80,
    ),
}

REPEAT_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Model")),
    "items_repeated": number_column(
        N_("Items repeated"), N_("Items with two or more complete answers of the model."), "%d", 110
    ),
    "identical_repeats": number_column(
        N_("Identical"),
        N_("Of those, the items whose answers all have exactly the same text."),
        "%d",
        80,
    ),
    "identical_share": number_column(
        N_("Identical share"), N_("Identical over items repeated."), "%.2f", 110
    ),
    "mean_repeat_rougeL": number_column(
        N_("ROUGE-L between repeats"),
        N_(
            "Per item, the mean ROUGE-L F1 between each two of its answers; then the mean over "
            "the items repeated (1 = the repeats say the same words in the same order)."
        ),
        "%.2f",
        170,
    ),
    "mean_length_spread": number_column(
        N_("Length spread (chars)"),
        N_("Mean over those items of the standard deviation of the answers' lengths."),
        "%.1f",
        150,
    ),
    "mean_time_spread": number_column(
        N_("Time spread (s)"),
        N_("Mean over those items of the standard deviation of the answers' total seconds."),
        "%.2f",
        120,
    ),
}

VOICE_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Voice")),
    "mean_wer_pct": number_column(
        N_("Mean WER"),
        N_(
            "Word error rate of a clip's transcript (by the STT model) against its sentence, "
            "both normalised: lower case, punctuation but the apostrophe removed, numbers "
            "written out. Mean over scored clips."
        ),
        "%.1f%%",
        76,
    ),
    "mean_wer_ci_text": st.column_config.TextColumn(
        N_("95% CI"),
        help=N_(
            "95% item-bootstrap interval of the mean WER: the sentences resampled 1,000 times "
            "with all their clips (repeats of one sentence are not independent). None below 5 "
            "sentences, nor when every sentence gives the same WER."
        ),
        width=84,
    ),
    "corpus_wer_pct": number_column(
        N_("Corpus WER"),
        N_("Total word errors / total reference words of the same clips."),
        "%.1f%%",
        86,
    ),
    "wer_sd_pct": number_column(
        N_("WER sd"), N_("Standard deviation of the clips' WERs."), "%.1f%%", 64
    ),
    "cer_pct": number_column(
        N_("Mean CER"), N_("Character error rate, mean over the clips."), "%.1f%%", 74
    ),
    "cer_ci_text": st.column_config.TextColumn(
        N_("95% CI"),
        help=N_("95% item-bootstrap interval of the mean CER, as the mean WER's."),
        width=84,
    ),
    "rtf": number_column(
        N_("Median RTF"),
        N_("Real-time factor: generation / audio seconds (below 1 is faster)."),
        "%.3f",
        84,
    ),
    "gen_s_per_sentence": number_column(
        N_("Gen (s)"), N_("Mean seconds to synthesize a sentence."), "%.2f", 64
    ),
    "stt_s_per_sentence": number_column(
        N_("STT (s)"), N_("Mean seconds to transcribe a clip."), "%.2f", 64
    ),
    "ok": number_column(N_("Complete"), N_("Clips that ended complete."), "%d", 72),
    "scored": number_column(
        N_("Scored"), N_("Complete clips with a transcript and a WER."), "%d", 62
    ),
    "peak_mem_mb": number_column(
        N_("Peak MB"),
        N_("The largest memory peak of a clip, in MB (in-process engines)."),
        "%.0f",
        72,
    ),
    **CONTENTION_SHOWN,
    "median_energy_j": number_column(
        N_("Energy (J)"),
        N_(
            "Median energy of a clip: the whole device's over its synthesis, not the voice's "
            "alone; – where the machine has no counter."
        ),
        "%.1f",
        80,
    ),
}


def contention_badge(tables: StudyTables, names: dict[str, str]) -> None:
    """The speed table's badge when its models were measured under different contention."""
    note = tables.contention_note(names)
    if note is not None:
        st.warning(escape_markdown(note), icon=":material/group:")


def speed_table(tables: StudyTables, names: dict[str, str]) -> None:
    contention_badge(tables, names)
    model_table(tables.speed, names, SPEED_COLUMNS)
    st.caption(
        _(
            "Measured under: other requests in flight on the host, cold answers (kept out of the "
            "figures above) and energy."
        )
    )
    model_table(tables.speed, names, CONDITION_COLUMNS)


def repeats_table(tables: StudyTables, names: dict[str, str]) -> None:
    model_table(tables.repeats, names, REPEAT_COLUMNS)


def voices_table(tables: StudyTables, names: dict[str, str]) -> None:
    voices = tables.voices
    percent = {
        f"{key}_pct": 100 * voices[key].astype(float) for key in ("mean_wer", "corpus_wer", "cer")
    }
    frame = voices.assign(
        **percent,
        wer_sd_pct=100 * voices["wer_std"].astype(float),
        mean_wer_ci_text=_intervals(voices, "mean_wer", 100, 1, "%"),
        cer_ci_text=_intervals(voices, "cer", 100, 1, "%"),
    )
    contention_badge(tables, names)
    model_table(frame, names, VOICE_COLUMNS)


def transcripts_table(tables: StudyTables, names: dict[str, str]) -> None:
    frame = tables.transcripts
    voices = [c for c in frame.columns if c not in ("item_id", "position", "text", "repeat")]
    shown = frame.assign(number=frame["position"] + 1, sample=frame["repeat"] + 1)
    columns: dict[str, Any] = {
        "number": st.column_config.NumberColumn(
            "#", help=_("The sentence's place in the set."), format="%d", width=40, pinned=True
        ),
        "text": st.column_config.TextColumn(_("Sentence"), width=SENTENCE_PX, pinned=True),
    }
    left_px = TABLE_PX - 40 - SENTENCE_PX
    if tables.study.repeats > 1:
        columns["sample"] = number_column(_("Sample"), _("The clip's sample number."), "%d", 64)
        left_px -= 64
    # The voices share what is left of the window; past a few voices the table scrolls.
    voice_px = max(MIN_TRANSCRIPT_PX, left_px // max(len(voices), 1))
    for voice in voices:
        columns[voice] = st.column_config.TextColumn(
            names[voice],
            help=_("What the STT model heard of {voice}.").format(voice=hide_credentials(voice)),
            width=voice_px,
        )
    dataframe(
        shown,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        placeholder=EMPTY_CELL,
    )
