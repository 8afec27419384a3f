"""The domain's errors and the CLI's human lines in Russian and English (lineup.core.i18n):
each error a whole sentence per case, in the language of LINEUP_LANG, exit 2 for bad input;
the tables meant for scripts and every --json document the same in both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineup.cli.main import main
from lineup.core import InputError, check_question, check_seed, set_language, using_language
from lineup.measure import LiveFigures, contention_note, in_flight_words, live_line, stall_line
from lineup.run import ColumnConditions, card_facts, differences, host_words
from lineup.sets import SetError, read_set_bytes
from tests.builders import png_bytes


@pytest.fixture(autouse=True)
def english_afterwards() -> object:
    yield
    set_language("en")  # main() sets this thread's language


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bad_set_is_refused_in_russian_with_exit_2_and_the_same_in_english(
    lineup_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "tickets"
    folder.mkdir()
    (folder / "ok.png").write_bytes(png_bytes((40, 30)))
    (folder / "questions.csv").write_text(
        "image,question,colour\nok.png,What is shown?,red\n", encoding="utf-8"
    )
    monkeypatch.setenv("LINEUP_LANG", "ru")
    code, out, err = run(capsys, "sets", "import", str(folder))
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"ошибка: Из {folder / 'questions.csv'} ничего не импортировано: questions.csv, "
        "строка 1: неизвестный столбец colour. Допустимые столбцы: image, question, "
        "reference, language, tags."
    )
    monkeypatch.setenv("LINEUP_LANG", "en")
    code, out, err = run(capsys, "sets", "import", str(folder))
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"error: Nothing was imported from {folder / 'questions.csv'}: questions.csv, line 1: "
        "unknown column colour. The columns allowed are image, question, reference, "
        "language, tags."
    )


def test_several_problems_of_a_set_are_counted_with_the_russian_plural() -> None:
    data = "text,language\nПривет!,русский\n,ru\nЁлка,xx-toolongsubtag\n".encode()
    with using_language("ru"), pytest.raises(SetError) as caught:
        read_set_bytes("sentences.csv", data)
    assert str(caught.value) == (
        "Из sentences.csv ничего не импортировано; 3 проблемы:\n"
        "- sentences.csv, строка 2: 'русский' — не тег языка. Напишите код вроде en, ru или "
        "pt-BR или оставьте язык пустым.\n"
        "- sentences.csv, строка 3: Предложение пустое: дайте голосам предложение, которое "
        "нужно произнести.\n"
        "- sentences.csv, строка 4: 'xx-toolongsubtag' — не тег языка. Напишите код вроде en, "
        "ru или pt-BR или оставьте язык пустым."
    )
    with pytest.raises(SetError) as caught:
        read_set_bytes("sentences.csv", data)
    assert str(caught.value).splitlines()[:3] == [
        "Nothing was imported from sentences.csv; 3 problems:",
        "- sentences.csv, line 2: 'русский' is not a language tag. Write a code such as en, "
        "ru or pt-BR, or leave the language empty.",
        "- sentences.csv, line 3: The sentence is empty: give a sentence for the voices to speak.",
    ]


def test_each_text_check_is_one_sentence_and_its_numbers_are_written_for_the_language() -> None:
    too_long = "я" * 20_001
    with pytest.raises(InputError) as caught:
        check_question(too_long)
    assert str(caught.value) == (
        "The question is 20,001 characters long, over the limit of 20,000. Shorten it."
    )
    with using_language("ru"), pytest.raises(InputError) as caught:
        check_question(too_long)
    # Babel's Russian groups thousands with a no-break space.
    assert str(caught.value) == (
        "Вопрос длиной 20\xa0001 симв., это больше предела в 20\xa0000. Сократите его."
    )
    with using_language("ru"), pytest.raises(InputError) as caught:
        check_seed(-1, samples=3)
    assert str(caught.value) == (
        "Сид должен быть от 0 до 2\xa0147\xa0483\xa0645 (сэмпл k берёт сид + k, сэмплов 3), "
        "а не -1."
    )


def test_argument_and_command_errors_exit_2_in_russian(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "ru")
    code, out, err = run(capsys, "study", "run", "--set", "x", "--model", "a", "--voice", "b")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "ошибка: Укажите модели (--model) для набора VLM или голоса (--voice) для голосового "
        "набора."
    )
    code, out, err = run(capsys, "study", "run", "--set", "nowhere", "--model", "ollama:x")
    assert code == 2
    assert err.startswith("ошибка: Набора с названием 'nowhere' нет.")
    with pytest.raises(SystemExit) as exited:  # argparse's usage error
        main(["study", "run", "--set", "x", "--model", "a", "--seed", "abc"])
    assert exited.value.code == 2
    # argparse's own words ("usage:", "error: argument --seed:") in Russian too
    # (lineup.cli.arguments.Parser).
    said = capsys.readouterr().err
    assert said.startswith("использование: python -m lineup study run")
    assert said.endswith(
        "python -m lineup study run: ошибка: аргумент --seed: 'abc' — не целое число от 0 до "
        "2147483647.\n"
    )


def test_the_sets_table_is_the_same_in_both_languages_and_its_json_too(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert run(capsys, "study", "list")[1].strip() == (
        "Исследований пока нет: python -m lineup study run --set NAME --model SPEC"
    )
    assert run(capsys, "sets", "import", "--shipped", "voice-sentences")[0] == 0
    tables, documents = [], []
    for code in ("en", "ru"):
        monkeypatch.setenv("LINEUP_LANG", code)
        tables.append(run(capsys, "sets", "list")[1])
        documents.append(json.loads(run(capsys, "sets", "list", "--json")[1]))
    # A table is for scripts: its columns are the JSON keys, its values the stored codes.
    assert tables[0] == tables[1]
    header, row = tables[0].splitlines()
    assert header.split() == [
        "id",
        "name",
        "kind",
        "items",
        "with_reference",
        "languages",
        "created_at",
    ]
    assert row.split()[:6] == ["1", "voice-sentences", "tts", "6", "0", "en:6"]
    assert documents[0] == documents[1]


def test_a_spec_error_keeps_its_english_and_is_said_in_russian() -> None:
    from backends.registry import kind_info
    from backends.spec import SpecError, parse_spec
    from lineup.core import error_text

    with pytest.raises(SpecError) as caught:
        kind_info("m")
    assert str(caught.value).startswith("Unknown backend kind 'm'. Known kinds: bark, espeak")
    with using_language("ru"):
        assert error_text(caught.value).startswith(
            "Неизвестный вид бэкенда 'm'. Известные виды: bark, espeak"
        )
    with pytest.raises(SpecError) as caught:
        parse_spec("llava")
    with using_language("ru"):
        assert error_text(caught.value) == (
            "В спецификации модели 'llava' нет вида бэкенда. Пишите KIND:MODEL, например "
            "`ollama:llava:7b` или `ocr:eng+rus`."
        )


def test_a_backend_timeout_keeps_its_english_and_is_said_in_russian() -> None:
    import httpx

    from backends.base import BackendUnavailable
    from backends.http_stream import transport_error
    from lineup.core import error_text

    error = transport_error(
        httpx.ConnectTimeout("timed out"),
        where="ollama at http://127.0.0.1:9",
        base_url="http://127.0.0.1:9",
        connect_timeout_s=2.5,
        timeout_s=60,
        headers_received=False,
        chunks_received=0,
        unavailable=lambda: BackendUnavailable("down"),
    )
    assert str(error) == (
        "Could not connect to ollama at http://127.0.0.1:9 within 2.5 s (connect_timeout_s). "
        "Check that the server is up and reachable, or raise connect_timeout_s."
    )
    with using_language("ru"):
        assert error_text(error) == (
            "Не удалось подключиться к ollama at http://127.0.0.1:9 за 2.5 с "
            "(connect_timeout_s). Проверьте, что сервер запущен и доступен, или увеличьте "
            "connect_timeout_s."
        )


def test_an_empty_leaderboard_is_said_in_russian(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert run(capsys, "leaderboard", "--kind", "vlm")[1].strip() == "Генераций vlm пока нет."
    monkeypatch.setenv("LINEUP_LANG", "en")
    assert (
        run(capsys, "leaderboard", "--kind", "vlm")[1].strip() == "No vlm generations stored yet."
    )


def test_the_live_line_the_contention_words_and_the_differences_in_russian() -> None:
    def live(count: int, rate: float | None, ttft_s: float | None) -> LiveFigures:
        return LiveFigures(
            elapsed_s=3.25,
            ttft_s=ttft_s,
            count=count,
            unit="chunks",
            rate_per_s=rate,
            window_s=3.0,
            stalled=True,
            quiet_s=6.14,
        )

    one, many = live(1, None, 0.45), live(22, 12.5, 1.5)
    columns = [
        ColumnConditions("a", {"host": "gpu1:11434"}, cold=True, concurrent_max=0),
        ColumnConditions("b", {"host": "localhost:8080"}, cold=False, concurrent_max=2),
    ]
    with using_language("en"):
        assert live_line(one) == "3.2 s · TTFT 450 ms · 1 chunk · now – chunks/s"
        assert live_line(many) == "3.2 s · TTFT 1.5 s · 22 chunks · now 12.5 chunks/s"
        assert stall_line(one) == "stalled: nothing for 6.1 s"
        assert differences(columns) == [
            "These columns ran on different hosts (a on gpu1; b on this machine): their speeds "
            "compare machines as much as models.",
            "a was cold (the answer included loading the model) and b warm: compare their "
            "speeds with care.",
            "Measured under different contention: b with up to 2 other requests in flight on "
            "its host, a alone.",
        ]
    with using_language("ru"):
        # Written by hand: a decimal comma, and the noun agreed with 1, 22 and 5.
        assert live_line(one) == "3,2 с · TTFT 450 мс · 1 фрагмент · сейчас – фрагм./с"
        assert live_line(many) == "3,2 с · TTFT 1,5 с · 22 фрагмента · сейчас 12,5 фрагм./с"
        assert stall_line(one) == "завис: ничего нет уже 6,1 с"
        assert in_flight_words(1, 1) == "одновременно с 1 другим запросом"
        assert in_flight_words(5, 5) == "одновременно с 5 другими запросами"
        assert in_flight_words(0, 21) == "от 0 до 21 другого запроса одновременно"
        note = contention_note([("a", 0, 0), ("b", 2, 2)])
        assert note is not None and note.startswith("⚠ неравная нагрузка: ")
        assert "a — в одиночку; b — одновременно с 2 другими запросами." in note
        assert differences(columns) == [
            "Эти столбцы работали на разных хостах (a — gpu1; b — эта машина): их скорости "
            "сравнивают машины не меньше, чем модели.",
            "У a ответ был холодным (в него вошла загрузка модели), а у b — тёплым: "
            "сравнивайте их скорость осторожно.",
            "Измерено при разной нагрузке: b — вместе с не более чем 2 другими запросами на "
            "том же хосте, a — в одиночку.",
        ]


def test_an_in_process_engine_s_host_is_said_and_a_server_s_host_kept() -> None:
    in_process = {"engine": "ocr", "host": "in process", "engine_version": "5.3.0"}
    server = {"engine": "ollama", "host": "gpu1:11434"}
    with using_language("en"):
        assert ("Host", "in process") in card_facts(in_process)
        assert host_words("in process") == "in process"
    with using_language("ru"):
        assert ("Хост", "в процессе Lineup") in card_facts(in_process)
        assert ("Хост", "gpu1:11434") in card_facts(server)  # a server's host as it is
        assert host_words("gpu1:11434") == "gpu1:11434"
