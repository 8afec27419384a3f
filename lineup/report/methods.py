"""The report's methods section: each figure's definition, quoted in English from the one
module that computes it (lineup.report.tables and the DEFINITIONS of lineup.measure,
lineup.score and lineup.study), so the English report and the code cannot disagree; in another
language, the summary marked here, translated through the catalog (the quoted definitions are
long prose that changes with the code, so the catalog holds a summary of each instead)."""

from __future__ import annotations

from lineup.core import N_, _, current_language

# Per section of the methods (key: the section's English title), its summary in English.
SUMMARIES = {
    N_("Tables"): N_(
        "Only complete (ok) answers count for a figure. Relevance: the counted labels (each "
        "annotator's latest) per model, the share labeled relevant with its 95% item-bootstrap "
        "interval (the items resampled with all their answers and labels; none below 5 "
        "labeled items), and the mean relevance score (relevant 1, partly 0.5, irrelevant 0, "
        "averaged per item, then over items). Speed: total output tokens over total time, "
        "the median time to the first token and the median decode rate. Repeats: how often "
        "a model's repeated answers to one item are identical and how much they differ. "
        "Voices: WER and CER per voice with their intervals, generation and transcription "
        "seconds per sentence and the real-time factor."
    ),
    N_("WER and CER"): N_(
        "WER is (substitutions + deletions + insertions) / the reference's words, CER the "
        "same over characters, computed with jiwer on texts normalised alike in the "
        "sentence's language: Unicode NFKC, lower case, ё written е, stress marks dropped, "
        "numbers and % written out in words (num2words), punctuation removed. Neither is "
        "capped at 1."
    ),
    N_("Overlap with the reference (ROUGE, chrF)"): N_(
        "The answer and the reference are normalised (NFKC, lower case, ё written е) and "
        "split into words (Russian and English alike). ROUGE-1 F1: the harmonic mean of the "
        "shares of shared words in the answer and in the reference; ROUGE-L F1: the same over "
        "the longest common subsequence; chrF: sacrebleu's character n-gram F-score, divided "
        "by 100. Every figure is from 0 to 1 (1: the answer is the reference)."
    ),
    N_("Reference answers"): N_(
        "An item's reference is the set's reference answer, else the reference model's "
        "complete answer to it, else none. The reference model runs as a study of its own "
        "and is never ranked."
    ),
    N_("Automatic scores"): N_(
        "Per model, the mean ROUGE and chrF over its complete answers that have a reference, "
        "with 95% item-bootstrap intervals (1,000 resamples of the items, none below 5 items "
        "with a score); the answers in another language than their item's, the share of Latin "
        "letters where the item's script is not Latin, letters of other scripts, empty "
        "answers and refusals."
    ),
    N_("The LLM judge"): N_(
        "A judge model scores each answer from 1 to 10 at temperature 0, never seeing model "
        "names. Protocol reference: against the item's reference answer, figure = score / 10. "
        "Protocol pairwise: beside the reference model's answer, asked in both orders; figure "
        "= the candidate's scores summed over both orders over the reference's. A reply "
        "without a score is a failure, never a zero."
    ),
    N_("The judge's reliability"): N_(
        "Pairwise: each answer is judged shown first and shown second. The first-position "
        "win rate is the share of decided verdicts won by the answer shown first (0.5: the "
        "order does not matter); the flip rate is the share of answers whose winner changes "
        "when the order is swapped. Against the people: Spearman's correlation and Cohen's "
        "kappa between the judge's scores and the labels of the same answers."
    ),
    N_("Which differences are real; ranks"): N_(
        "For each pair of models, the difference of their figure over the items both have, "
        "with its 95% item-bootstrap interval and the share of resamples in which the better "
        "one is better. One is shown better when the interval excludes 0 (none below 5 "
        "shared items). Rank = 1 + the number of models shown better than this one or than a "
        "model whose figure is at least this one's; models with no difference shown share a "
        "rank."
    ),
    N_("Ranking"): N_(
        "Bradley-Terry ratings from battles: two models labeled on the same item are one "
        "comparison, won by the one whose label is higher (a tie counts half). P(A beats B) "
        "= 1 / (1 + 10^((R_B − R_A) / 400)); the mean rating is 1000. The 95% interval comes "
        "from 1,000 bootstrap resamples of the items. No rating below 5 items, and none for a "
        "model that won or lost every comparison."
    ),
    N_("Pairwise votes"): N_(
        "The arena's votes (A better, B better, a tie or both bad, the last two counted half "
        "a win each) give Bradley-Terry ratings as above; a rank comes from the paired "
        "differences of the ratings and is shared where none is shown."
    ),
    N_("Agreement"): N_(
        "Krippendorff's alpha (ordinal) over the answers labeled by two or more annotators, "
        "with the raw agreement (the share of identical label pairs), and Cohen's kappa "
        "(linear weights) for each pair of annotators over the answers both labeled."
    ),
}


def methods_section(quoted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The methods as (title, text): `quoted` (each title with its definition from the code)
    itself in English, else each title and its summary in the current language."""
    if current_language() == "en":
        return quoted
    return [(_(title), _(SUMMARIES[title])) for title, _text in quoted]
