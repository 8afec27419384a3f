"""`python -m lineup` end to end in a subprocess, against the Ollama protocol fixture
(a loopback stand-in for Ollama, which cannot be installed here) and the OCR baseline; and the
command line's `main` in this process. The tests that start a subprocess are marked
integration (`make test-fast` leaves them out)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from lineup.app.catalog import Catalog
from lineup.catalog.resolver import ResolvedModel
from lineup.cli.main import build_parser, main
from lineup.core.settings import load_settings
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import png_bytes

ROOT = Path(__file__).resolve().parents[2]


def lineup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lineup", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def ollama(lineup_home: Path) -> OllamaFixture:
    with OllamaFixture(
        [FakeModel("llava:7b", ["Two", "cats."], eval_duration_ns=100_000_000)]
    ) as f:
        yield f


@pytest.fixture()
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes((120, 80)))
    return path


@pytest.mark.integration  # python -m lineup in a subprocess
def test_vlm_json_reports_every_model_and_failures_do_not_fail_the_command(
    ollama: OllamaFixture, image_file: Path
) -> None:
    done = lineup(
        "vlm",
        "--image",
        str(image_file),
        "--question",
        "How many cats?",
        "--model",
        f"ollama:llava:7b@{ollama.base_url}",
        "--model",
        f"ollama:missing:1b@{ollama.base_url}",
        "--temperature",
        "0",
        "--seed",
        "1",
        "--max-tokens",
        "20",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout is exactly one JSON document
    ok, failed = document["results"]
    assert ok["model"] == f"ollama:llava:7b@{ollama.base_url}"
    assert ok["status"] == "ok" and ok["text"] == "Two cats." and ok["error"] is None
    assert ok["output_tokens"] == 2
    assert ok["tokens_per_s"] == pytest.approx(2 / 0.1)
    assert ok["tokens_source"] == "server"
    assert 0 < ok["ttft_s"] <= ok["total_s"]
    assert set(ok) == {
        "generation_id",
        "model",
        "status",
        "text",
        "error",
        "ttft_s",
        "total_s",
        "output_tokens",
        "tokens_per_s",
        "tokens_source",
        "provenance",
        "concurrent_max",
        "concurrent_endpoint_max",
        "cold",
        "energy_j",
        "energy_source",
        "gpu_mem_mb",
    }
    # One server, both sent together: the refused one may be answered before the other starts.
    assert ok["concurrent_max"] in (0, 1) and failed["concurrent_max"] in (0, 1)
    # The fixture reports a load_duration of 1.25 s: at least COLD_LOAD_S, a cold answer.
    assert ok["cold"] is True and failed["cold"] is None
    # Energy where this machine has a counter (none here: null, n/a), never a made-up figure.
    assert ok["energy_j"] is None or (ok["energy_j"] >= 0 and ok["energy_source"])
    assert failed["status"] == "error" and "ollama pull missing:1b" in failed["error"]
    # What ran where: this machine, and what the server said of each model.
    machine = document["machine"]
    assert {"cpu", "cores", "memory_gb", "os", "gpus"} <= set(machine)
    assert isinstance(machine["cpu"], str) and isinstance(machine["cores"], int)
    assert isinstance(machine["memory_gb"], float) and machine["gpus"] == []
    assert ok["provenance"]["quantization"] == "Q4_K_M"
    assert ok["provenance"]["digest"] == "sha256:" + "ab" * 32
    assert failed["provenance"]["quantization"] is None  # not pulled: empty, with its reason
    assert "/api/show: HTTP 404" in failed["provenance"]["reasons"]["quantization"]

    store = Store(load_settings().database_url)
    run = store.get_run(document["run_id"])
    assert run.params["temperature"] == 0 and run.seed == 1 and run.params["max_tokens"] == 20
    assert [g.id for g in run.generations] == [ok["generation_id"], failed["generation_id"]]
    assert run.image_hash and (load_settings().media_dir / run.image_hash[:2]).is_dir()


@pytest.mark.integration  # python -m lineup in a subprocess
def test_a_text_file_as_image_exits_2_and_stores_nothing(lineup_home: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    done = lineup("vlm", "--image", str(text), "--question", "q", "--model", "ocr:eng", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "notes.png" in done.stderr
    assert Store(load_settings().database_url).latest_runs("vlm") == []
    assert not (lineup_home / "media").exists() or not any((lineup_home / "media").iterdir())


@pytest.mark.integration  # python -m lineup in a subprocess
def test_bad_specs_exit_2(lineup_home: Path, image_file: Path) -> None:
    for spec, hint in [
        ("llava", "neither a spec"),
        ("nope:x", "Unknown backend kind"),
        ("espeak:en-us", "not a VLM"),
    ]:
        done = lineup("vlm", "--image", str(image_file), "--question", "q", "--model", spec)
        assert done.returncode == 2, spec
        assert hint in done.stderr


@pytest.mark.integration  # python -m lineup in a subprocess
# Ten commands of 2.6 s of imports each: 33 s on CI, past 120 s at a load of 15.
@pytest.mark.timeout(300)
def test_label_and_leaderboard_json(ollama: OllamaFixture, image_file: Path) -> None:
    spec = f"ollama:llava:7b@{ollama.base_url}"
    ids = []
    for _ in range(3):
        done = lineup(
            "vlm", "--image", str(image_file), "--question", "q", "--model", spec, "--json"
        )
        ids.append(json.loads(done.stdout)["results"][0]["generation_id"])
    assert (
        lineup("label", str(ids[0]), "--relevance", "relevant", "--annotator", "ana").returncode
        == 0
    )
    assert (
        lineup("label", str(ids[1]), "--relevance", "partial", "--annotator", "ana").returncode == 0
    )
    # A later label by the same annotator replaces the earlier one.
    assert (
        lineup("label", str(ids[1]), "--relevance", "relevant", "--annotator", "ana").returncode
        == 0
    )
    assert (
        lineup("label", str(ids[2]), "--relevance", "irrelevant", "--annotator", "bob").returncode
        == 0
    )
    bad = lineup("label", "999999", "--relevance", "relevant")
    assert bad.returncode == 2 and "no generation 999999" in bad.stderr
    assert lineup("label", str(ids[0]), "--relevance", "great").returncode == 2

    board = json.loads(lineup("leaderboard", "--kind", "vlm", "--json").stdout)
    assert board["kind"] == "vlm"
    [row] = board["rows"]
    assert row["model"] == spec
    assert (row["n"], row["relevant"], row["partial"], row["irrelevant"]) == (3, 2, 0, 1)
    assert row["pct_relevant"] == pytest.approx(100 * 2 / 3)
    # The first answer loaded the model (cold): the medians are over the two warm ones, and
    # the cold one is shown apart.
    assert row["median_tokens_per_s"] == pytest.approx(2 / 0.1)
    assert row["cold_answers"] == 1
    assert row["cold_median_tokens_per_s"] == pytest.approx(2 / 0.1)
    assert set(row) == {
        "model",
        "n",
        "labels",
        "answers",
        "relevant",
        "partial",
        "irrelevant",
        "pct_relevant",
        "pct_relevant_ci_low",
        "pct_relevant_ci_high",
        "pct_relevant_ci_method",
        "median_ttft_s",
        "median_total_s",
        "median_tokens_per_s",
        "generations",
        "failed",
        "concurrent_min",
        "concurrent_max",
        "cold_answers",
        "cold_median_ttft_s",
        "cold_median_total_s",
        "cold_median_tokens_per_s",
    }
    assert (row["generations"], row["failed"]) == (3, 0)
    # Three runs one after another, one model each: every answer ran alone.
    assert (row["concurrent_min"], row["concurrent_max"]) == (0, 0)
    assert row["pct_relevant_ci_method"] == "wilson"  # labels of single comparisons
    # `n` (issue 2's key) is the labels; `labels` and `answers` say what each count is.
    assert (row["labels"], row["answers"]) == (3, 3)


@pytest.mark.integration  # python -m lineup in a subprocess
def test_backends_json_lists_the_ollama_models_and_the_offline_baseline(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama.base_url)
    done = lineup("backends", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    [endpoint] = document["endpoints"]
    assert endpoint["ok"] and endpoint["version"] == "0.12.3"
    assert endpoint["models"][0]["spec"] == "ollama:llava:7b" and endpoint["models"][0]["vision"]
    assert "ocr:eng+rus" in [m["spec"] for m in document["local"]]


# Bad input: exit 2 with a message, and nothing stored ---------------------------------------


def run_main(*args: str) -> int:
    """`python -m lineup ARGS` in this process, with argparse's own exits as return codes."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def assert_nothing_stored(home: Path) -> None:
    store = Store(load_settings().database_url)
    assert store.latest_runs("vlm") == [] and store.latest_runs("tts") == []
    assert not (home / "media").exists() or not any((home / "media").iterdir())


VLM = ["vlm", "--question", "What is shown?", "--model", "ocr:eng"]
TTS = ["tts", "--text", "Hello there.", "--voice", "espeak:en-us", "--stt", "none"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*VLM, "--timeout", "0"], "--timeout: The timeout must be a number above 0"),
        ([*VLM, "--timeout", "-1"], "The timeout must be a number above 0 and at most 86400"),
        ([*VLM, "--timeout", "nan"], "not nan"),
        ([*VLM, "--timeout", "inf"], "not inf"),
        ([*VLM, "--timeout", "1e12"], "at most 86400 seconds"),
        ([*VLM, "--timeout", "soon"], "'soon' is not a number of seconds"),
        ([*VLM, "--temperature", "nan"], "--temperature: The temperature must be a number of 0"),
        ([*VLM, "--temperature", "-0.5"], "number of 0 or more, not -0.5"),
        ([*VLM, "--temperature", "inf"], "number of 0 or more, not inf"),
        ([*VLM, "--max-tokens", "0"], "--max-tokens: The token limit must be between 1 and"),
        ([*VLM, "--max-tokens", "2147483648"], "between 1 and 2,147,483,647"),
        ([*VLM, "--seed", "-1"], "--seed: The seed must be between 0 and 2,147,483,647"),
        ([*VLM, "--seed", "2147483648"], "not 2147483648"),
        ([*VLM, "--seed", "1.5"], "'1.5' is not a whole number"),
        (["vlm", "--question", "  ", "--model", "ocr:eng"], "The question is empty"),
        (
            ["vlm", "--question", "x" * 20_001, "--model", "ocr:eng"],
            "20,001 characters long, over the limit of 20,000",
        ),
        ([*VLM, "--system", "y" * 20_001], "The system prompt is 20,001 characters long"),
        (["vlm", "--question", "bad \udcff byte", "--model", "ocr:eng"], "not UTF-8 text"),
        ([*VLM, "--model", "openai:m@http://ana:s3cret@h/v1"], "api_key_env"),
        ([*TTS, "--samples", "0"], "--samples: The number of samples must be at least 1, not 0"),
        ([*TTS, "--timeout", "0"], "The timeout must be a number above 0"),
        ([*TTS, "--seed", "2147483647", "--samples", "2"], "between 0 and 2,147,483,646"),
        (
            ["tts", "--text", "z" * 2_001, "--voice", "espeak:en-us", "--stt", "none"],
            "The sentence is 2,001 characters long, over the limit of 2,000",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_store_nothing(
    lineup_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run_main(*args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert "s3cret" not in captured.err
    assert "Traceback" not in captured.err
    assert_nothing_stored(lineup_home)


def test_limits_at_the_edge_are_accepted() -> None:
    args = build_parser().parse_args(
        [*VLM, "--timeout", "0.5", "--temperature", "0", "--max-tokens", "1", "--seed", "0"]
    )
    assert (args.timeout, args.temperature, args.max_tokens, args.seed) == (0.5, 0, 1, 0)
    args = build_parser().parse_args([*TTS, "--seed", str(2**31 - 1), "--timeout", "86400"])
    assert (args.seed, args.timeout, args.samples) == (2**31 - 1, 86400, 1)


def test_a_3_gb_image_is_refused_from_its_size_and_nothing_is_stored(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(3 * 1024**3)
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    assert run_main(*VLM, "--image", str(huge)) == 2

    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kb) / 1024 < 100
    err = capsys.readouterr().err
    assert "huge.png: The file is 3072.0 MB, over the 20 MB upload limit" in err
    assert "LINEUP_MAX_UPLOAD_MB" in err
    assert_nothing_stored(lineup_home)


def test_a_folder_as_image_exits_2(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(*VLM, "--image", str(tmp_path)) == 2
    assert "This is a folder" in capsys.readouterr().err
    assert_nothing_stored(lineup_home)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LINEUP_MAX_UPLOAD_MB", "-1", "LINEUP_MAX_UPLOAD_MB='-1' is not usable"),
        ("LINEUP_MODEL_TIMEOUT_S", "nan", "LINEUP_MODEL_TIMEOUT_S='nan' is not usable"),
        ("LINEUP_DATABASE_URL", "nonsense", "LINEUP_DATABASE_URL is not a database URL"),
    ],
)
def test_bad_settings_exit_2_naming_the_variable(
    lineup_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert run_main(*VLM) == 2
    assert message in capsys.readouterr().err
    monkeypatch.delenv(variable)
    assert_nothing_stored(lineup_home)


def test_a_home_that_is_a_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "home").write_text("x")
    monkeypatch.setenv("LINEUP_HOME", str(tmp_path / "home"))
    assert run_main(*VLM) == 2
    assert "LINEUP_HOME=" in capsys.readouterr().err


def test_a_broken_backends_file_exits_2_naming_file_and_key(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lineup_home.mkdir(parents=True)
    (lineup_home / "backends.toml").write_text("[models.m]\nspec = 5\n")
    assert run_main(*VLM) == 2
    err = capsys.readouterr().err
    assert str(lineup_home / "backends.toml") in err and "[models.m]: `spec`" in err
    assert_nothing_stored(lineup_home)


def test_an_internal_value_error_is_a_bug_not_bad_input(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in Lineup")

    monkeypatch.setattr(Store, "create_run_with_generations", broken)
    assert run_main(*VLM) == 1
    err = capsys.readouterr().err
    assert "this is a bug in Lineup, not a problem with your input" in err
    assert "ValueError: a bug in Lineup" in err and "LINEUP_DEBUG=1" in err
    assert "Traceback" not in err


def test_lineup_debug_shows_the_traceback_of_a_bug(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in Lineup")

    monkeypatch.setattr(Store, "create_run_with_generations", broken)
    monkeypatch.setenv("LINEUP_DEBUG", "1")
    with pytest.raises(ValueError, match="a bug in Lineup"):
        main(VLM)


def test_a_bug_message_keeps_api_keys_out(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-printed-0123456789")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("request failed with key sk-never-printed-0123456789")

    monkeypatch.setattr(Store, "create_run_with_generations", broken)
    assert run_main(*VLM) == 1
    assert "sk-never-printed" not in capsys.readouterr().err


def test_the_command_line_checks_the_models_once(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checked: list[list[str]] = []
    check = Catalog.resolve_all

    def counting(self: Catalog, models: list[str], modality: str) -> list[ResolvedModel]:
        checked.append(list(models))
        return check(self, models, modality)  # type: ignore[arg-type]

    monkeypatch.setattr(Catalog, "resolve_all", counting)
    assert run_main(*TTS, "--json") == 0
    assert checked == [["espeak:en-us"]]
    assert json.loads(capsys.readouterr().out)["results"][0]["status"] == "ok"


def test_a_voice_named_in_backends_toml_is_warned_about(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lineup_home.mkdir(parents=True)
    (lineup_home / "backends.toml").write_text('[models.narrator]\nspec = "espeak:en-us"\n')
    args = ["tts", "--text", "Оплата не прошла.", "--voice", "narrator", "--stt", "none"]
    assert run_main(*args, "--json") == 0
    [warning] = json.loads(capsys.readouterr().out)["warnings"]
    assert "narrator speaks en" in warning


# The edges of a command's life: a reader that leaves, Ctrl-C --------------------------------


@pytest.mark.integration  # python -m lineup in a subprocess
def test_a_reader_that_leaves_before_the_output_ends_the_command_quietly(
    lineup_home: Path,
) -> None:
    """`python -m lineup backends --json | head -1`, with the reader gone before the first byte
    (as `head` is once it has its line): no "bug", no traceback, the status of a command
    stopped by SIGPIPE (128 + 13), as `yes | head -1` reports it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "lineup", "backends", "--json"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (child.returncode, child.stderr) == (141, "")


def test_a_broken_pipe_of_lineup_s_own_is_still_a_bug(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a reader of Lineup's output that left ends the command quietly: a pipe to a
    subprocess or a socket that breaks is reported (the output's reader is still there)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(Store, "create_run_with_generations", broken)
    assert run_main(*VLM) == 1
    assert "this is a bug in Lineup" in capsys.readouterr().err


def test_ctrl_c_gives_a_readable_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from lineup.run import liveness
    from lineup.run.shutdown import run_stoppable

    reasons: list[object] = []
    monkeypatch.setattr(liveness, "interrupt_all", lambda why: reasons.append(why) or 0)

    def pressed_ctrl_c() -> int:
        raise KeyboardInterrupt  # what Python's own SIGINT handler raises: no message

    assert run_stoppable(pressed_ctrl_c) == 130
    # A phrase with its template (said in the page's language where the row is shown).
    assert [str(why) for why in reasons] == ["the command was stopped (Ctrl-C)"]


@pytest.mark.integration  # python -m lineup in a subprocess
@pytest.mark.timeout(300)  # two commands of a few seconds, with imports, on a loaded machine
def test_vlm_shows_live_figures_and_the_stall_on_stderr_and_json_stays_as_it_was(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two words, a 3.5 s pause, two more: stalled after 0.5 s of it, so a line written every
    # 2 s into the pipe falls in the stall.
    pausing = FakeModel("pausing:1b", ["One", "two", "three", "four."], gaps_s=[0.1, 3.5, 0.1])
    monkeypatch.setenv("LINEUP_STALL_S", "0.5")
    with OllamaFixture([pausing]) as server:
        spec = f"ollama:pausing:1b@{server.base_url}"
        shown = lineup("vlm", "--question", "Count.", "--model", spec)
        as_json = lineup("vlm", "--question", "Count.", "--model", spec, "--json")
    assert shown.returncode == 0, shown.stderr
    live = [line for line in shown.stderr.splitlines() if line.startswith(f"  {spec}: ")]
    stalled = [line for line in live if "STALLED" in line]
    assert stalled, shown.stderr
    # In the pause, after the first two words (a loaded machine may also show a stall before
    # the first word: it is counted from the request).
    in_pause = [line for line in stalled if " · 2 chunks · " in line]
    assert in_pause, shown.stderr
    assert "TTFT" in in_pause[0] and "chunks/s" in in_pause[0]
    assert shown.stderr.splitlines()[-1].startswith(f"  done   {spec} (generation ")
    assert "One two three four." in shown.stdout
    # --json: stdout one document as before, and no live lines on stderr.
    assert as_json.returncode == 0, as_json.stderr
    [result] = json.loads(as_json.stdout)["results"]
    assert result["status"] == "ok" and result["text"] == "One two three four."
    assert "STALLED" not in as_json.stderr and "chunks/s" not in as_json.stderr
