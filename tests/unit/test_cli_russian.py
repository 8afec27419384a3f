"""The CLI in Russian (LINEUP_LANG=ru): the live progress lines, `study show`, `--help` and
argparse's own words, the machine line's memory; English byte for byte what it was."""

from __future__ import annotations

import io
import os
import queue
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lineup.app import Lineup
from lineup.cli.arguments import argparse_message
from lineup.cli.main import main
from lineup.cli.output import energy_line
from lineup.cli.progress import follow, follow_comparison
from lineup.core import set_language, using_language
from lineup.measure import LiveFigures, live_line
from lineup.run import GenerationResult, JobView, machine_line
from lineup.store import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import FULL, INT8, build_ladder_study, build_report_study


@pytest.fixture(autouse=True)
def english_afterwards() -> object:
    yield
    set_language("en")  # main() sets this thread's language


# The progress lines --------------------------------------------------------------------------

STALLED = LiveFigures(
    elapsed_s=7.4,
    ttft_s=0.8,
    count=3,
    unit="tokens",
    rate_per_s=None,
    window_s=2.0,
    stalled=True,
    quiet_s=6.1,
)
FLOWING = LiveFigures(
    elapsed_s=2.6,
    ttft_s=0.4,
    count=21,
    unit="tokens",
    rate_per_s=12.5,
    window_s=2.0,
    stalled=False,
    quiet_s=0.1,
)


class _Comparison:
    """What follow_comparison reads of a comparison: a model done, three running (one not yet
    sending, one stalled, one streaming), then a model failed with a hostile error."""

    def __init__(self) -> None:
        self.events: queue.Queue[SimpleNamespace] = queue.Queue()  # what it reads of an event
        self.events.put(SimpleNamespace(result=_result(7, "m:a", "ok", None)))
        self.events.put(SimpleNamespace(result=_result(9, "m:e", "error", "boom\x1b[2J")))
        self.done = False

    def snapshot(self) -> list[JobView]:
        self.done = True  # one drawing, then the failure and the end
        return [
            JobView(1, "m:b", "running", "", "", None),
            JobView(2, "m:c", "running", "", "", None, live=STALLED),
            JobView(3, "m:d", "running", "", "", None, live=FLOWING),
            JobView(7, "m:a", "ok", "", "", None),
        ]

    def wait(self) -> None:
        pass


def _result(generation_id: int, model: str, status: Any, error: str | None) -> GenerationResult:
    return GenerationResult(generation_id, model, status, "", "", error, None)


def _progress(language: str) -> str:
    out = io.StringIO()  # not a terminal: a line per running model, as into a pipe
    with using_language(language):
        follow_comparison(_Comparison(), out=out, interval_s=0.0)  # type: ignore[arg-type]
        figures = live_line(STALLED), live_line(FLOWING)
    return out.getvalue().replace(figures[0], "<stalled figures>").replace(figures[1], "<figures>")


def test_the_live_progress_lines_speak_russian_around_the_figures() -> None:
    assert _progress("ru") == (
        "  готово m:a (генерация 7)\n"
        "  m:b: готовится\n"
        "  m:c: ЗАВИС 6,1 с · <stalled figures>\n"
        "  m:d: <figures>\n"
        "  сбой   m:e (генерация 9): boom\\x1b[2J\n"
    )
    with using_language("ru"):  # the figures themselves are lineup.measure's, in Russian too
        assert live_line(FLOWING).startswith("2,6 с · ")


def test_the_live_progress_lines_in_english_are_as_they_were() -> None:
    assert _progress("en") == (
        "  done   m:a (generation 7)\n"
        "  m:b: getting ready\n"
        "  m:c: STALLED 6.1 s · <stalled figures>\n"
        "  m:d: <figures>\n"
        "  failed m:e (generation 9): boom\\x1b[2J\n"
    )


def _study_progress_lines(language: str, capsys: Any) -> str:
    """What `study run` prints on stderr at its end, into a pipe (no bar there)."""
    models = [
        SimpleNamespace(model="m:a", done=6, total=6, errors=0),
        SimpleNamespace(model="m:b", done=5, total=6, errors=1),
    ]
    state = SimpleNamespace(total=12, done=11, models=models)
    app = SimpleNamespace(studies=SimpleNamespace(progress=lambda study_id: state))
    run = SimpleNamespace(study_id=3, done=True)
    with using_language(language):
        follow(app, run)  # type: ignore[arg-type]
    return str(capsys.readouterr().err)


def test_a_study_s_progress_lines_in_russian(capsys: pytest.CaptureFixture[str]) -> None:
    assert _study_progress_lines("ru", capsys) == (
        "  m:a: готово 6/6, с ошибкой 0\n  m:b: готово 5/6, с ошибкой 1\n"
    )
    assert _study_progress_lines("en", capsys) == (
        "  m:a: 6/6 done, 0 failed\n  m:b: 5/6 done, 1 failed\n"
    )


# study show ----------------------------------------------------------------------------------


def _show(study_id: int, language: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> str:
    monkeypatch.setenv("LINEUP_LANG", language)
    assert main(["study", "show", str(study_id)]) == 0
    return str(capsys.readouterr().out)


def _columns_line_up(block: str) -> None:
    """Each cell of a text table starts where its header starts (Cyrillic headers included)."""
    header, *rows = block.splitlines()
    starts = [m.start() for m in re.finditer(r"(?:(?<=  )|^)\S", header)]
    assert len(starts) > 2, header
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2 : start] == "  " and row[start] != " ", (header, row)


def test_study_show_in_russian(
    lineup_home: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    study_id = build_report_study(store)
    english = _show(study_id, "en", monkeypatch, capsys)
    russian = _show(study_id, "ru", monkeypatch, capsys)
    lines = russian.splitlines()
    assert lines[0] == (
        f"исследование {study_id}: набор 'shots' (vlm), идёт, ответов 4 из 4, "
        "замер времени: параллельно"
    )
    blocks = russian.split("\n\n")
    relevance = next(b for b in blocks if b.startswith("релевантность ("))
    table = relevance.split("\n", 1)[1]
    assert table.splitlines()[0].split() == [
        "Модель",
        "Ответы",
        "Завершено",
        "Сбои",
        "Метки",
        "Релевантен",
        "Частично",
        "Нерелевантен",
        "%",
        "релевантных",
        "Средняя",
        "оценка",
    ]
    # m:bad: four labels, partial twice and irrelevant twice (the table's own counts): a mean
    # score of (0.5 + 0.5 + 0 + 0) / 4 = 0.25, written the Russian way.
    assert table.splitlines()[2].split() == [
        "m:bad",
        "2",
        "2",
        "0",
        "4",
        "0",
        "2",
        "2",
        "0",
        "0,25",
    ]
    for block in blocks:
        if block.startswith(("релевантность (", "скорость (", "оценки (", "рейтинг (")):
            _columns_line_up(block.split("\n", 1)[1].split("\n  ")[0])
    assert "согласие: альфа Криппендорфа 0,806 (надёжно) по 4 ответам" in russian
    assert "простое согласие 50\xa0% (одинаковые метки)" in russian
    assert (
        "  не решено: m:good - m:bad = 0,75 [-, -] по 2 элементам; элементов, размеченных у "
        "обеих: 2, а для оценки нужно 5"
    ) in lines
    assert "что и где работало: машина не записана" in lines
    # No line of English prose is left: a line both outputs share is blank.
    assert set(lines) & set(english.splitlines()) == {""}
    # English as it was: the keys head the tables, a decimal point.
    assert english.splitlines()[0] == (
        f"study {study_id}: set 'shots' (vlm), running, 4 of 4 answers, parallel timing"
    )
    assert "model   requests  ok  errors  labeled  relevant" in english and "0.25" in english
    assert "agreement: Krippendorff's alpha 0.806 (reliable) over 4 answers" in english


# --help and argparse's words -----------------------------------------------------------------

# What a help line may share with the English one: flags, metavars, choices, model specs, names.
_NAMES = re.compile(
    r"-{1,2}[\w-]+|\b[A-Z][A-Z_]+\b|\{[^}]*\}|\[[^\]]*\]|python -m lineup|KIND:MODEL\S*|[\w.]+\.\w+"
)


def _help(monkeypatch: pytest.MonkeyPatch, capsys: Any, language: str, *command: str) -> str:
    monkeypatch.setenv("LINEUP_LANG", language)
    with pytest.raises(SystemExit) as ended:
        main([*command, "--help"])
    assert ended.value.code == 0
    return str(capsys.readouterr().out)


@pytest.mark.parametrize("command", [(), ("study", "run"), ("leaderboard",)])
def test_help_is_russian_with_no_english_help_line_left(
    lineup_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    english = _help(monkeypatch, capsys, "en", *command)
    russian = _help(monkeypatch, capsys, "ru", *command)
    assert re.search("[а-яё]{4}", russian)
    assert russian.startswith("использование: python -m lineup")
    assert "параметры:" in russian and "показать эту справку и выйти" in russian
    for word in ("usage:", "options:", "positional arguments:", "show this help message"):
        assert word not in russian
    for line in set(russian.splitlines()) & set(english.splitlines()):
        words = _NAMES.sub(" ", line)
        assert not re.search("[a-z]{3}", words), f"English help left: {line!r}"


def test_the_top_help_names_each_command_in_russian(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    russian = _help(monkeypatch, capsys, "ru")
    assert "    study               набор вопросов для нескольких моделей" in russian
    assert "`python -m lineup`: тот же движок, что и в приложении, для скриптов и CI." in russian


def _bad(monkeypatch: pytest.MonkeyPatch, capsys: Any, language: str, *argv: str) -> str:
    monkeypatch.setenv("LINEUP_LANG", language)
    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    assert ended.value.code == 2
    err = str(capsys.readouterr().err)
    return err.strip().splitlines()[-1]


def test_a_bad_command_line_exits_2_with_argparse_s_words_in_russian(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = "python -m lineup study run"
    cases = [
        (
            ["study", "run", "--set", "s", "--timing", "x"],
            f"{run}: ошибка: аргумент --timing: недопустимый вариант: 'x' (выберите из "
            "'parallel', 'fair')",
            f"{run}: error: argument --timing: invalid choice: 'x' (choose from 'parallel', "
            "'fair')",
        ),
        (
            ["study", "run"],
            f"{run}: ошибка: нужны аргументы: --set",
            f"{run}: error: the following arguments are required: --set",
        ),
        (
            ["study", "run", "--set", "s", "--seed", "x"],
            f"{run}: ошибка: аргумент --seed: 'x' — не целое число от 0 до 2147483647.",
            f"{run}: error: argument --seed: 'x' is not a whole number from 0 to 2147483647.",
        ),
        (
            ["study", "run", "--set"],
            f"{run}: ошибка: аргумент --set: ожидался один аргумент",
            f"{run}: error: argument --set: expected one argument",
        ),
        (
            ["sets", "list", "extra"],
            "python -m lineup: ошибка: нераспознанные аргументы: extra",
            "python -m lineup: error: unrecognized arguments: extra",
        ),
        (
            ["sets", "import", "p", "--shipped", "s"],
            "python -m lineup sets import: ошибка: аргумент --shipped: нельзя вместе с "
            "аргументом path",
            "python -m lineup sets import: error: argument --shipped: not allowed with "
            "argument path",
        ),
    ]
    for argv, russian, english in cases:
        assert _bad(monkeypatch, capsys, "ru", *argv) == russian
        assert _bad(monkeypatch, capsys, "en", *argv) == english


def test_argparse_messages_are_unchanged_in_english_and_unknown_ones_pass_through() -> None:
    messages = [
        "the following arguments are required: --set, study_id",
        "unrecognized arguments: a b",
        "one of the arguments path --shipped is required",
        "ambiguous option: --s could match --set, --seed",
        "argument --kind: invalid choice: 'x' (choose from 'vlm', 'tts')",
        "argument --seed: invalid int value: 'x'",
        "argument --set: expected one argument",
        "argument --json: ignored explicit argument 'x'",
        "something argparse may say one day",
    ]
    for message in messages:
        assert argparse_message(message) == message
    with using_language("ru"):
        assert argparse_message(messages[-1]) == messages[-1]
        assert argparse_message(messages[3]) == (
            "неоднозначный параметр: --s подходит к --set, --seed"
        )
        assert argparse_message(messages[5]) == ("аргумент --seed: недопустимое значение int: 'x'")


# The machine line ----------------------------------------------------------------------------

MACHINE = {
    "cpu": "AMD EPYC 7B13",
    "cores": 2,
    "memory_gb": 23.5,
    "os": "Linux 6.1.0 (x86_64)",
    "python": "3.11.7",
    "gpus": [{"name": "NVIDIA L4", "memory_gb": 22.5, "driver": "550.54"}],
}


def test_the_machine_line_writes_memory_with_the_language_s_decimal() -> None:
    assert machine_line(MACHINE) == (
        "AMD EPYC 7B13, 2 cores, 23.5 GiB, Linux 6.1.0, Python 3.11.7, "
        "NVIDIA L4 (22.5 GiB, driver 550.54)"
    )
    with using_language("ru"):
        assert machine_line(MACHINE) == (
            "AMD EPYC 7B13, ядер: 2, 23,5 ГиБ, Linux 6.1.0, Python 3.11.7, "
            "NVIDIA L4 (22,5 ГиБ, драйвер 550.54)"
        )
        # A machine stored with whole gigabytes is shown as it was stored.
        assert "ядер: 2, 16 ГиБ, Linux" in machine_line({**MACHINE, "memory_gb": 16, "gpus": []})


# study compare and the lines under an answer ------------------------------------------------


def test_study_compare_in_russian(
    app: Lineup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_study_compare import IRR, R, six_items, study

    set_id = six_items(app)
    baseline = study(app.store, set_id, {(n, 0): ("a", [R]) for n in range(6)})
    candidate = study(app.store, set_id, {(n, 0): ("a", [R if n else IRR]) for n in range(6)})
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert main(["study", "compare", str(baseline), str(candidate)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"базовое исследование {baseline} (набор 'six') -> исследование-кандидат {candidate} "
        "(набор 'six'): 6 общих элементов, сопоставлены по id элемента (тот же набор)"
    )
    header = next(line for line in lines if line.startswith("Модель  Показатель  Базовое"))
    _columns_line_up("\n".join(lines[lines.index(header) : lines.index(header) + 5]))
    # relevance: 1 in the baseline, 5 of 6 items relevant in the candidate: 5/6 = 0.833.
    relevance = lines[lines.index(header) + 1].split()
    assert relevance[:4] == ["m:x", "relevance", "1", "0,833"]
    assert relevance[-2:] == ["не", "показана"]
    assert "ухудшения: у кандидата хуже оценка 1 элемента, сначала самые большие" in lines
    assert "улучшения: у кандидата лучше оценки 0 элементов, сначала самые большие" in lines


def test_the_energy_line_in_both_languages() -> None:
    measured = {"energy_j": 12.5, "energy_source": "gpu", "gpu_mem_mb": 512.4}
    unmeasured = {"energy_j": None, "gpu_mem_mb": None}
    assert energy_line(measured) == (
        "energy 12.5 J (whole gpu device(s) over the answer); GPU memory 512 MiB"
    )
    assert energy_line(unmeasured) == "energy n/a; GPU memory n/a"
    with using_language("ru"):
        assert energy_line(measured) == (
            "энергия 12,5 Дж (всё устройство gpu за время ответа); память GPU 512 МиБ"
        )
        assert energy_line(unmeasured) == "энергия н/д; память GPU н/д"


@pytest.mark.integration  # python -m lineup in a subprocess
@pytest.mark.timeout(300)  # a command of a few seconds, with imports, on a loaded machine
def test_vlm_s_live_lines_into_a_pipe_speak_russian_end_to_end(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/unit/test_cli.py's live-figures test, in Russian: two words, a 3.5 s pause (stalled
    after 0.5 s of it, so a line written every 2 s into the pipe falls in the stall), two more."""
    pausing = FakeModel("pausing:1b", ["One", "two", "three", "four."], gaps_s=[0.1, 3.5, 0.1])
    monkeypatch.setenv("LINEUP_STALL_S", "0.5")
    monkeypatch.setenv("LINEUP_LANG", "ru")
    with OllamaFixture([pausing]) as server:
        spec = f"ollama:pausing:1b@{server.base_url}"
        shown = subprocess.run(
            [sys.executable, "-m", "lineup", "vlm", "--question", "Count.", "--model", spec],
            cwd=Path(__file__).resolve().parents[2],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert shown.returncode == 0, shown.stderr
    live = [line for line in shown.stderr.splitlines() if line.startswith(f"  {spec}: ")]
    in_pause = [line for line in live if line.startswith(f"  {spec}: ЗАВИС ")]
    assert any(" · 2 фрагмента · " in line for line in in_pause), shown.stderr
    assert re.search(r" ЗАВИС \d+,\d с · \d+,\d с · TTFT ", in_pause[0]), in_pause[0]
    assert shown.stderr.splitlines()[-1].startswith(f"  готово {spec} (генерация ")
    for english in ("STALLED", "getting ready", "done ", "chunks"):
        assert english not in shown.stderr
    assert "машина: " in shown.stdout and "One two three four." in shown.stdout


def test_study_show_against_in_russian(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study_id = build_ladder_study(Lineup.open().store)
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert main(["study", "show", str(study_id), "--against", FULL]) == 0
    lines = capsys.readouterr().out.splitlines()
    said = next(line for line in lines if line.startswith(f"согласие с {FULL} "))
    header = lines[lines.index(said) + 1]
    assert header.split("  ")[:2] == ["Модель", "Пары"] and "ROUGE-L к ней" in header
    _columns_line_up("\n".join(lines[lines.index(said) + 1 : lines.index(said) + 4]))
    # m:int8: 10 pairs, an identical share of 0.9 and ROUGE-L 67/70 = 0.957, worked by hand
    # in tests/unit/test_agreement_with.py; here written with the decimal comma.
    int8 = next(line for line in lines[lines.index(said) :] if line.startswith(INT8))
    assert int8.split()[1:4] == ["10", "0,9", "0,957"]
