"""A study's tables and exports against plain Python over the rows the test inserted."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
from openpyxl import load_workbook

from lineup.app.facade import Lineup
from lineup.core.cells import csv_cell
from lineup.core.limits import InputError
from lineup.core.settings import load_settings
from lineup.report import ARENA_KEYS, RANKING_KEYS, load_study_result, study_summary, study_tables
from lineup.report import write_csv as write_study_csv
from lineup.report.export import study_sheets, write_sheets
from lineup.score.agreement import study_agreement
from lineup.score.automatic import SCORE_KEYS
from lineup.score.ranking import study_ranking
from lineup.store import GENERATION_EXPORT_COLUMNS, LABEL_EXPORT_COLUMNS
from lineup.store.database import Store
from lineup.study.records import create_study
from tests.builders import (
    TABLE_MODELS,
    TABLE_QUESTIONS,
    TABLE_SENTENCES,
    TABLE_VOICES,
    build_tts_study,
    build_vlm_study,
    make_set,
)
from tests.expected import (
    assert_rows,
    close,
    counted,
    expected_relevance,
    expected_repeats,
    expected_speed,
    expected_voices,
)

SCORE = {"relevant": 1.0, "partial": 0.5, "irrelevant": 0.0}


def INTERVAL_OF(name: str) -> tuple[str, ...]:  # noqa: N802 (reads as a constant's name)
    """A figure's key and its interval's keys."""
    return (name, *(f"{name}_ci_{part}" for part in ("low", "high", "method", "reason")))


def write_csv(store: Store, study_id: int, folder: Path) -> list[Path]:
    """The CSV export of a stored study (its StudyResult rendered)."""
    return write_study_csv(load_study_result(store, study_id), folder)


def write_xlsx(store: Store, study_id: int, path: Path) -> Path:
    """The study's tables and raw rows (the CSV export's sheets) through the XLSX writer."""
    return write_sheets(study_sheets(load_study_result(store, study_id)), path)


def test_relevance_counts_each_annotators_latest_label_on_the_studys_ok_answers(
    store: Store,
) -> None:
    built = build_vlm_study(store)
    tables = study_tables(store, built.study_id)
    assert_rows(tables.relevance, expected_relevance(built))
    # Labels outside the study never count: m:a's outside answer is labeled relevant.
    assert tables.relevance.set_index("model").loc["m:unlabeled", "requests"] == 0
    assert tables.relevance["model"].iloc[-1] == "m:unlabeled"


def test_one_annotators_relevance_counts_only_their_labels(store: Store) -> None:
    built = build_vlm_study(store)
    tables = study_tables(store, built.study_id, annotator="bob")
    assert tables.annotator == "bob"
    assert_rows(tables.relevance, expected_relevance(built, "bob"))


def test_speed_is_total_tokens_over_total_time_with_medians_of_the_ok_answers(
    store: Store,
) -> None:
    built = build_vlm_study(store)
    assert_rows(study_tables(store, built.study_id).speed, expected_speed(built))


def test_lengths_are_characters_not_bytes(store: Store) -> None:
    built = build_vlm_study(store, repeats=1)
    speed = study_tables(store, built.study_id).speed.set_index("model")
    texts = [a["output_text"] for a in built.answers if a["model"] == "m:a"]
    assert any(len(t.encode()) > len(t) for t in texts)
    assert speed.loc["m:a", "mean_chars"] == pytest.approx(sum(map(len, texts)) / len(texts))


def test_repeats_find_identical_answers_and_the_spread_of_length_and_time(
    store: Store,
) -> None:
    built = build_vlm_study(store)
    tables = study_tables(store, built.study_id)
    expected = expected_repeats(built)
    assert_rows(tables.repeats, expected)
    assert {r["model"]: r["identical_repeats"] for r in expected}["m:a"] == 1


def test_per_item_grid_scores_each_models_answers_on_each_item(store: Store) -> None:
    built = build_vlm_study(store)
    tables = study_tables(store, built.study_id)
    labels = counted(built)
    grid = tables.per_item
    assert list(grid.columns) == ["item_id", "position", "text", "reference", *TABLE_MODELS]
    assert list(grid["text"]) == [q for q, _ in TABLE_QUESTIONS]
    assert list(grid["position"]) == [0, 1, 2]
    for row, item in zip(grid.to_dict("records"), built.items, strict=True):
        assert close(row["reference"], item["ref"])
        for model in TABLE_MODELS:
            mine = [
                a for a in built.answers if a["model"] == model and a["item_id"] == item["item_id"]
            ]
            # The mean over the labeled answers of each answer's mean label.
            means = [
                statistics.mean(SCORE[r] for r in labels[a["id"]])
                for a in mine
                if labels.get(a["id"])
            ]
            assert close(row[model], statistics.mean(means) if means else None), model
            assert tables.per_item_ids[(item["item_id"], model)] == tuple(
                a["id"] for a in sorted(mine, key=lambda a: a["repeat"])
            )
    assert grid["m:unlabeled"].isna().all()


def test_summary_has_exactly_the_documented_keys_and_json_values(store: Store) -> None:
    built = build_vlm_study(store)
    summary = study_summary(store, built.study_id)
    json.dumps(summary, allow_nan=False)
    assert set(summary) == {
        "study_id",
        "set",
        "kind",
        "status",
        "timing",
        "done",
        "total",
        "items",
        "items_with_reference",
        "judge",
        "reference",
        "agreement",
        "stop_labeling",
        "judge_reliability",
        "pairs",  # its values: tests/unit/test_pairs.py
        "machine",  # None: the builder wrote the study straight in the store
        "models",
    }
    assert summary["machine"] is None
    assert all(model["provenance"] is None for model in summary["models"])
    assert summary["judge_reliability"] == []  # no judge ran
    assert summary["items"] == len(built.items)
    assert summary["items_with_reference"] == sum(1 for item in built.items if item["ref"])
    # The ranking and the agreement as lineup.ranking and lineup.agreement compute them (their
    # figures are tested there).
    agreement = study_agreement(store, built.study_id)
    assert summary["agreement"]["alpha"] == pytest.approx(agreement.alpha)
    assert summary["agreement"]["n_items"] == agreement.n_items
    assert len(summary["agreement"]["kappa_pairs"]) == len(agreement.kappa_pairs)
    ranking = study_ranking(store, built.study_id)
    assert ranking
    for entry in summary["models"]:
        rated = ranking.get(entry["model"])
        expected_bt = [rated.rating, rated.ci_low, rated.ci_high] if rated else [None] * 3
        assert [entry["bt_rating"], entry["bt_ci_low"], entry["bt_ci_high"]] == (
            pytest.approx(expected_bt)
        )
        # The rank is the relevance pairs' (tests/unit/test_pairs.py), not the rating's.
        assert entry["won_every_comparison"] == (rated.won_every_comparison if rated else None)
    assert (summary["study_id"], summary["set"], summary["kind"]) == (
        built.study_id,
        "pictures",
        "vlm",
    )
    assert summary["total"] == len(TABLE_QUESTIONS) * len(TABLE_MODELS) * 3
    assert summary["done"] == sum(a["status"] != "running" for a in built.answers)
    assert [m["model"] for m in summary["models"]] == TABLE_MODELS
    keys = {
        "model",
        "requests",
        "ok",
        "errors",
        "labeled",
        "relevant",
        "partial",
        "irrelevant",
        "pct_relevant",
        "pct_relevant_ci_low",
        "pct_relevant_ci_high",
        "pct_relevant_ci_method",
        "pct_relevant_ci_reason",
        *INTERVAL_OF("relevance"),
        "output_tokens",
        "time_s",
        "tokens_per_time_s",
        "median_ttft_s",
        "median_tokens_per_s",
        "mean_chars",
        "chars_per_s",
        "concurrent_min",  # their values: tests/unit/test_timing_modes.py
        "concurrent_max",
        "answers_alone",
        # The cold answers apart, the energy and the GPU memory (their values: test_cold.py).
        "cold_answers",
        "cold_median_ttft_s",
        "cold_median_total_s",
        "cold_median_tokens_per_s",
        "median_energy_j",
        "energy_source",
        "gpu_mem_mb",
        "identical_repeats",
        "identical_share",
        "mean_repeat_rougeL",
        *SCORE_KEYS,  # their values: tests/unit/test_study_scores.py
        *RANKING_KEYS,
        *ARENA_KEYS,  # their values: tests/unit/test_arena.py
        "provenance",  # what the model's server said about itself: tests/unit/test_studies.py
    }
    relevance = {r["model"]: r for r in expected_relevance(built)}
    speed = {r["model"]: r for r in expected_speed(built)}
    repeats = {r["model"]: r for r in expected_repeats(built)}
    for entry in summary["models"]:
        assert set(entry) == keys
        model = entry["model"]
        assert entry["requests"] == relevance[model]["answers"]
        assert entry["labeled"] == relevance[model]["requests"]
        assert close(entry["pct_relevant"], relevance[model]["pct_relevant"])
        assert close(entry["tokens_per_time_s"], speed[model]["tokens_per_time_s"])
        assert entry["identical_repeats"] == repeats[model]["identical_repeats"]
        assert all(type(v) in (str, int, float, bool, type(None)) for v in entry.values())


def test_unknown_study_is_an_input_error(lineup_home: Path, tmp_path: Path) -> None:
    app = Lineup.open(load_settings())
    with pytest.raises(InputError, match="no study 99"):
        app.studies.tables(99)
    with pytest.raises(InputError, match="no study 99"):
        app.studies.summary(99)
    with pytest.raises(InputError, match="no study 99"):
        app.studies.export(99, "csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# Exports ------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_csv_export_writes_every_table_and_the_studys_raw_rows(
    store: Store, tmp_path: Path
) -> None:
    built = build_vlm_study(store)
    paths = write_csv(store, built.study_id, tmp_path / "csv")
    names = ["relevance", "speed", "per_item", "repeats", "generations", "labels", "provenance"]
    assert [p.name for p in paths] == [f"study-{built.study_id}-{n}.csv" for n in names]

    relevance = read_csv(paths[0])
    for row, wanted in zip(relevance, expected_relevance(built), strict=True):
        assert row["model"] == wanted["model"]
        assert int(row["requests"]) == wanted["requests"]
        if wanted["pct_relevant"] is None:
            assert row["pct_relevant"] == ""
        else:
            assert float(row["pct_relevant"]) == pytest.approx(wanted["pct_relevant"])

    generations = read_csv(paths[4])
    assert list(generations[0]) == [*GENERATION_EXPORT_COLUMNS, "item_position"]
    assert "heartbeat_at" not in generations[0] and "owner_pid" not in generations[0]
    assert sorted(int(g["id"]) for g in generations) == sorted(a["id"] for a in built.answers)
    by_id = {a["id"]: a for a in built.answers}
    for row in generations:
        answer = by_id[int(row["id"])]
        assert int(row["item_position"]) == answer["index"]
        assert int(row["repeat"]) == answer["repeat"]
        # A formula-like answer ("=SUM(A1:A2)") behind a single quote (lineup.cells).
        assert row["output_text"] == (csv_cell(answer.get("output_text")) or "")

    labels = read_csv(paths[5])
    assert list(labels[0]) == [
        *LABEL_EXPORT_COLUMNS,
        "counted",
        "item_id",
        "item_position",
        "repeat",
    ]
    assert len(labels) == len(built.labels)  # every label of the study, and only those
    latest = counted(built)
    assert sum(row["counted"] == "True" for row in labels) == sum(map(len, latest.values()))


def test_xlsx_export_has_a_sheet_per_table_bold_headers_and_numbers(
    store: Store, tmp_path: Path
) -> None:
    built = build_vlm_study(store)
    path = write_xlsx(store, built.study_id, tmp_path / "study.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [
        "relevance",
        "speed",
        "per_item",
        "repeats",
        "generations",
        "labels",
        "provenance",
    ]
    relevance = workbook["relevance"]
    header = [cell.value for cell in relevance[1]]
    assert header[:3] == ["model", "requests", "relevant"]
    assert all(cell.font.bold for cell in relevance[1])
    assert relevance.column_dimensions["A"].width >= len("m:unlabeled")
    wanted = expected_relevance(built)
    for row, expected in zip(relevance.iter_rows(min_row=2, values_only=True), wanted, strict=True):
        record = dict(zip(header, row, strict=True))
        assert record["model"] == expected["model"]
        assert isinstance(record["requests"], int) and record["requests"] == expected["requests"]
        assert close(record["pct_relevant"], expected["pct_relevant"])
        assert close(record["pct_relevant_ci_low"], expected["pct_relevant_ci_low"])

    speed = workbook["speed"]
    header = [cell.value for cell in speed[1]]
    for row, expected in zip(
        speed.iter_rows(min_row=2, values_only=True), expected_speed(built), strict=True
    ):
        record = dict(zip(header, row, strict=True))
        assert isinstance(record["tokens_per_time_s"], float)
        assert close(record["tokens_per_time_s"], expected["tokens_per_time_s"])
        assert close(record["mean_chars"], expected["mean_chars"])

    generations = workbook["generations"]
    header = [cell.value for cell in generations[1]]
    texts = [dict(zip(header, row, strict=True)) for row in generations.iter_rows(min_row=2)]
    formula = [r["output_text"] for r in texts if r["model_spec"].value == "m:c"]
    assert any(cell.value == "=SUM(A1:A2)" and cell.data_type == "s" for cell in formula)
    assert any(r["output_text"].value == "Кошка." for r in texts)
    assert generations.max_row == 1 + len(built.answers)


def test_a_study_without_answers_writes_files_with_headers(store: Store, tmp_path: Path) -> None:
    set_id = make_set(store, "empty", "vlm", [])
    study_id = create_study(store, set_id=set_id, models=["m:a"], repeats=2, params={})
    paths = write_csv(store, study_id, tmp_path / "csv")
    with paths[2].open(encoding="utf-8") as file:
        assert file.read() == '"item_id","position","text","reference","m:a"\n'
    with paths[4].open(encoding="utf-8", newline="") as file:
        assert list(csv.reader(file)) == [[*GENERATION_EXPORT_COLUMNS, "item_position"]]
    assert read_csv(paths[0])[0]["requests"] == "0"
    workbook = load_workbook(write_xlsx(store, study_id, tmp_path / "empty.xlsx"))
    assert workbook["labels"].max_row == 1
    assert [c.value for c in workbook["labels"][1]][:2] == ["id", "generation_id"]
    summary = study_summary(store, study_id)
    assert (summary["done"], summary["total"]) == (0, 0)


# Voices -------------------------------------------------------------------------------------


def test_voices_table_sums_word_counts_and_means_over_the_studys_clips(store: Store) -> None:
    built = build_tts_study(store)
    tables = study_tables(store, built.study_id)
    assert_rows(tables.voices, expected_voices(built))
    assert tables.speed.empty and tables.repeats.empty
    assert list(tables.tables()) == ["relevance", "voices", "per_item", "transcripts"]


def test_transcripts_stand_side_by_side_per_sentence_and_repeat(store: Store) -> None:
    built = build_tts_study(store)
    transcripts = study_tables(store, built.study_id).transcripts
    assert list(transcripts.columns) == ["item_id", "position", "text", "repeat", *TABLE_VOICES]
    records = transcripts.to_dict("records")
    assert [(r["position"], r["repeat"]) for r in records] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    said = {
        (a["index"], a["repeat"], a["model"]): a["transcript"] if a["status"] == "ok" else None
        for a in built.answers
    }
    for record in records:
        assert record["text"] == TABLE_SENTENCES[record["position"]]
        for voice in TABLE_VOICES:
            assert close(record[voice], said[(record["position"], record["repeat"], voice)])


def test_voice_summary_has_exactly_the_documented_keys(store: Store) -> None:
    built = build_tts_study(store)
    summary = study_summary(store, built.study_id)
    json.dumps(summary, allow_nan=False)
    assert summary["kind"] == "tts" and summary["total"] == 8 and summary["done"] == 8
    keys = {
        "model",
        "requests",
        "ok",
        "errors",
        "labeled",
        "relevant",
        "partial",
        "irrelevant",
        "pct_relevant",
        "pct_relevant_ci_low",
        "pct_relevant_ci_high",
        "pct_relevant_ci_method",
        "pct_relevant_ci_reason",
        *INTERVAL_OF("relevance"),
        *INTERVAL_OF("mean_wer"),
        "corpus_wer",
        *INTERVAL_OF("cer"),
        "gen_s_per_sentence",
        "stt_s_per_sentence",
        "rtf",
        "peak_mem_mb",
        "concurrent_min",
        "concurrent_max",
        "answers_alone",
        "cold_answers",
        "median_energy_j",
        "energy_source",
        "gpu_mem_mb",
        *RANKING_KEYS,  # voices are ranked from their labels as models are
        *ARENA_KEYS,  # voices are voted on in the arena as models are
        "provenance",
    }
    voices = {r["model"]: r for r in expected_voices(built)}
    for entry in summary["models"]:
        assert set(entry) == keys
        wanted = voices[entry["model"]]
        assert entry["requests"] == wanted["clips"]
        for key in ("mean_wer", "corpus_wer", "cer", "rtf", "stt_s_per_sentence"):
            assert close(entry[key], wanted[key]), key
    first = summary["models"][0]
    assert (first["labeled"], first["partial"], first["pct_relevant"]) == (1, 1, 0.0)
    assert summary["models"][1]["errors"] == 1


def test_voice_study_exports_voices_and_transcripts(store: Store, tmp_path: Path) -> None:
    built = build_tts_study(store)
    app_paths = write_csv(store, built.study_id, tmp_path)
    assert [p.name.split("-", 2)[2] for p in app_paths] == [
        "relevance.csv",
        "voices.csv",
        "per_item.csv",
        "transcripts.csv",
        "generations.csv",
        "labels.csv",
        "provenance.csv",
    ]
    voices = read_csv(app_paths[1])
    for row, wanted in zip(voices, expected_voices(built), strict=True):
        assert float(row["corpus_wer"]) == pytest.approx(wanted["corpus_wer"])
    workbook = load_workbook(write_xlsx(store, built.study_id, tmp_path / "voices.xlsx"))
    assert workbook.sheetnames[:4] == ["relevance", "voices", "per_item", "transcripts"]
    sheet = workbook["voices"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert close(first["mean_wer"], expected_voices(built)[0]["mean_wer"])


def test_facade_exports_csv_into_a_folder_and_xlsx_into_a_file(
    lineup_home: Path, tmp_path: Path
) -> None:
    app = Lineup.open(load_settings())
    built = build_tts_study(app.store)
    assert app.studies.summary(built.study_id)["kind"] == "tts"
    assert list(app.studies.tables(built.study_id).voices["model"]) == TABLE_VOICES
    csvs = app.studies.export(built.study_id, "csv", tmp_path / "csv")
    assert all(p.parent == tmp_path / "csv" and p.exists() for p in csvs)
    [xlsx] = app.studies.export(built.study_id, "xlsx", tmp_path)
    assert xlsx == tmp_path / f"study-{built.study_id}.xlsx" and xlsx.exists()
