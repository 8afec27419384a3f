"""A configured API key that a server echoes back never reaches the store, the exports or the
reports: it is [redacted] in the answer, its reasoning, the server's metadata, the judge's
request and reply, and the row records how many times (lineup.redact).

The server is a loopback stand-in that speaks OpenAI's streaming chat protocol and echoes the
bearer key it was sent, split between two chunks, in its answer and its reasoning; as the
judge it quotes the key in its reasons."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, inspect, select

from backends.base import Chunk, Usage, VLMBackend, VLMRequest
from lineup.cli.main import main
from lineup.core.redaction import REDACTED, REDACTED_COUNT, redact_stream, redacted
from lineup.core.settings import load_settings
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from lineup.store.tables import Base, Generation, JudgeScore
from testbed.net import free_port
from tests.builders import by_name, png_bytes, resolved_all

KEY = "sk-lineup-test-0123456789abcdef"
KEY_ENV = "LINEUP_ECHO_KEY"


class EchoServer:
    """OpenAI-compatible chat on 127.0.0.1 that says back the key it was sent."""

    def __init__(self) -> None:
        self.keys_seen: list[str] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = {"object": "list", "data": [{"id": "echo", "object": "model"}]}
                self._send(json.dumps(body).encode(), "application/json")

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                echo.keys_seen.append(key)
                if request["model"] == "judge":
                    deltas = [{"content": f"Score: 7\nReasons: it printed {key} twice."}]
                else:
                    half = len(key) // 2
                    deltas = [
                        {"reasoning_content": f"The key I hold is {key}."},
                        {"content": f"Your key is {key[:half]}"},
                        {"content": f"{key[half:]}. Again: {key}"},
                    ]
                events = [
                    {"model": f"echo-{key}", "choices": [{"index": 0, "delta": d}]} for d in deltas
                ]
                events.append({"choices": [], "usage": {"completion_tokens": 9}})
                self._send(
                    b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                    + b"data: [DONE]\n\n",
                    "text/event-stream",
                )

            def _send(self, data: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def echo(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EchoServer]:
    """The echo server, declared in backends.toml with its key in the environment."""
    with EchoServer() as server:
        lineup_home.mkdir(parents=True, exist_ok=True)
        (lineup_home / "backends.toml").write_text(
            f'[endpoints.echo]\nkind = "openai"\nbase_url = "{server.base_url}"\n'
            f'api_key_env = "{KEY_ENV}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv(KEY_ENV, KEY)
        yield server


def write_set(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "shot.png").write_bytes(png_bytes())
    (folder / "questions.csv").write_text(
        "image,question,reference\nshot.png,What does it say?,An error.\n", encoding="utf-8"
    )
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert KEY not in out and KEY not in err
    return out


def stored_texts(store: Store) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) for every text and JSON value in the store."""
    with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns or not inspect(connection).has_table(table.name):
                continue
            for row in connection.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        yield table.name, column.name, json.dumps(value, ensure_ascii=False)


def test_an_echoed_key_is_stored_exported_and_reported_nowhere(
    echo: EchoServer, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, judge = f"openai:echo@{echo.base_url}", f"openai:judge@{echo.base_url}"
    answered = json.loads(run(capsys, "vlm", "--question", "Key?", "--model", spec, "--json"))
    assert answered["results"][0]["status"] == "ok"
    assert answered["results"][0]["text"].count(REDACTED) == 2

    run(capsys, "sets", "import", str(write_set(tmp_path / "shots")), "--name", "shots")
    study = json.loads(run(capsys, "study", "run", "--set", "shots", "--model", spec, "--json"))
    run(capsys, "study", "score", str(study["study_id"]), "--reference-model", spec, "--json")
    run(capsys, "study", "score", str(study["study_id"]), "--judge", judge, "--json")
    assert set(echo.keys_seen) == {KEY}  # the key was sent each time, and echoed

    out = tmp_path / "out"
    study_id = str(study["study_id"])
    run(capsys, "study", "export", study_id, "--format", "csv", "--out", str(out / "csv"))
    run(capsys, "study", "export", study_id, "--format", "xlsx", "--out", str(out / "e.xlsx"))
    for fmt in ("html", "md", "xlsx"):
        run(capsys, "study", "report", study_id, "--format", fmt, "--out", str(out / f"r.{fmt}"))

    leaks = [(t, c) for t, c, value in stored_texts(store) if KEY in value]
    assert leaks == []
    store.engine.dispose()
    for path in load_settings().home.glob("lineup.db*"):  # the database, its WAL, freed pages
        assert KEY.encode() not in path.read_bytes(), path.name
    for path in out.rglob("*.*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as workbook:
                data = b"".join(workbook.read(name) for name in workbook.namelist())
        else:
            data = path.read_bytes()
        assert KEY.encode() not in data, path.name
    assert REDACTED in (out / "r.html").read_text(encoding="utf-8")

    with store.session() as session:
        answers = session.scalars(select(Generation)).all()
        verdicts = session.scalars(select(JudgeScore)).all()
    # The comparison's, the study's and the reference model's answer: two in the answer, one
    # in the reasoning, one in the model name the server reported.
    assert [g.backend_metadata.get(REDACTED_COUNT) for g in answers] == [4, 4, 4]
    assert all(REDACTED in (g.output_text or "") for g in answers)
    [verdict] = verdicts
    assert verdict.status == "scored" and verdict.score == 7
    # The prompt quoted the (already redacted) answer; the reply quoted the key once.
    assert verdict.request[REDACTED_COUNT] == 1
    assert REDACTED in (verdict.reply or "") and REDACTED in json.dumps(verdict.request)


class Pausing(VLMBackend):
    """Streams a key in two halves with a pause between them, for the live view to be read."""

    def __init__(self) -> None:
        self.between = threading.Event()
        self.go_on = threading.Event()

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk(text=f"key: {KEY[:10]}", reasoning=f"thinking of {KEY[:12]}")
        self.between.set()
        self.go_on.wait(10)
        yield Chunk(text=KEY[10:] + " end", reasoning=KEY[12:])
        yield Chunk(usage=Usage(output_tokens=3))


def test_the_live_text_and_the_saved_partial_never_show_part_of_a_key(store: Store) -> None:
    backend = Pausing()
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:echo"]),
        VLMRequest("Key?"),
        by_name(lambda _: backend),
        timeout_s=20,
        secrets=[KEY],
    )
    assert backend.between.wait(10)
    time.sleep(0.1)
    [view] = comparison.snapshot()
    [job] = comparison.jobs
    assert view.text == "key: " and view.reasoning == "thinking of "
    assert job.progress() == ("key: ", "thinking of ")
    backend.go_on.set()
    [result] = comparison.wait()
    assert result.text == f"key: {REDACTED} end" and result.reasoning == f"thinking of {REDACTED}"
    [view] = comparison.snapshot()
    assert view.text == result.text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"a {KEY} b {KEY}", f"a {REDACTED} b {REDACTED}"),
        (f"a {KEY[:8]}", "a "),  # may be the start of the key: held back
        (f"a {KEY[:8]}x", f"a {KEY[:8]}x"),  # went on past it: not the key
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_a_stream_shows_no_key_nor_its_start(text: str, shown: str) -> None:
    assert redact_stream(text, [KEY, "short"]) == shown


def test_redaction_counts_what_it_replaced() -> None:
    assert redacted(f"{KEY}{KEY} and sk-lineup", [KEY, "", "abc"]) == (
        f"{REDACTED}{REDACTED} and sk-lineup",
        2,
    )
    assert redacted(None, [KEY]) == (None, 0)
