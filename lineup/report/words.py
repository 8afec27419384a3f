"""How a report in another language than English heads the study's tables and the workbook's
sheets and columns. The English reports show the column keys themselves (the methods and the
module docstrings define each figure by its key; the CSV export keeps them in every language,
for scripts); another language shows a column's words here, with the key beside it (the HTML
report's tooltip). A key missing here is shown as it is."""

from __future__ import annotations

from lineup.core import N_, _, current_language

TABLE_NAMES = {
    "relevance": N_("Relevance"),
    "speed": N_("Speed"),
    "per_item": N_("Per item"),
    "repeats": N_("Repeats"),
    "voices": N_("Voices"),
    "transcripts": N_("Transcripts"),
}
# The workbook's sheets (lineup.report.workbook), by their English names.
SHEET_NAMES = {
    "Summary": N_("Summary"),
    "Metrics": N_("Metrics"),
    "Per item": N_("Per item"),
    "Transcripts": N_("Transcripts"),
    "Pairs": N_("Pairs"),
    "Judge": N_("Judge"),
    "Labels": N_("Labels"),
    "Agreement": N_("Agreement"),
    "Generations": N_("Generations"),
    "Provenance": N_("What ran where"),
}
COLUMN_WORDS = {
    "item_id": N_("Item id"),
    "position": N_("Position"),
    "text": N_("Text"),
    "reference": N_("Reference"),
    "repeat": N_("Repeat"),
    "model": N_("Model"),
    "requests": N_("Labels"),
    "relevant": N_("Relevant"),
    "partial": N_("Partly"),
    "irrelevant": N_("Irrelevant"),
    "pct_relevant": N_("% relevant"),
    "pct_relevant_ci_low": N_("% relevant: 95% CI low"),
    "pct_relevant_ci_high": N_("% relevant: 95% CI high"),
    "pct_relevant_ci_method": N_("% relevant: interval method"),
    "pct_relevant_ci_reason": N_("% relevant: why no interval"),
    "relevance": N_("Mean score"),
    "relevance_ci_low": N_("Mean score: 95% CI low"),
    "relevance_ci_high": N_("Mean score: 95% CI high"),
    "relevance_ci_method": N_("Mean score: interval method"),
    "relevance_ci_reason": N_("Mean score: why no interval"),
    "answers": N_("Answers"),
    "ok": N_("Complete"),
    "errors": N_("Failed"),
    "labeled_answers": N_("Labeled answers"),
    "items_repeated": N_("Items repeated"),
    "identical_repeats": N_("Identical repeats"),
    "identical_share": N_("Identical share"),
    "mean_repeat_rougeL": N_("Mean ROUGE-L between repeats"),
    "mean_length_spread": N_("Length spread (chars)"),
    "mean_time_spread": N_("Time spread (s)"),
    "output_tokens": N_("Tokens"),
    "time_s": N_("Time (s)"),
    "tokens_per_time_s": N_("Tokens / s"),
    "median_ttft_s": N_("Median TTFT (s)"),
    "median_total_s": N_("Median total (s)"),
    "median_tokens_per_s": N_("Median decode tok/s"),
    "mean_chars": N_("Mean length (chars)"),
    "chars_per_s": N_("Chars / s"),
    "clips": N_("Clips"),
    "scored": N_("Scored"),
    "mean_wer": N_("Mean WER"),
    "mean_wer_ci_low": N_("Mean WER: 95% CI low"),
    "mean_wer_ci_high": N_("Mean WER: 95% CI high"),
    "mean_wer_ci_method": N_("Mean WER: interval method"),
    "mean_wer_ci_reason": N_("Mean WER: why no interval"),
    "wer_std": N_("WER std. dev."),
    "corpus_wer": N_("Corpus WER"),
    "cer": N_("CER"),
    "cer_ci_low": N_("CER: 95% CI low"),
    "cer_ci_high": N_("CER: 95% CI high"),
    "cer_ci_method": N_("CER: interval method"),
    "cer_ci_reason": N_("CER: why no interval"),
    "gen_s_per_sentence": N_("Generation s / sentence"),
    "stt_s_per_sentence": N_("Transcription s / sentence"),
    "rtf": N_("RTF"),
    "peak_mem_mb": N_("Peak memory (MB)"),
    "cold_answers": N_("Cold answers"),
    "cold_median_ttft_s": N_("Cold median TTFT (s)"),
    "cold_median_total_s": N_("Cold median total (s)"),
    "cold_median_tokens_per_s": N_("Cold median decode tok/s"),
    "cold_median_rtf": N_("Cold median RTF"),
    "cold_median_gen_s": N_("Cold median generation (s)"),
    "median_energy_j": N_("Median energy (J)"),
    "energy_source": N_("Energy counter"),
    "gpu_mem_mb": N_("GPU memory (MB)"),
    "concurrent_min": N_("Fewest others in flight"),
    "concurrent_max": N_("Most others in flight"),
    "answers_alone": N_("Answers alone"),
    "labeled": N_("Labels"),
    "bt_rating": N_("Rating"),
    "bt_rank": N_("Rank"),
    "bt_items": N_("Rating: items"),
    "bt_reason": N_("Rating: why none"),
    "won_every_comparison": N_("Won every comparison"),
    "lost_every_comparison": N_("Lost every comparison"),
    "rank_relevance": N_("Score"),
    "arena_rating": N_("Rating from votes"),
    "arena_rank": N_("Rank from votes"),
    "arena_votes": N_("Votes"),
    "rouge1_f1": N_("ROUGE-1 F1"),
    "rougeL_f1": N_("ROUGE-L F1"),
    "chrf": N_("chrF"),
    "with_reference": N_("With a reference"),
    "language_checked": N_("Language checked"),
    "wrong_language": N_("Wrong language"),
    "latin_share": N_("Latin share"),
    "other_script_chars": N_("Other-script chars"),
    "empty": N_("Empty"),
    "refusals": N_("Refusals"),
    "judge_score": N_("Judge figure"),
    "judged": N_("Scored"),
    "judge_failures": N_("Failures"),
    "figure": N_("Figure"),
    "diff": N_("Difference"),
    "ci_low": N_("95% CI low"),
    "ci_high": N_("95% CI high"),
    "share_a_better": N_("Share of resamples a is better"),
    "items": N_("Items"),
    "decided": N_("Shown better"),
    "ci_method": N_("Interval method"),
    "reason": N_("Why no interval"),
    "words": N_("In words"),
    "generation_id": N_("Answer id"),
    "item_position": N_("Item position"),
    "question": N_("Question"),
    "judge": N_("Judge"),
    "protocol": N_("Protocol"),
    "status": N_("Status"),
    "score": N_("Score"),
    "reference_score": N_("Reference model's score"),
    "reasons": N_("Reasons"),
    "error": N_("Error"),
    "annotator": N_("Annotator"),
    "comment": N_("Comment"),
    "created_at": N_("Created (UTC)"),
    "between": N_("Between"),
    "and": N_("And"),
    "value": N_("Value"),
    "n": N_("N"),
    "meaning": N_("Meaning"),
}
# An interval's columns of a figure named above (`<key>_ci_low` ...), when not named itself.
INTERVAL_WORDS = {
    "_ci_low": N_("{figure}: 95% CI low"),
    "_ci_high": N_("{figure}: 95% CI high"),
    "_ci_method": N_("{figure}: interval method"),
    "_ci_reason": N_("{figure}: why no interval"),
}


def table_name(name: str) -> str:
    """A study table's name (lineup.report.tables) as a report heads it."""
    if current_language() == "en" or name not in TABLE_NAMES:
        return name.replace("_", " ").capitalize()
    return _(TABLE_NAMES[name])


def sheet_name(name: str) -> str:
    """A workbook sheet's name in the current language (itself in English)."""
    if current_language() == "en" or name not in SHEET_NAMES:
        return name
    return _(SHEET_NAMES[name])


def column_word(key: str) -> str | None:
    """A column's words in the current language; None in English or for a key missing here."""
    if current_language() == "en":
        return None
    if key in COLUMN_WORDS:
        return _(COLUMN_WORDS[key])
    for ending, template in INTERVAL_WORDS.items():
        stem = key.removesuffix(ending)
        if stem != key and stem in COLUMN_WORDS:
            return _(template).format(figure=_(COLUMN_WORDS[stem]))
    return None
