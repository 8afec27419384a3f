"""What answers are worth beyond the labels: references, automatic scores, the LLM judge, rankings,
agreement."""

from lineup.score import agreement as _agreement
from lineup.score import automatic as _automatic
from lineup.score import judge as _judge
from lineup.score import judge_reliability as _judge_reliability
from lineup.score import references as _references
from lineup.score.agreement import (
    ALPHA_SCALE,
    Agreement,
    alpha_reading,
    judge_agreement,
    study_agreement,
)
from lineup.score.automatic import (
    OVERLAP_FIGURES,
    SCORE_KEYS,
    ScoredAnswer,
    figure_fields,
    overlap_bootstraps,
    scores_of,
    study_scores,
)
from lineup.score.item_intervals import study_label_bootstraps
from lineup.score.judge import (
    SIMPLER_TEMPLATE_HINT,
    JudgeRun,
    judge_sees_images,
    judge_study,
    judge_template,
)
from lineup.score.judge_jobs import JudgeJob, active_judging, last_judging
from lineup.score.judge_prompt import (
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    PROTOCOL_PAIRWISE,
    PROTOCOL_REFERENCE,
    check_judge_limits,
    check_protocol,
    check_template,
)
from lineup.score.judge_reliability import (
    Dispute,
    JudgeLabel,
    JudgeReliability,
    PositionBias,
    disputed_answers,
    judge_labels,
    position_bias,
    reliability_of,
)
from lineup.score.judge_verdicts import (
    JudgeSetting,
    StudyJudge,
    Verdict,
    judge_figures,
    judge_settings,
    latest_judge,
    latest_verdicts,
    study_judges,
    verdict_bootstrap,
    verdict_figures,
)
from lineup.score.ranking import study_ranking
from lineup.score.references import (
    ItemReference,
    item_references,
    model_references,
    reference_summary,
    references_with,
    scored_study,
)
from lineup.score.stop_labeling import STOP_FIGURE, study_stop_labeling

# The definitions a report quotes, by heading.
DEFINITIONS = {
    "Reference answers": _references.__doc__ or "",
    "Automatic scores": _automatic.__doc__ or "",
    "The LLM judge": _judge.__doc__ or "",
    "The judge's reliability": _judge_reliability.__doc__ or "",
    "Agreement": _agreement.__doc__ or "",
}

__all__ = [
    "ALPHA_SCALE",
    "Agreement",
    "ItemReference",
    "ScoredAnswer",
    "scores_of",
    "verdict_figures",
    "verdict_bootstrap",
    "overlap_bootstraps",
    "figure_fields",
    "OVERLAP_FIGURES",
    "DEFINITIONS",
    "Dispute",
    "JudgeLabel",
    "JudgeReliability",
    "PositionBias",
    "disputed_answers",
    "judge_labels",
    "reliability_of",
    "position_bias",
    "JUDGE_MAX_TOKENS",
    "JUDGE_TIMEOUT_S",
    "JudgeJob",
    "JudgeRun",
    "JudgeSetting",
    "PROTOCOL_PAIRWISE",
    "PROTOCOL_REFERENCE",
    "SCORE_KEYS",
    "SIMPLER_TEMPLATE_HINT",
    "StudyJudge",
    "Verdict",
    "active_judging",
    "check_judge_limits",
    "check_protocol",
    "check_template",
    "item_references",
    "judge_agreement",
    "judge_figures",
    "judge_sees_images",
    "judge_settings",
    "judge_study",
    "judge_template",
    "last_judging",
    "latest_judge",
    "latest_verdicts",
    "model_references",
    "reference_summary",
    "references_with",
    "scored_study",
    "study_agreement",
    "alpha_reading",
    "study_judges",
    "study_label_bootstraps",
    "study_stop_labeling",
    "STOP_FIGURE",
    "study_ranking",
    "study_scores",
]
