"""A backend's error and the runner's own messages keep their English template and values
(backends.base.BackendError.of, lineup.core.Message), stored beside the English text in
generations.error_said (migration 0016) and said in the interface's language where shown;
the English text, --json and exports stay English."""

from __future__ import annotations

import ast
import json
import string
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from backends import reader
from backends.base import BackendError, BackendUnavailable, Chunk, VLMBackend, VLMRequest
from backends.whisper_stt import resolve_model
from lineup.cli.main import main
from lineup.core import Message, error_text, said_stored, set_language, using_language
from lineup.run.outcome import write_final
from lineup.run.shutdown import EXIT_INTERRUPTED, run_stoppable
from lineup.run.stt_choice import refusal
from lineup.run.vlm import start_vlm_comparison
from lineup.score.judge_jobs import JudgeJob
from lineup.score.judge_prompt import JudgeReplyError, parse_reply
from lineup.store import Store
from lineup.store.engine import alembic_config
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import by_name, resolved, resolved_all

BACKENDS = Path(__file__).resolve().parents[2] / "backends"
ERRORS = {"BackendError", "BackendUnavailable", "BackendTimeout", "BackendIncomplete"}
# The one error made without a template: the reader process's failure of a class it does not
# know (an exception that is no BackendError), rebuilt as "{its class}: {its message}".
UNMARKED = {("reader.py", "BackendError(f'{name}: {text}')")}  # as ast.unparse writes it
# A phrase made from a parameter (hub.resolve's folder_hint): every caller must pass N_("...").
PHRASE_PARAMETERS = {("hub.py", "folder_hint")}


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    set_language("en")  # main() sets this thread's language


def _marked_templates(function: ast.AST) -> dict[str, set[str]]:
    """Each name assigned in `function` only from N_("...") calls, with those templates."""
    found: dict[str, set[str]] = {}
    refused: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                template = _n_template(node.value)
                if template is None:
                    refused.add(target.id)
                else:
                    found.setdefault(target.id, set()).add(template)
    return {name: templates for name, templates in found.items() if name not in refused}


def _n_template(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_backend_error_is_a_marked_whole_sentence_with_its_values() -> None:
    """Every BackendError a backend makes is `X.of(N_("..."), name=value, ...)` (or a name
    assigned only from N_ calls): its template is in the catalog, it has no format specs (a
    stored value fills it as the original did), and the values fill its placeholders. So is
    every Phrase (a message that is a value of another), or its template is a parameter each
    caller gives as N_("...")."""
    problems: list[str] = []
    phrase_keywords = {name for _, name in PHRASE_PARAMETERS}
    for path in sorted(BACKENDS.glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.name}:{node.lineno}"
            func = node.func
            if isinstance(func, ast.Name) and func.id in ERRORS:
                if (path.name, ast.unparse(node)) not in UNMARKED:
                    problems.append(f"{where}: {func.id}(...) without .of(N_(...))")
                continue
            for keyword in node.keywords:
                if keyword.arg in phrase_keywords and _n_template(keyword.value) is None:
                    problems.append(f'{where}: {keyword.arg} is not N_("...")')
            if not (
                isinstance(func, ast.Attribute)
                and func.attr == "of"
                and isinstance(func.value, ast.Name)
                and func.value.id in ERRORS | {"Phrase"}
            ):
                continue
            first = node.args[0] if node.args else None
            if (
                func.value.id == "Phrase"
                and isinstance(first, ast.Name)
                and (path.name, first.id) in PHRASE_PARAMETERS
            ):
                continue
            if not node.args:
                problems.append(f"{where}: .of() without a template")
                continue
            templates: set[str] = set()
            first = node.args[0]
            if _n_template(first) is not None:
                templates = {_n_template(first) or ""}
            elif isinstance(first, ast.Name):
                owner = next(
                    f
                    for f in functions
                    if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)
                    and any(n is node for n in ast.walk(f))
                )
                templates = _marked_templates(owner).get(first.id, set())
            if not templates:
                problems.append(f'{where}: the template is not N_("...")')
                continue
            names = {k.arg for k in node.keywords if k.arg is not None}
            spread = any(k.arg is None for k in node.keywords)  # **values: checked by use
            for template in templates:
                if any(spec for _, _, spec, _ in string.Formatter().parse(template) if spec):
                    problems.append(f"{where}: a format spec in {template!r}")
                if not spread and not _placeholders(template) <= names:
                    problems.append(f"{where}: values {sorted(names)} for {template!r}")
    assert problems == []


class Refusing(VLMBackend):
    """A backend that fails as openai_compat does when a server refuses the key, the server's
    own words echoing the key."""

    def __init__(self, echoed: str) -> None:
        self.echoed = echoed

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk()
        raise BackendError.of(
            "{where} refused the API key (HTTP {status}: {message}). Set {variable} (or "
            "`api_key_env` in backends.toml) to a valid key.",
            where="http://gpu:8000/v1",
            status=401,
            message=f"Incorrect API key provided: {self.echoed}",
            variable="OPENAI_API_KEY",
        )


def test_a_failed_answer_stores_its_template_and_values_with_keys_redacted(
    store: Store,
) -> None:
    secret = "sk-live-0123456789abcdef"
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:refusing"]),
        VLMRequest("What is it?"),
        by_name(lambda name: Refusing(secret)),
        timeout_s=10,
        secrets=[secret],
    )
    [result] = comparison.wait()
    [row] = store.get_run(comparison.run_id).generations
    english = (
        "http://gpu:8000/v1 refused the API key (HTTP 401: Incorrect API key provided: "
        "[redacted]). Set OPENAI_API_KEY (or `api_key_env` in backends.toml) to a valid key."
    )
    assert row.status == "error" and row.error == english == result.error
    assert row.error_said == result.error_said
    assert row.error_said is not None
    assert secret not in json.dumps(row.error_said)
    assert row.error_said["values"] == {
        "where": "http://gpu:8000/v1",
        "status": 401,
        "message": "Incorrect API key provided: [redacted]",
        "variable": "OPENAI_API_KEY",
    }
    with using_language("ru"):
        russian = said_stored(row.error, row.error_said)
    assert russian == (
        "http://gpu:8000/v1 отверг ключ API (HTTP 401: Incorrect API key provided: "
        "[redacted]). Задайте в OPENAI_API_KEY (или в `api_key_env` в backends.toml) "
        "действующий ключ."
    )
    assert said_stored(row.error, row.error_said) == english  # English is the stored text


def test_the_runners_own_messages_and_an_error_inside_one_are_said_in_russian() -> None:
    """A clip's 'transcription failed' holds the STT's own error: both are said."""
    inner = Message.of_error(
        BackendError.of(
            "Whisper failed to transcribe the clip: {reason}", reason="CUDA out of memory"
        )
    )
    outer = Message.of(
        "Transcription with {stt} failed: {error}", stt="faster-whisper:base", error=inner
    )
    assert outer.english == (
        "Transcription with faster-whisper:base failed: Whisper failed to transcribe the "
        "clip: CUDA out of memory"
    )
    stored = json.loads(json.dumps(outer.stored()))  # as the JSON column gives it back
    with using_language("ru"):
        assert said_stored(outer.english, stored) == (
            "Распознавание с faster-whisper:base не удалось: Whisper не смог распознать "
            "клип: CUDA out of memory"
        )
        # An old row (no template) and a row whose values do not fill its template: English.
        assert said_stored("Old English text.", None) == "Old English text."
        broken = {"template": "Tesseract failed: {reason}", "values": {}}
        assert said_stored("Tesseract failed: x", broken) == "Tesseract failed: x"


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaFixture]:
    with OllamaFixture([FakeModel("llava:7b", ["Two", "cats."])]) as fixture:
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


def test_an_http_models_error_keeps_its_template_through_the_reader_process(
    ollama: OllamaFixture, store: Store
) -> None:
    """Ollama's 404 for a model it does not have, read in the reader process: the template
    and values cross the process boundary and are stored."""
    comparison = start_vlm_comparison(
        store, [resolved("ollama:missing:latest")], VLMRequest("What is it?"), timeout_s=20
    )
    comparison.wait()
    [row] = store.get_run(comparison.run_id).generations
    url = ollama.base_url
    where = f"Ollama at {url}"
    assert row.error == (
        f"{where} has no model 'missing:latest'. Pull it with `ollama pull missing:latest`."
    )
    assert row.error_said == {
        "template": "{where} has no model {quoted}. Pull it with `ollama pull {model}`.",
        "values": {
            # "Ollama at {url}" is a phrase of its own, said with the sentence around it.
            "where": {"english": where, "template": "Ollama at {url}", "values": {"url": url}},
            "quoted": "'missing:latest'",
            "model": "missing:latest",
        },
    }
    with using_language("ru"):
        assert said_stored(row.error, row.error_said) == (
            f"У Ollama по адресу {url} нет модели 'missing:latest'. Скачайте её: "
            "`ollama pull missing:latest`."
        )


def test_json_output_keeps_the_english_error_in_russian(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "ru")
    args = ["vlm", "--question", "What is it?", "--model", "ollama:missing:latest", "--json"]
    main(args)
    document = json.loads(capsys.readouterr().out)
    [answer] = document["results"] if "results" in document else document
    assert answer["error"].endswith("Pull it with `ollama pull missing:latest`.")
    assert "error_said" not in answer


def test_the_clis_human_lines_say_a_stored_error_in_russian(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The progress line (stderr) and the answer's own line (stdout) of `vlm` without --json,
    in Russian: the error said from its template, the same model name and command kept."""
    monkeypatch.setenv("LINEUP_LANG", "ru")
    main(["vlm", "--question", "What is it?", "--model", "ollama:missing:latest"])
    out, err = capsys.readouterr()
    said = "нет модели 'missing:latest'. Скачайте её: `ollama pull missing:latest`."
    assert said in err
    assert f"ошибка: У Ollama по адресу {ollama.base_url} {said}" in out
    assert "Pull it with" not in out + err and "Ollama at" not in out + err


def test_migration_0016_adds_error_said_and_old_rows_keep_their_english(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0015")
        connection.execute(
            text(
                "INSERT INTO runs (id, kind, input_text, params, blind, created_at) VALUES "
                "(1, 'vlm', 'q', '{}', 0, '2026-12-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO generations (id, run_id, kind, position, model_spec, resolved_spec, "
                "sample_index, status, error, started_at, backend_metadata) VALUES (1, 1, "
                "'vlm', 0, 'm:a', 'm:a', 0, 'error', 'The model returned an empty answer.', "
                "'2026-12-01', '{}')"
            )
        )
    store = Store(url)  # migrates to head
    [row] = store.get_run(1).generations
    assert row.error_said is None
    with using_language("ru"):
        assert said_stored(row.error, row.error_said) == "The model returned an empty answer."
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0015")
        assert "error_said" not in {
            c["name"] for c in inspect(connection).get_columns("generations")
        }


def test_a_judges_unreadable_score_is_said_in_russian_with_the_expected_form() -> None:
    """The verdict's error (judge_scores.error_said) holds the 'no score' sentence as a nested
    message whose braces are its own text (a JSON example), said whole in Russian."""
    with pytest.raises(JudgeReplyError) as raised:
        parse_reply('{"score": true, "reasons": "fine"}')
    message = raised.value.message
    assert str(raised.value) == message.english
    assert message.english.startswith("The judge's score True is not a number. The judge's")
    stored = json.loads(json.dumps(message.stored()))
    with using_language("ru"):
        assert said_stored(message.english, stored) == (
            "Оценка судьи True — не число. В ответе судьи нет оценки: ожидался объект JSON "
            '{"score": 1-10, "reasons": "..."} или строка "Score: N". Измените шаблон, чтобы '
            "просить оценку яснее, или выберите другого судью."
        )


def test_a_lost_reader_process_is_said_wholly_in_russian(
    ollama: OllamaFixture, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader process's "why" (its pid and how it ended) is a sentence of its own inside
    the answer's error: both are said in Russian."""
    broken = reader.Reader([sys.executable, "-c", "import sys; sys.exit(3)"])
    monkeypatch.setattr(reader, "_shared", broken)
    comparison = start_vlm_comparison(
        store, [resolved("ollama:llava:7b")], VLMRequest("What is it?"), timeout_s=20
    )
    comparison.wait()
    [row] = store.get_run(comparison.run_id).generations
    assert row.error_said is not None
    why = row.error_said["values"]["why"]
    pid = why["values"]["pid"]
    assert why["template"].endswith("ended with exit status {code}")
    assert row.error == (
        f"Lineup's reader process (pid {pid}), which reads the answers of HTTP models, ended "
        "with exit status 3: no answer came. Run it again: a new reader process starts."
    )
    with using_language("ru"):
        assert said_stored(row.error, row.error_said) == (
            f"Процесс чтения Lineup (pid {pid}), который читает ответы HTTP-моделей, "
            "завершился с кодом выхода 3: ответ не пришёл. Запустите ещё раз: запустится "
            "новый процесс чтения."
        )


class Streaming(VLMBackend):
    """Sends one piece, then nothing until it is stopped (a model still answering)."""

    def __init__(self) -> None:
        self.sent = threading.Event()

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk(text="Two ")
        self.sent.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (request.cancel and request.cancel.cancelled):
            time.sleep(0.01)


def test_an_answer_interrupted_by_a_stopped_command_says_why_in_russian(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGTERM while an answer streams in a command run in Russian: the row is `interrupted`,
    stored in English, and its reason ("the command was stopped (SIGTERM)") is said in Russian
    with the sentence around it; the command's own line on stderr is Russian."""
    backend = Streaming()
    started: list[int] = []

    def command() -> int:
        comparison = start_vlm_comparison(
            store,
            resolved_all(["fake:streaming"]),
            VLMRequest("What is it?"),
            by_name(lambda name: backend),
            timeout_s=30,
        )
        started.append(comparison.run_id)
        assert backend.sent.wait(20)
        set_language("ru")  # as main() sets it from LINEUP_LANG
        raise KeyboardInterrupt("SIGTERM")  # as run_stoppable's SIGTERM handler raises it

    assert run_stoppable(command) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == (
        "Остановлено: 1 незавершённый запуск помечен как прерванный; текст, полученный до "
        "этого момента, сохранён.\n"
    )
    [row] = store.get_run(started[0]).generations
    assert row.status == "interrupted"
    assert row.error == (
        "Interrupted: the command was stopped (SIGTERM). The text streamed until then is kept."
    )
    stored = json.loads(json.dumps(row.error_said))
    with using_language("ru"):
        assert said_stored(row.error, stored) == (
            "Прервано: команда остановлена (SIGTERM). Текст, полученный до этого момента, сохранён."
        )


def test_an_answer_whose_process_is_gone_is_reaped_with_its_reason_in_russian(
    store: Store,
) -> None:
    """A `running` row whose owner process no longer exists is reaped as interrupted; the
    reason (the pid that ran it) is a phrase said with its sentence."""
    _, [generation_id] = store.create_run_with_generations("vlm", "q", ["fake:x"])
    with store.session() as session:  # as if a process that is gone had taken it
        session.execute(text("UPDATE generations SET owner_pid = 999999999"))
    assert store.reap_orphans() == [generation_id]
    row = store.get_generation(generation_id)
    assert row is not None and row.error == (
        "Interrupted: the Lineup process that ran it (pid 999999999) is gone before it "
        "finished. The text streamed until then is kept. Run it again to get a complete answer."
    )
    with using_language("ru"):
        assert said_stored(row.error, row.error_said) == (
            "Прервано: процесс Lineup, который его выполнял (pid 999999999), завершился, "
            "прежде чем ответ был готов. Текст, полученный до этого момента, сохранён. "
            "Запустите ещё раз, чтобы получить полный ответ."
        )


def test_the_hubs_folder_hint_is_said_in_russian(tmp_path: Path) -> None:
    """A folder without Whisper's model.bin: the hint how to make one is said with the rest."""
    with pytest.raises(BackendUnavailable) as raised:
        resolve_model(str(tmp_path))
    english = (
        f"{tmp_path} has no model.bin, so it is not a Whisper (CTranslate2) model folder. "
        "Convert one with `ct2-transformers-converter` or use a size name such as `small`."
    )
    assert str(raised.value) == english
    stored = json.loads(json.dumps(Message.of_error(raised.value).stored()))
    with using_language("ru"):
        assert (
            error_text(raised.value)
            == said_stored(english, stored)
            == (
                f"В {tmp_path} нет model.bin, значит, это не папка модели Whisper (CTranslate2). "
                "Сделайте такую папку с помощью `ct2-transformers-converter` или укажите "
                "название размера, например `small`."
            )
        )


class Hearing:
    """An STT backend that hears the given number of languages (none of them Basque)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def languages(self) -> set[str]:
        return {f"l{n}" for n in range(self.count)}


@pytest.mark.parametrize(
    ("count", "russian"), [(21, "21 язык"), (22, "22 языка"), (99, "99 языков")]
)
def test_the_stt_refusal_counts_its_languages_in_russian(count: int, russian: str) -> None:
    """Stored in English from a runner's thread, said in Russian with the noun agreeing."""
    refused = refusal("whisper:small", Hearing(count), "eu", auto=False)
    assert refused is not None
    assert refused.english.startswith(
        f"whisper:small cannot hear 'eu' (it hears {count} languages), so its transcript"
    )
    stored = json.loads(json.dumps(refused.stored()))
    with using_language("ru"):
        assert said_stored(refused.english, stored) == (
            f"whisper:small не понимает язык 'eu' (понимает: {russian}), поэтому его "
            "расшифровка этого предложения ничего не скажет о голосе: WER не сохраняется. "
            "Выберите `auto` (по умолчанию: faster-whisper:base для всех языков, кроме "
            "английского) или модель, которая понимает eu."
        )


def test_a_result_that_could_not_be_stored_says_so_in_russian(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write of the final row fails: the failure is the row's error, with the state
    that could not be stored said as a state word."""
    run_id, [generation_id] = store.create_run_with_generations("vlm", "q", ["fake:x"])
    real = Store.finish_generation
    tries: list[str] = []

    def locked(self: Store, generation_id: int, status: str, **fields: object) -> bool:
        tries.append(status)
        if status == "ok":
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real(self, generation_id, status, **fields)

    monkeypatch.setattr(Store, "finish_generation", locked)
    monkeypatch.setattr("lineup.run.outcome.FINAL_WRITE_PAUSES_S", (0.0,))
    failure = write_final(store, generation_id, "ok", {"output_text": "Two cats."})
    assert failure is not None and tries == ["ok", "error"]
    stored = store.get_generation(generation_id)
    assert stored is not None and stored.status == "error" and stored.error == failure.english
    assert stored.error.startswith("Lineup could not store this ok result: OperationalError: ")
    with using_language("ru"):
        said = said_stored(stored.error, stored.error_said) or ""
    assert said.startswith("Lineup не смог сохранить этот результат (готово): OperationalError: ")
    assert said.endswith(
        "Проверьте, что база данных доступна для записи и не заблокирована другой программой."
    )


def test_a_judge_job_that_fails_says_so_in_russian() -> None:
    """The scoring panel's judge job ended on an unexpected error: its sentence is said."""

    def broken(advance: object, stop: object) -> Any:
        raise RuntimeError("the judge's client broke")

    job = JudgeJob("memory", 1, "fake:judge", "pointwise", broken).start()
    state = job.wait(20)
    assert state.error == "The judge stopped on an error: RuntimeError: the judge's client broke"
    with using_language("ru"):
        assert said_stored(state.error, state.error_said) == (
            "Судья остановился из-за ошибки: RuntimeError: the judge's client broke"
        )


def test_an_answer_lineup_failed_to_record_says_so_in_russian(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while recording an answer ends it as an error the page says in its language."""

    def broken(self: object, *args: object) -> object:
        raise KeyError("usage")

    monkeypatch.setattr("lineup.run.vlm._Job._record", broken)
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:refusing"]),
        VLMRequest("What is it?"),
        by_name(lambda name: Refusing("sk-0")),
        timeout_s=10,
    )
    [result] = comparison.wait()
    assert result.error == "Lineup failed to record this answer: KeyError: 'usage'"
    with using_language("ru"):
        assert said_stored(result.error, result.error_said) == (
            "Lineup не смог записать этот ответ: KeyError: 'usage'"
        )
