"""The report's XLSX workbook (`study report --format xlsx`): every sheet, its figures against
plain Python over the rows the test wrote, the judge's reasons, text that looks like a formula
kept as text, and a voice study's workbook."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sklearn.metrics import cohen_kappa_score

from lineup.cli.main import main
from lineup.core.limits import InputError
from lineup.report import load_study_result
from lineup.report.workbook import SHEETS, VOICE_SHEETS
from lineup.report.workbook import write_workbook as write_result_workbook
from lineup.store.database import Store
from lineup.store.tables import JUDGE_FAILED, JUDGE_SCORED, JUDGE_UNPARSED, JudgeScore, utcnow
from lineup.study.records import claim, create_study, load_plan
from tests.builders import build_tts_study, make_set
from tests.expected import close, expected_voices

MODELS = ["m:good", "m:bad"]
ITEMS = [("What does it say?", "Payment declined."), ("Which button?", "Retry.")]
REPEATS = 2
JUDGE, OLD_JUDGE = "ollama:judge:7b", "ollama:old-judge:7b"
FORMULA_ANSWER = "=SUM(A1:A2)"
FORMULA_COMMENT = '=HYPERLINK("http://x","click")'
FORMULA_REASONS = "=1+1 is what it says"
ORDINAL = {"irrelevant": 0, "partial": 1, "relevant": 2}


def write_workbook(store: Store, study_id: int, path: Path) -> Path:
    """The report workbook of a stored study (its StudyResult rendered)."""
    return write_result_workbook(load_study_result(store, study_id), path)


@dataclass
class Study:
    study_id: int
    answers: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)  # in the order written
    verdicts: dict[int, dict[str, Any]] = field(default_factory=dict)  # the latest judge's


def answer_text(model: str, item: int, repeat: int) -> tuple[str, str]:
    if model == "m:good":
        return "ok", ITEMS[item][1]  # says the reference, word for word
    if (item, repeat) == (1, 1):
        return "error", ""
    return "ok", FORMULA_ANSWER if item == 0 else "Cancel it now"


def verdict(
    store: Store, study_id: int, gid: int, judge: str, status: str, score: float | None, **kw: Any
) -> None:
    with store.session() as session:
        session.add(
            JudgeScore(
                study_id=study_id,
                generation_id=gid,
                judge_spec=judge,
                protocol="reference",
                prompt_hash=kw.pop("prompt_hash", "a" * 64),
                position=0,
                status=status,
                score=score,
                finished_at=utcnow(),
                **kw,
            )
        )


def build(store: Store) -> Study:
    """2 items x 2 models x 2 repeats; m:bad's last answer failed. Labels by ana and bo (ana
    relabels one), verdicts of an old judge, then of the latest judge: one superseded, one
    unparsed."""
    set_id = make_set(store, "shots", "vlm", list(ITEMS))
    study_id = create_study(store, set_id=set_id, models=MODELS, repeats=REPEATS, params={})
    built = Study(study_id)
    for item_index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(MODELS):
            for repeat in range(REPEATS):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                status, text = answer_text(model, item_index, repeat)
                store.finish_generation(
                    gid, status, output_text=text, total_s=1.0 + repeat, output_tokens=4
                )
                built.answers.append(
                    {"id": gid, "item_id": item.item_id, "position": item.position}
                    | {"model": model, "repeat": repeat, "status": status, "text": text}
                )
    ok = [a for a in built.answers if a["status"] == "ok"]

    def label(gid: int, relevance: str, annotator: str, comment: str | None = None) -> None:
        store.add_label(gid, relevance, annotator=annotator, comment=comment)
        built.labels.append(
            {"gid": gid, "relevance": relevance, "annotator": annotator, "comment": comment}
        )

    for n, answer in enumerate(ok):
        good = answer["model"] == "m:good"
        label(answer["id"], "relevant" if good else "irrelevant", "ana")
        if n % 2 == 0:
            label(answer["id"], "relevant" if good else "partial", "bo", FORMULA_COMMENT)
    label(ok[1]["id"], "partial", "ana")  # a relabel: only this one of ana's counts there

    for answer in ok:
        verdict(store, study_id, answer["id"], OLD_JUDGE, JUDGE_SCORED, 2.0, reasons="old")
    scores = {"m:good": [9.0, 8.0, 10.0, 7.0], "m:bad": [2.0, 3.0, None]}
    for answer in ok:
        score = scores[answer["model"]].pop(0)
        if score is None:
            verdict(
                store, study_id, answer["id"], JUDGE, JUDGE_UNPARSED, None,
                reply="no idea", error="The judge's reply has no score.",
            )  # fmt: skip
            built.verdicts[answer["id"]] = {"status": JUDGE_UNPARSED, "score": None}
            continue
        if answer is ok[0]:  # asked before with another template: the newer one counts
            verdict(store, study_id, answer["id"], JUDGE, JUDGE_FAILED, None, prompt_hash="b" * 64)
        reasons = FORMULA_REASONS if answer["model"] == "m:bad" else f"Close: {score:g}."
        verdict(store, study_id, answer["id"], JUDGE, JUDGE_SCORED, score, reasons=reasons)
        built.verdicts[answer["id"]] = {"status": JUDGE_SCORED, "score": score, "reasons": reasons}
    return built


def counted(built: Study) -> dict[tuple[int, str], dict[str, Any]]:
    """Each annotator's latest label per answer: the labels that count."""
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for label in built.labels:
        latest[(label["gid"], label["annotator"])] = label
    return latest


def rows(sheet: Worksheet) -> list[dict[str, Any]]:
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def values(sheet: Worksheet) -> list[dict[str, Any]]:
    return [{key: cell.value for key, cell in row.items()} for row in rows(sheet)]


@pytest.fixture()
def workbook_of(store: Store, tmp_path: Path) -> tuple[Study, Any]:
    built = build(store)
    path = write_workbook(store, built.study_id, tmp_path / "out" / "report.xlsx")
    return built, load_workbook(path)


def test_every_sheet_is_there_with_a_bold_frozen_header_and_sized_columns(
    workbook_of: tuple[Study, Any],
) -> None:
    _, workbook = workbook_of
    assert workbook.sheetnames == list(SHEETS)
    for name in SHEETS:
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2", name
        assert all(cell.font.bold for cell in sheet[1]), name
        assert sheet.column_dimensions["A"].width >= len(str(sheet["A1"].value)), name


def test_summary_counts_the_labels_that_count_per_model(workbook_of: tuple[Study, Any]) -> None:
    built, workbook = workbook_of
    latest = counted(built)
    summary = {row["model"]: row for row in values(workbook["Summary"])}
    assert list(summary) == MODELS  # best % relevant first
    for model in MODELS:
        mine = [a for a in built.answers if a["model"] == model]
        ids = {a["id"] for a in mine}
        relevances = [lab["relevance"] for (gid, _), lab in latest.items() if gid in ids]
        relevant = relevances.count("relevant")
        row = summary[model]
        assert row["requests"] == len(mine)
        assert row["ok"] == sum(a["status"] == "ok" for a in mine)
        assert row["errors"] == sum(a["status"] == "error" for a in mine)
        assert row["labeled"] == len(relevances) and isinstance(row["labeled"], int)
        assert (row["relevant"], row["partial"], row["irrelevant"]) == (
            relevant,
            relevances.count("partial"),
            relevances.count("irrelevant"),
        )
        assert close(row["pct_relevant"], 100 * relevant / len(relevances))
        # Two items: too few for an interval (the item bootstrap's floor is 5).
        assert row["pct_relevant_ci_low"] is None and row["pct_relevant_ci_high"] is None
        assert row["pct_relevant_ci_method"] == "item-bootstrap"
        ok = [a for a in mine if a["status"] == "ok"]
        total_s = sum(1.0 + a["repeat"] for a in ok)
        assert close(row["output_tokens"], 4 * len(ok))
        assert close(row["tokens_per_time_s"], 4 * len(ok) / total_s)


def test_metrics_hold_the_judge_mean_overlap_and_ranking(workbook_of: tuple[Study, Any]) -> None:
    built, workbook = workbook_of
    metrics = {row["model"]: row for row in values(workbook["Metrics"])}
    assert list(metrics) == MODELS
    for model in MODELS:
        ids = {a["id"] for a in built.answers if a["model"] == model}
        mine = [v for gid, v in built.verdicts.items() if gid in ids]
        scored = [v["score"] / 10 for v in mine if v["status"] == JUDGE_SCORED]
        row = metrics[model]
        assert close(row["judge_score"], statistics.fmean(scored))
        assert row["judged"] == len(scored)
        assert row["judge_failures"] == sum(v["status"] != JUDGE_SCORED for v in mine)
        # Two judged items: below the item bootstrap's floor of 5, no interval and the reason.
        assert row["judge_score_ci_low"] is None and row["judge_score_ci_high"] is None
        assert row["judge_score_ci_method"] == "item-bootstrap"
        assert row["judge_score_ci_reason"].startswith("fewer than 5 items")
        # Four items: below MIN_ITEMS (5) there is no rating or rank, and the row says why.
        assert row["bt_rating"] is None and row["bt_rank"] is None and row["bt_reason"]
    # m:good says the reference word for word; m:bad shares no word with it.
    assert metrics["m:good"]["rouge1_f1"] == 1.0 and metrics["m:bad"]["rouge1_f1"] == 0.0
    assert metrics["m:good"]["with_reference"] == 4 and metrics["m:bad"]["with_reference"] == 3
    # Two repeats of each item: m:good says the same both times, m:bad does not on item 1.
    assert metrics["m:good"]["identical_repeats"] == 2
    assert metrics["m:bad"]["items_repeated"] == 1


def test_judge_sheet_has_every_judges_verdicts_with_reasons_the_latest_judge_first(
    workbook_of: tuple[Study, Any],
) -> None:
    built, workbook = workbook_of
    every = values(workbook["Judge"])
    # The latest judge's rows, then the one that ran before it (each answer once per judge).
    judges = [row["judge"] for row in every]
    assert judges == [JUDGE] * len(built.verdicts) + [OLD_JUDGE] * len(built.verdicts)
    older = [row for row in every if row["judge"] == OLD_JUDGE]
    assert {(row["score"], row["reasons"]) for row in older} == {(2.0, "old")}
    judged = [row for row in every if row["judge"] == JUDGE]
    assert {row["generation_id"] for row in judged} == set(built.verdicts)
    by_answer = {a["id"]: a for a in built.answers}
    for row in judged:
        expected = built.verdicts[row["generation_id"]]
        answer = by_answer[row["generation_id"]]
        assert (row["model"], row["repeat"], row["item_position"]) == (
            answer["model"],
            answer["repeat"],
            answer["position"],
        )
        assert row["question"] == ITEMS[answer["position"]][0]
        assert row["status"] == expected["status"] and row["protocol"] == "reference"
        if expected["status"] == JUDGE_SCORED:
            assert row["score"] == expected["score"] and close(row["figure"], row["score"] / 10)
            assert row["reasons"] == expected["reasons"]
        else:
            assert row["score"] is None and row["error"] == "The judge's reply has no score."
    # Items in the set's order, then the study's models, then repeats.
    places = [(r["item_position"], MODELS.index(r["model"]), r["repeat"]) for r in judged]
    assert places == sorted(places)
    assert "Close: 9." in [row["reasons"] for row in judged]


def test_formula_like_text_stays_text(workbook_of: tuple[Study, Any]) -> None:
    _, workbook = workbook_of
    reasons = [row["reasons"] for row in rows(workbook["Judge"])]
    assert any(c.value == FORMULA_REASONS and c.data_type == "s" for c in reasons)
    comments = [row["comment"] for row in rows(workbook["Labels"])]
    assert any(c.value == FORMULA_COMMENT and c.data_type == "s" for c in comments)
    texts = [row["output_text"] for row in rows(workbook["Generations"])]
    assert any(c.value == FORMULA_ANSWER and c.data_type == "s" for c in texts)
    # Numbers stay numbers.
    assert all(row["score"].data_type == "n" for row in rows(workbook["Judge"]))


def test_labels_sheet_lists_every_counted_label(workbook_of: tuple[Study, Any]) -> None:
    built, workbook = workbook_of
    latest = counted(built)
    labels = values(workbook["Labels"])
    assert len(labels) == len(latest)
    by_answer = {a["id"]: a for a in built.answers}
    for row in labels:
        wanted = latest[(row["generation_id"], row["annotator"])]
        answer = by_answer[row["generation_id"]]
        assert row["relevance"] == wanted["relevance"] and row["comment"] == wanted["comment"]
        assert (row["model"], row["repeat"], row["item_position"]) == (
            answer["model"],
            answer["repeat"],
            answer["position"],
        )
        assert row["created_at"] is not None


def test_agreement_sheet_has_alpha_kappa_and_the_judge_against_people(
    workbook_of: tuple[Study, Any],
) -> None:
    built, workbook = workbook_of
    latest = counted(built)
    agreement = values(workbook["Agreement"])
    [alpha] = [r for r in agreement if r["figure"] == "Krippendorff's alpha"]
    shared = sorted(gid for gid, who in latest if who == "bo")
    assert alpha["n"] == len(shared)
    [kappa] = [r for r in agreement if r["figure"] == "Cohen's kappa"]
    assert (kappa["between"], kappa["and"], kappa["n"]) == ("ana", "bo", len(shared))
    by_hand = cohen_kappa_score(
        [ORDINAL[latest[(gid, "ana")]["relevance"]] for gid in shared],
        [ORDINAL[latest[(gid, "bo")]["relevance"]] for gid in shared],
        weights="linear",
        labels=[0, 1, 2],
    )
    assert close(kappa["value"], float(by_hand))
    same = sum(
        latest[(gid, "ana")]["relevance"] == latest[(gid, "bo")]["relevance"] for gid in shared
    )
    raw_rows = [r for r in agreement if r["figure"] == "Raw agreement"]
    assert [(r["between"], r["and"], r["n"]) for r in raw_rows] == [
        ("every annotator", None, len(shared)),
        ("ana", "bo", len(shared)),
    ]
    assert all(close(r["value"], same / len(shared)) for r in raw_rows)
    judge_rows = [r for r in agreement if r["figure"].endswith("(judge vs people)")]
    assert [r["between"] for r in judge_rows] == [JUDGE, JUDGE]
    pairs = sum(
        1
        for (gid, _), _label in latest.items()
        if built.verdicts.get(gid, {}).get("status") == JUDGE_SCORED
    )
    assert all(r["n"] == pairs for r in judge_rows)
    # Then the same per model: its label pairs add up to the whole.
    per_model = [r for r in agreement if r["figure"].endswith("(judge vs people, one model)")]
    kappas = [r for r in per_model if r["figure"].startswith("Cohen's kappa")]
    assert {r["between"] for r in per_model} == {JUDGE}
    assert sum(r["n"] for r in kappas) == pairs
    assert all(r["meaning"] for r in agreement)


def test_the_cli_report_writes_the_workbook(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = build(store)
    out = tmp_path / "r.xlsx"
    code = main(["study", "report", str(built.study_id), "--format", "xlsx", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert load_workbook(out).sheetnames == list(SHEETS)


def test_a_voice_study_gets_voice_figures_and_an_empty_judge_sheet(
    store: Store, tmp_path: Path
) -> None:
    built = build_tts_study(store)
    workbook = load_workbook(write_workbook(store, built.study_id, tmp_path / "voices.xlsx"))
    assert workbook.sheetnames == list(VOICE_SHEETS)
    expected = {row["model"]: row for row in expected_voices(built)}
    summary = {row["model"]: row for row in values(workbook["Summary"])}
    metrics = {row["model"]: row for row in values(workbook["Metrics"])}
    for voice, wanted in expected.items():
        for key in ("gen_s_per_sentence", "stt_s_per_sentence", "rtf", "peak_mem_mb"):
            assert close(summary[voice][key], wanted[key]), (voice, key)
        for key in ("scored", "mean_wer", "wer_std", "corpus_wer", "cer"):
            assert close(metrics[voice][key], wanted[key]), (voice, key)
        assert "rouge1_f1" not in metrics[voice] and "judge_score" not in metrics[voice]
    assert workbook["Judge"].max_row == 1  # the header alone: voices are never judged
    assert len(values(workbook["Labels"])) == 1
    assert len(values(workbook["Generations"])) == len(built.answers)
    agreement = values(workbook["Agreement"])
    assert agreement[0]["value"] is None and "two annotators" in agreement[0]["meaning"]


def test_an_unknown_study_writes_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no study 404"):
        write_workbook(store, 404, tmp_path / "out" / "none.xlsx")
    assert not (tmp_path / "out").exists()


def test_the_pairs_sheet_and_the_judges_reliability_rows(store: Store, tmp_path: Path) -> None:
    """ORDERED: per item, m:A scores 1, m:B 0.5 on even items and 0.75 on odd ones (mean 0.625),
    so A - B = 0.375, decided. A pairwise judge that gives 8 to whatever is shown first wins
    first in all 24 of its decided verdicts and flips on all 12 answers it judged."""
    from sqlalchemy import select

    from lineup.store.tables import Generation
    from tests.builders import ORDERED, add_pair_verdicts, build_pairs_study

    study_id = build_pairs_study(store, ORDERED)
    with store.session() as session:
        answers = session.scalars(
            select(Generation.id).where(Generation.model_spec == "m:B").order_by(Generation.id)
        ).all()
    for gid in answers:
        add_pair_verdicts(store, study_id, gid, "ollama:fixed:7b", (8, 6), (6, 8))
    path = write_result_workbook(load_study_result(store, study_id), tmp_path / "report.xlsx")
    book = load_workbook(path)

    pairs = {(row["figure"], row["a"], row["b"]): row for row in values(book["Pairs"])}
    assert {figure for figure, _, _ in pairs} >= {"relevance", "pct_relevant"}
    a_b = pairs[("relevance", "m:A", "m:B")]
    assert a_b["diff"] == pytest.approx(0.375) and a_b["items"] == 12
    assert a_b["decided"] is True and a_b["ci_method"] == "item-bootstrap"
    assert a_b["words"].startswith("m:A is better than m:B on this set")

    agreement = values(book["Agreement"])
    judged = "ollama:fixed:7b (pairwise)"
    first = next(r for r in agreement if r["figure"] == "First-position win rate (judge)")
    flips = next(r for r in agreement if r["figure"] == "Flip rate (judge)")
    assert (first["between"], first["value"], first["n"]) == (judged, 1.0, 24)
    assert (flips["between"], flips["value"], flips["n"]) == (judged, 1.0, 12)
