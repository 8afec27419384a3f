"""An answer's or clip's stored error is said in the page's language (its template and values,
generations.error_said); the stored text stays English, and an old row shows its English."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lineup.core import Message
from lineup.core.settings import load_settings
from lineup.run.outcome import timeout_message
from lineup.store.database import Store
from tests.pages.helpers import unescaped

ROOT = Path(__file__).resolve().parents[2]
WHERE = "Ollama at http://127.0.0.1:11434"
NO_MODEL = Message.of(
    "{where} has no model {quoted}. Pull it with `ollama pull {model}`.",
    where=WHERE,
    quoted="'llava:7b'",
    model="llava:7b",
)


def page(name: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / name), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def failed_answer(store: Store, message: Message | str) -> int:
    run_id = store.create_run("vlm", "Which error code?")
    generation = store.add_generation(run_id, "ollama:llava:7b")
    said = message.stored() if isinstance(message, Message) else None
    store.finish_generation(generation, "error", error=str(message), error_said=said)
    return run_id


def test_a_stored_error_is_said_in_russian_and_stays_english_in_the_store(
    lineup_home: Path,
) -> None:
    store = Store(load_settings().database_url)
    run_id = failed_answer(store, NO_MODEL)
    russian = page("compare_vlms.py", annotator="ana", run=str(run_id), lang="ru")
    assert not russian.exception
    assert [unescaped(e.value) for e in russian.error] == [
        f"У {WHERE} нет модели 'llava:7b'. Скачайте её: `ollama pull llava:7b`."
    ]
    english = page("compare_vlms.py", annotator="ana", run=str(run_id))
    assert [unescaped(e.value) for e in english.error] == [
        f"{WHERE} has no model 'llava:7b'. Pull it with `ollama pull llava:7b`."
    ]
    [row] = store.get_run(run_id).generations
    assert row.error == NO_MODEL.english  # the stored text (and every export of it)


def test_an_old_rows_error_is_shown_as_stored(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id = failed_answer(store, "HTTP 500 from an old Lineup.")
    at = page("compare_vlms.py", annotator="ana", run=str(run_id), lang="ru")
    assert not at.exception
    assert [unescaped(e.value) for e in at.error] == ["HTTP 500 from an old Lineup."]


def test_a_clips_timeout_is_said_in_russian_on_compare_voices(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("tts", "Привет! Сегодня десять градусов тепла.")
    clip = store.add_generation(run_id, "espeak:ru")
    timed_out = timeout_message(20.0, "voice")
    store.finish_generation(clip, "timeout", error=timed_out.english, error_said=timed_out.stored())
    at = page("compare_voices.py", annotator="ana", runs=str(run_id), lang="ru")
    assert not at.exception
    assert [unescaped(w.value) for w in at.warning if "20" in w.value] == [
        "Время вышло через 20 с (тайм-аут модели). Увеличьте его, если этому голосу нужно "
        "больше; текст, полученный до этого момента, сохранён."
    ]
