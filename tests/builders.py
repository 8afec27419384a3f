"""What the tests build: images, sounds and set folders, stores filled with known rows, and
studies written straight into a store. Each builder returns what it wrote (ids, or the rows
as plain dicts) so a test can work out its expected figures by hand (tests/expected.py).

Shared by unit, page, integration, browser and fault tests; a test module never imports
another test module."""

from __future__ import annotations

import functools
import io
import random
import struct
import wave
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import create_engine, event, text, update

from backends.base import Modality
from backends.spec import parse_spec
from lineup.catalog.resolver import Lane, ResolvedModel
from lineup.core.settings import load_settings
from lineup.leaderboard.filters import FAILED, LeaderboardFilter
from lineup.measure.wer import normalize, score
from lineup.sets.items import ParsedSet, SetItem
from lineup.sets.library import save_set
from lineup.store.database import Store
from lineup.store.engine import alembic_config
from lineup.store.media import MediaStore
from lineup.store.tables import (
    JUDGE_SCORED,
    STUDY_DONE,
    Generation,
    JudgeScore,
    Label,
    QuestionSet,
    SetItemRow,
    utcnow,
)
from lineup.study.records import claim, create_study, finish_study, list_studies, load_plan

# Models as the facade resolves them ----------------------------------------------------------


def resolved(
    name: str,
    spec: str | None = None,
    *,
    options: dict[str, Any] | None = None,
    modality: Modality = "vlm",
    lane: Lane | None = None,
) -> ResolvedModel:
    """A resolved model built directly (fake kinds such as `fake:good` are no registered
    backend): `spec` the full spec the name stands for (when None: the name itself, or
    `fake:NAME` for a name that is no spec)."""
    full = parse_spec(spec or (name if ":" in name else f"fake:{name}"))
    return ResolvedModel(
        name, full, options or {}, lane or Lane(f"in-process:{full.kind}"), modality
    )


def resolved_all(names: Iterable[str], modality: Modality = "vlm") -> list[ResolvedModel]:
    return [resolved(name, modality=modality) for name in names]


def by_name(factory: Callable[[str], Any]) -> Callable[[ResolvedModel], Any]:
    """A test's backend factory keyed by the model's name, as the runner's factory."""
    return lambda model: factory(model.name)


# Images, sounds and set folders --------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "navy", text: str = "") -> bytes:
    """A small PNG of one colour, with `text` written on it if given."""
    image = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(image).text((4, 4), text, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def big_png(width: int, height: int, tag: int) -> bytes:
    """A black 1-bit PNG of width x height pixels in a few kilobytes (a decompression bomb),
    made distinct from the others by a text chunk holding `tag`."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"tEXt", b"tag\x00" + str(tag).encode())
        + chunk(b"IDAT", _black_rows(width, height))
        + chunk(b"IEND", b"")
    )


@functools.cache
def _black_rows(width: int, height: int) -> bytes:
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the row's bits
    compressor = zlib.compressobj(9)
    return b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def screenshot(lines: list[str]) -> bytes:
    """A PNG like an app's screenshot: a title bar, then `lines` in DejaVu Sans, for OCR."""
    image = Image.new("RGB", (900, 90 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 900, 50), fill=(30, 60, 120))
    font = ImageFont.truetype(str(FONT), 36)
    for index, line in enumerate(lines):
        draw.text((40, 80 + 70 * index), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.1, rate_hz: int = 8000) -> bytes:
    """A WAV file of silence."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate_hz)
        clip.writeframes(b"\0\0" * int(seconds * rate_hz))
    return buffer.getvalue()


JUDGE_QUESTIONS = ["What fruit is drawn?", "What colour is the sky?", "How many cats are there?"]

JUDGE_REFERENCES = ["Three red apples.", "", "Two cats."]  # the second item has no reference


def json_reply(score: int, reasons: str = "close") -> list[str]:
    """A judge's JSON verdict, as the words a loopback model streams."""
    return ['{"score":', f"{score},", '"reasons":', f'"{reasons}"}}']


def write_judge_set(folder: Path) -> Path:
    """A VLM set folder of JUDGE_QUESTIONS, with JUDGE_REFERENCES as their references."""
    folder.mkdir(parents=True)
    lines = ["image,question,reference,language"]
    for index, (question, reference) in enumerate(
        zip(JUDGE_QUESTIONS, JUDGE_REFERENCES, strict=True)
    ):
        (folder / f"shot{index}.png").write_bytes(png_bytes(color="navy", text=f"#{index}"))
        lines.append(f"shot{index}.png,{question},{reference},en")
    (folder / "questions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_numbered_set(folder: Path, items: int = 3) -> Path:
    """A VLM set folder: one image and question per item."""
    folder.mkdir(parents=True)
    lines = ["image,question,reference,language"]
    for index in range(items):
        (folder / f"shot{index}.png").write_bytes(png_bytes(color="navy", text=f"#{index}"))
        lines.append(f"shot{index}.png,What is shown in picture {index}?,A number,en")
    (folder / "questions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# Stores --------------------------------------------------------------------------------------


def word_counts(sentence: str, wer: float | None) -> dict[str, int | None]:
    """The counts a WER is the ratio of: the sentence's normalised words, WER times those."""
    if wer is None:
        return {"word_errors": None, "reference_words": None}
    words = len(normalize(sentence).split())
    return {"word_errors": round(wer * words), "reference_words": words}


def fresh_database(postgres_url: str, name: str) -> str:
    """An empty database `name` on the server of `postgres_url` (dropped first if there); its
    URL."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


MIGRATION_0004_SENTENCE = "She sold 3,500 tickets on the 21st of June."


def fill_at_0003(url: str) -> None:
    """A store at revision 0003 with the rows migration 0004 must fill in: VLM answers (one
    failed), scored and unscored clips, and labels that do and do not count."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(
            text(
                "INSERT INTO runs (id, kind, input_text, params, blind, created_at) VALUES "
                "(1, 'vlm', 'q', '{}', :no, '2026-11-01'), (2, 'tts', :s, '{}', :no, '2026-11-01')"
            ),
            {"s": MIGRATION_0004_SENTENCE, "no": False},
        )
        for gid, run_id, spec, status, wer in [
            (1, 1, "m:a", "ok", None),
            (2, 1, "m:b", "error", None),
            (3, 2, "v:a", "ok", 0.25),
            (4, 2, "v:b", "ok", None),
        ]:
            connection.execute(
                text(
                    "INSERT INTO generations (id, run_id, position, model_spec, sample_index, "
                    "status, wer, started_at, backend_metadata) VALUES "
                    "(:gid, :run_id, 0, :spec, 0, :status, :wer, '2026-11-01', '{}')"
                ),
                {"gid": gid, "run_id": run_id, "spec": spec, "status": status, "wer": wer},
            )
        # (id, generation, annotator, created_at): ana relabels; the later one written first
        # (a smaller id) counts; bob's two labels at one moment: the greater id counts; a label
        # an old build wrote on a failed answer never counts.
        for lid, gid, annotator, moment in [
            (1, 1, "ana", "2026-11-02 10:00:01"),
            (2, 1, "ana", "2026-11-02 10:00:00"),
            (3, 1, "bob", "2026-11-02 10:00:00"),
            (4, 1, "bob", "2026-11-02 10:00:00"),
            (5, 2, "ana", "2026-11-02 10:00:00"),
            (6, 3, "ana", "2026-11-02 10:00:00"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO labels (id, generation_id, annotator, relevance, created_at) "
                    "VALUES (:lid, :gid, :annotator, 'relevant', :moment)"
                ),
                {"lid": lid, "gid": gid, "annotator": annotator, "moment": moment},
            )
    engine.dispose()


# (generation id, model_spec) of a store at 0010: a spec, a backends.toml name, and an old
# row's spec whose URL holds a password and a key in its query (stored before such specs were
# refused).
AT_0010_SPECS = [
    (1, "ollama:llava:7b"),
    (2, "qwen"),
    (3, "openai:m@http://user:pw-secret@gpu:8000/v1?api_key=sk-old-secret"),
]


def fill_at_0010(url: str) -> None:
    """A store at revision 0010 with the generations migration 0011 must fill in."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0010")
        connection.execute(
            text(
                "INSERT INTO runs (id, kind, input_text, params, blind, created_at) VALUES "
                "(1, 'vlm', 'q', '{}', :no, '2026-12-01')"
            ),
            {"no": False},
        )
        for gid, spec in AT_0010_SPECS:
            connection.execute(
                text(
                    "INSERT INTO generations (id, run_id, kind, position, model_spec, "
                    "sample_index, status, started_at, backend_metadata) VALUES "
                    "(:gid, 1, 'vlm', :gid, :spec, 0, 'ok', '2026-12-01', '{}')"
                ),
                {"gid": gid, "spec": spec},
            )
    engine.dispose()


# Clips of a store at 0011 that migration 0012 scores again: (generation id, sentence,
# transcript, set item language, the WER and counts stored under the old normalisation).
AT_0011_CLIPS = [
    (1, "Цены выросли на 10% за год", "Цены выросли на десять процентов за год", None, 1 / 6),
    (2, "Моло\u0301ко ещё свежее", "Молоко еще свежее", None, 1.0),
    (3, "The cat sat on the mat.", "the cat sat on a mat", None, 1 / 6),
    (4, "我爱北京", "我爱上海", None, 1.0),
    (5, "Il a 10 ans.", "Il a dix ans", "fr", 0.25),
]


def fill_at_0011(url: str) -> None:
    """A store at revision 0011 with the scored clips of AT_0011_CLIPS (clip 5 in a study of
    a set whose item says `fr`) and one WER stored without its transcript (id 6)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0011")
        connection.execute(
            text(
                "INSERT INTO question_sets (id, name, kind, created_at) "
                "VALUES (1, 'phrases', 'tts', '2026-12-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO set_items (id, set_id, position, text, language, tags) "
                "VALUES (1, 1, 0, :s, 'fr', '[]')"
            ),
            {"s": AT_0011_CLIPS[4][1]},
        )
        for gid, sentence, transcript, language, wer in AT_0011_CLIPS:
            connection.execute(
                text(
                    "INSERT INTO runs (id, kind, input_text, params, blind, created_at, item_id) "
                    "VALUES (:gid, 'tts', :s, '{}', :no, '2026-12-01', :item)"
                ),
                {"gid": gid, "s": sentence, "no": False, "item": 1 if language else None},
            )
            connection.execute(
                text(
                    "INSERT INTO generations (id, run_id, kind, position, model_spec, "
                    "resolved_spec, sample_index, status, started_at, backend_metadata, "
                    "transcript, wer, cer, word_errors, reference_words) VALUES "
                    "(:gid, :gid, 'tts', 0, 'v:a', 'v:a', 0, 'ok', '2026-12-01', '{}', "
                    ":transcript, :wer, 0.5, 1, 1)"
                ),
                {"gid": gid, "transcript": transcript, "wer": wer},
            )
        connection.execute(
            text(
                "INSERT INTO generations (id, run_id, kind, position, model_spec, resolved_spec, "
                "sample_index, status, started_at, backend_metadata, wer, cer, word_errors, "
                "reference_words) VALUES (6, 1, 'tts', 1, 'v:b', 'v:b', 0, 'ok', '2026-12-01', "
                "'{}', 0.5, 0.25, 3, 6)"
            )
        )
    engine.dispose()


ONE_LABEL = "ollama:one-label"

MANY_LABELS = "ollama:fifty-six-labels"


def label_answers(store: Store, model: str, relevances: list[str]) -> None:
    """One timed `ok` answer of `model` per relevance, labeled with it by ana."""
    for relevance in relevances:
        gid = store.add_generation(store.create_run("vlm", "q"), model)
        store.finish_generation(gid, "ok", output_text="x", ttft_s=0.2, total_s=1.0)
        store.add_label(gid, relevance, annotator="ana")


# A store filled at random for the leaderboards -----------------------------------------------


STATES = ["ok"] * 6 + ["error", "timeout", "cancelled", "interrupted", "running"]

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Our meeting starts at 10 o'clock and should take about 45 minutes.",
    "She sold 3,500 tickets on the 21st of June.",
    "Turn left at the second light.",
]


@dataclass
class Inserted:
    """What fill_leaderboard_store or fill_filtered_store wrote: one dict per generation and
    per label."""

    generations: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)


def _add_label(
    session: Any,
    inserted: Inserted,
    generation_id: int,
    annotator: str,
    relevance: str,
    moment: datetime,
) -> None:
    """A label row written at `moment` (not now), and its record in `inserted`."""
    label = Label(
        generation_id=generation_id, annotator=annotator, relevance=relevance, created_at=moment
    )
    session.add(label)
    session.flush()
    inserted.labels.append(
        {
            "id": label.id,
            "generation_id": generation_id,
            "annotator": annotator,
            "relevance": relevance,
            "created_at": moment,
        }
    )


def _maybe(rng: random.Random, value: float, none_share: float) -> float | None:
    return None if rng.random() < none_share else value


def fill_leaderboard_store(store: Store, seed: int = 7) -> Inserted:
    """VLM answers and voice clips of every state with gaps in every figure, labels by several
    annotators (relabels, ties in created_at, labels given later with a smaller id, labels on
    failed rows as an old build wrote them), and a spec stored under both kinds."""
    rng = random.Random(seed)
    cold_rng = random.Random(seed + 1)  # apart, so the other figures stay as they were
    inserted = Inserted()
    models = ["m:a", "m:b", "m:c-one-answer", "both:spec", "m:no-labels"]
    voices = ["v:a", "v:b", "both:spec", "v:in-process"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for kind, specs, runs in (("vlm", models, 18), ("tts", voices, 14)):
        for r in range(runs):
            sentence = SENTENCES[r % len(SENTENCES)]
            run_id = store.create_run(kind, sentence if kind == "tts" else f"question {r}")
            for spec in specs:
                if spec == "m:c-one-answer" and r:
                    continue
                for _ in range(1 if kind == "vlm" else rng.choice([1, 2])):
                    status = "ok" if spec == "m:c-one-answer" else rng.choice(STATES)
                    gid = store.add_generation(run_id, spec)
                    row: dict[str, Any] = {"id": gid, "kind": kind, "spec": spec}
                    row |= {"status": status, "sentence": sentence}
                    figures: dict[str, Any] = {}
                    if kind == "vlm":
                        ttft = round(rng.uniform(0.1, 2.0), 3)
                        figures = {
                            "output_text": "x",
                            "ttft_s": _maybe(rng, ttft, 0.15),
                            "total_s": _maybe(rng, ttft + rng.uniform(0.1, 3.0), 0.1),
                            "tokens_per_s": _maybe(rng, rng.uniform(5, 90), 0.2),
                        }
                    else:
                        transcript = rng.choice(
                            [sentence, sentence.lower().replace("the", "a"), "uh " + sentence]
                        )
                        scored = rng.random() > 0.2
                        result = score(sentence, transcript)
                        figures = {
                            "transcript": transcript if scored else None,
                            "wer": result.wer if scored else None,
                            "word_errors": result.word_errors if scored else None,
                            "reference_words": result.reference_words if scored else None,
                            "cer": _maybe(rng, result.cer, 0.1) if scored else None,
                            "rtf": _maybe(rng, rng.uniform(0.01, 2.0), 0.1),
                            "gen_s": _maybe(rng, rng.uniform(0.1, 9.0), 0.1),
                            "peak_mem_mb": rng.uniform(100, 900)
                            if spec == "v:in-process"
                            else None,
                        }
                    figures["cold"] = cold_flag(cold_rng)
                    if status != "running":
                        error = None if status == "ok" else f"{status}: down"
                        store.finish_generation(gid, status, error=error, **figures)
                    else:
                        figures = {}
                    inserted.generations.append(row | figures)
    # A WER stored without its transcript (no build writes one): not a scored clip.
    gid = store.add_generation(store.create_run("tts", SENTENCES[0]), "v:a")
    words = len(normalize(SENTENCES[0]).split())
    store.finish_generation(
        gid, "ok", wer=1.0, word_errors=words, reference_words=words, cer=0.2, rtf=0.3, gen_s=1.0
    )
    inserted.generations.append(
        {"id": gid, "kind": "tts", "spec": "v:a", "status": "ok", "sentence": SENTENCES[0]}
        | {"transcript": None, "wer": 1.0, "cer": 0.2, "rtf": 0.3, "gen_s": 1.0}
    )

    moment = start + timedelta(days=30)
    with store.session() as session:
        for generation in inserted.generations:
            if generation["spec"] == "m:no-labels" or rng.random() < 0.35:
                continue
            if generation["status"] != "ok" and rng.random() < 0.7:
                continue  # labels on failed rows: an old build wrote some
            for annotator in rng.sample(["ana", "bob", "cy"], rng.randint(1, 3)):
                for _ in range(rng.choice([1, 1, 2, 3])):
                    # A relabel in the same microsecond (a double click), a label given later
                    # with a smaller id (written by a slower process), or simply later.
                    step = rng.choice([0, 0, 1, 7, -5])
                    moment += timedelta(microseconds=step)
                    relevance = rng.choice(["relevant", "partial", "irrelevant"])
                    _add_label(session, inserted, generation["id"], annotator, relevance, moment)
    return inserted


# A store of sets, studies and loose runs for the leaderboard filters -------------------------


START = datetime(2026, 11, 1, tzinfo=UTC)

DAYS = 30

ANNOTATORS = ["ana", "bob", "cy"]

# Per set: kind and the tags of its items (the same tag on items of two sets).
SETS: dict[str, tuple[str, list[list[str]]]] = {
    "screens": ("vlm", [["billing"], ["billing", "ru"], ["login"], [], ["ru"], ["login"]]),
    "forms": ("vlm", [["billing"], [], ["Billing"], ["ru"]]),
    "sentences": ("tts", [["numbers"], [], ["numbers", "long"], ["long"]]),
}

# Studies: (set, models); two of "screens", so a set is more than one study.
STUDIES = [
    ("screens", ["m:a", "m:b", "m:c"]),
    ("screens", ["m:a", "m:d"]),
    ("forms", ["m:b", "m:c"]),
    ("sentences", ["v:a", "v:b"]),
]

LOOSE_RUNS = {"vlm": (["m:a", "m:b", "m:e-loose-only"], 10), "tts": (["v:a", "v:c"], 8)}


def cold_flag(rng: random.Random) -> bool | None:
    """An answer's `cold`: a few cold (True), some warm (False), the rest unknown (None)."""
    draw = rng.random()
    return True if draw < 0.15 else False if draw < 0.55 else None


def _figures(rng: random.Random, kind: str, sentence: str, spec: str) -> dict[str, Any]:
    """Figures of every kind of gap, as fill_leaderboard_store writes them."""

    def maybe(value: float, none_share: float) -> float | None:
        return None if rng.random() < none_share else value

    if kind == "vlm":
        ttft = round(rng.uniform(0.1, 2.0), 3)
        return {
            "output_text": "x",
            "ttft_s": maybe(ttft, 0.15),
            "total_s": maybe(ttft + rng.uniform(0.1, 3.0), 0.1),
            "tokens_per_s": maybe(rng.uniform(5, 90), 0.2),
        }
    transcript = rng.choice([sentence, sentence.lower().replace("the", "a"), "uh " + sentence])
    scored = rng.random() > 0.2
    result = score(sentence, transcript)
    return {
        "transcript": transcript if scored else None,
        "wer": result.wer if scored else None,
        "word_errors": result.word_errors if scored else None,
        "reference_words": result.reference_words if scored else None,
        "cer": maybe(result.cer, 0.1) if scored else None,
        "rtf": maybe(rng.uniform(0.01, 2.0), 0.1),
        "gen_s": maybe(rng.uniform(0.1, 9.0), 0.1),
        "peak_mem_mb": rng.uniform(100, 900) if spec == "v:a" else None,
    }


def fill_filtered_store(store: Store, seed: int = 11) -> Inserted:
    """Sets with tagged items, studies of them (two of one set), runs outside any study, every
    state, started over 30 days, and labels by three annotators (relabels, labels on failed
    rows as an old build wrote them). Each generation records its run's study, set and tags."""
    rng = random.Random(seed)
    crowd = random.Random(seed + 1)
    cold_rng = random.Random(seed + 2)  # apart, so the other figures stay as they were
    inserted = Inserted()
    set_ids: dict[str, int] = {}
    with store.session() as session:
        for name, (kind, item_tags) in SETS.items():
            question_set = QuestionSet(name=name, kind=kind)
            session.add(question_set)
            session.flush()
            set_ids[name] = question_set.id
            session.add_all(
                SetItemRow(
                    set_id=question_set.id,
                    position=position,
                    text=SENTENCES[position % len(SENTENCES)] if kind == "tts" else f"q{position}",
                    tags=tags,
                )
                for position, tags in enumerate(item_tags)
            )
    # (run id, kind, sentence, study, set, tags, specs)
    runs: list[tuple[int, str, str, int | None, str | None, list[str], list[str]]] = []
    for set_name, models in STUDIES:
        study_id = create_study(
            store, set_id=set_ids[set_name], models=models, repeats=1, params={}
        )
        kind, _ = SETS[set_name]
        for item in load_plan(store, study_id).items:
            runs.append((item.run_id, kind, item.text, study_id, set_name, list(item.tags), models))
    for kind, (specs, count) in LOOSE_RUNS.items():
        for r in range(count):
            sentence = SENTENCES[r % len(SENTENCES)] if kind == "tts" else f"question {r}"
            runs.append((store.create_run(kind, sentence), kind, sentence, None, None, [], specs))

    for run_id, kind, sentence, study_id, set_name, tags, specs in runs:
        for spec in specs:
            for _ in range(rng.choice([1, 2])):
                status = rng.choice(STATES)
                gid = store.add_generation(run_id, spec)
                started = START + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
                figures = _figures(rng, kind, sentence, spec) if status != "running" else {}
                if figures:
                    figures["cold"] = cold_flag(cold_rng)
                if status != "running":
                    # Others in flight beside it (NULL: stored before Lineup counted), drawn
                    # apart so the other figures stay those of the seed.
                    figures["concurrent_max"] = crowd.choice([None, 0, 0, 1, 2])
                    error = None if status == "ok" else f"{status}: down"
                    store.finish_generation(gid, status, error=error, **figures)
                with store.session() as session:
                    session.execute(
                        update(Generation).where(Generation.id == gid).values(started_at=started)
                    )
                inserted.generations.append(
                    {"id": gid, "kind": kind, "spec": spec, "status": status}
                    | {"sentence": sentence, "study": study_id, "set": set_name}
                    | {"tags": tags, "started_at": started}
                    | figures
                )

    moment = START + timedelta(days=40)
    with store.session() as session:
        for generation in inserted.generations:
            if rng.random() < 0.3 or (generation["status"] != "ok" and rng.random() < 0.7):
                continue
            for annotator in rng.sample(ANNOTATORS, rng.randint(1, 3)):
                for _ in range(rng.choice([1, 1, 2])):
                    moment += timedelta(microseconds=rng.choice([0, 1, 7, -5]))
                    relevance = rng.choice(["relevant", "partial", "irrelevant"])
                    _add_label(session, inserted, generation["id"], annotator, relevance, moment)
    return inserted


def study_ids(store: Store) -> list[int]:
    """The ids of the store's studies, in order (the filters of FILTERS take them)."""
    return sorted(s.id for s in list_studies(store))


# Each filter, and some together. Study numbers are positions in STUDIES (ids are 1, 2, ...).
FILTERS: dict[str, Callable[[list[int]], LeaderboardFilter]] = {
    "study": lambda s: LeaderboardFilter(study_id=s[0]),
    "another study of the same set": lambda s: LeaderboardFilter(study_id=s[1]),
    "voice study": lambda s: LeaderboardFilter(study_id=s[3]),
    "set": lambda s: LeaderboardFilter(set_name="screens"),
    "voice set": lambda s: LeaderboardFilter(set_name="sentences"),
    "tag on items of two sets": lambda s: LeaderboardFilter(tag="billing"),
    "tag is case-sensitive": lambda s: LeaderboardFilter(tag="Billing"),
    "voice tag": lambda s: LeaderboardFilter(tag="long"),
    "tag within a set": lambda s: LeaderboardFilter(set_name="forms", tag="ru"),
    "tag within a study": lambda s: LeaderboardFilter(study_id=s[1], tag="login"),
    "since": lambda s: LeaderboardFilter(since=START + timedelta(days=12)),
    "until": lambda s: LeaderboardFilter(until=START + timedelta(days=9, hours=5)),
    "date range": lambda s: LeaderboardFilter(
        since=START + timedelta(days=5), until=START + timedelta(days=20)
    ),
    "annotator": lambda s: LeaderboardFilter(annotator="bob"),
    "status ok": lambda s: LeaderboardFilter(status="ok"),
    "measured alone": lambda s: LeaderboardFilter(alone=True),
    "voice study measured alone": lambda s: LeaderboardFilter(study_id=s[3], alone=True),
    "status failed": lambda s: LeaderboardFilter(status=FAILED),
    "status error": lambda s: LeaderboardFilter(status="error"),
    "status running": lambda s: LeaderboardFilter(status="running"),
    "annotator and status ok": lambda s: LeaderboardFilter(annotator="ana", status="ok"),
    "everything at once": lambda s: LeaderboardFilter(
        study_id=s[0],
        set_name="screens",
        tag="billing",
        since=START + timedelta(days=2),
        until=START + timedelta(days=28),
        annotator="cy",
        status="ok",
    ),
    "set and dates and annotator": lambda s: LeaderboardFilter(
        set_name="screens", since=START + timedelta(days=10), annotator="ana"
    ),
    "no study is of this set and kind": lambda s: LeaderboardFilter(
        study_id=s[3], set_name="screens"
    ),
}


# Studies built straight in the store ---------------------------------------------------------


# The models of make_study's studies, in the label queue and arena tests.
MODELS = ["ollama:llava:7b", "ollama:moondream:latest"]


def add_pair_verdicts(
    store: Store,
    study_id: int,
    generation_id: int,
    judge: str,
    first: tuple[float, float],
    second: tuple[float, float],
) -> None:
    """A pairwise judge's scored verdicts on one answer, as lineup.score.judge stores them:
    (candidate's score, reference's score) with the candidate shown first (position 1), then
    with the reference shown first (position 2)."""
    with store.session() as session:
        for position, (mine, theirs) in ((1, first), (2, second)):
            session.add(
                JudgeScore(
                    study_id=study_id,
                    generation_id=generation_id,
                    judge_spec=judge,
                    protocol="pairwise",
                    prompt_hash=f"{generation_id:032d}{position:032d}",
                    position=position,
                    status=JUDGE_SCORED,
                    score=mine,
                    reference_score=theirs,
                    reasons="looked",
                    finished_at=utcnow(),
                )
            )


def make_study(
    store: Store,
    media: MediaStore,
    *,
    models: list[str],
    items: int = 3,
    repeats: int = 1,
    kind: str = "vlm",
    failed: frozenset[tuple[int, str, int]] = frozenset(),
    blind: bool = False,
    name: str = "queue set",
    image: bytes | None = None,
) -> tuple[int, dict[tuple[int, str, int], int]]:
    """A finished study of `items` items (questions about images, or sentences) × models ×
    repeats; every answer `ok` but those in `failed` ((item number, model, repeat): `error`).
    The items' image is `image` if given, else a small one numbered for its item.
    Returns the study id and each answer's generation id by (item number, model, repeat)."""
    parsed = ParsedSet(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        items=tuple(
            SetItem(
                line=number,
                text=f"Question {number}?" if kind == "vlm" else f"Sentence number {number}.",
                image=(image or png_bytes(text=str(number))) if kind == "vlm" else None,
                image_name=f"{number}.png" if kind == "vlm" else None,
                reference=f"Reference {number}" if number % 2 else None,
                language="en",
                tags=("screenshot",),
                image_suffix=".png" if kind == "vlm" else None,
            )
            for number in range(1, items + 1)
        ),
        source="test",
    )
    summary = save_set(store, media, parsed)
    study_id = create_study(
        store, set_id=summary.id, models=models, repeats=repeats, params={}, blind=blind
    )
    clip = media.put(wav_bytes(), ".wav") if kind == "tts" else None
    ids: dict[tuple[int, str, int], int] = {}
    for item in load_plan(store, study_id).items:
        number = item.position + 1
        for position, model in enumerate(models):
            for repeat in range(repeats):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                if (number, model, repeat) in failed:
                    store.finish_generation(gid, "error", error="It broke.")
                else:
                    store.finish_generation(
                        gid,
                        "ok",
                        output_text=f"{model} answers {number}/{repeat}",
                        audio_hash=clip,
                        transcript=f"sentence number {number}" if clip else None,
                    )
                ids[(number, model, repeat)] = gid
    finish_study(store, study_id, STUDY_DONE)
    return study_id, ids


# What build_vlm_study and build_tts_study make their studies of.
TABLE_MODELS = ["m:a", "m:b", "m:c", "m:unlabeled"]

TABLE_QUESTIONS = [
    ("What is in the picture?", "a cat"),
    ("Что изображено на картинке?", "кошка"),
    ("Count the birds.", None),
]

TABLE_VOICES = ["v:a", "v:b"]

TABLE_SENTENCES = ["The quick brown fox jumps.", "Turn left at the second light."]


@dataclass
class Built:
    """What a study builder inserted: one dict per answer, per item and per label."""

    study_id: int
    items: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)  # in the order written


def make_set(store: Store, name: str, kind: str, rows: list[tuple[str, str | None]]) -> int:
    """A set of `rows` (text, reference), straight in the store; its id."""
    question_set = QuestionSet(name=name, kind=kind, source="test")
    question_set.items = [
        SetItemRow(position=p, text=text, reference=reference, tags=[])
        for p, (text, reference) in enumerate(rows)
    ]
    with store.session() as session:
        session.add(question_set)
        session.flush()
        return question_set.id


def vlm_answer(model: str, item: int, repeat: int) -> tuple[str, dict[str, Any]] | None:
    """The state and figures of one answer; None for one left running."""
    if model == "m:b" and (item, repeat) == (2, 2):
        return None
    if model == "m:b" and repeat == 1:
        return "error" if item else "timeout", {"error": "down", "total_s": 0.2}
    if model == "m:c" and item == 2:
        return "interrupted", {"output_text": "half an"}
    if model == "m:a" and item == 0:
        text = "Кошка."  # the same answer every time: identical repeats
    elif model == "m:a" and item == 1:
        text = "Кошка сидит на окне" + "!" * repeat  # Cyrillic: lengths are characters
    elif model == "m:c" and item == 0:
        text = "=SUM(A1:A2)"  # text a spreadsheet would take for a formula
    else:
        text = f"{model} says {'x' * (item * 3 + repeat)}"
    step = 1 + TABLE_MODELS.index(model) + 2 * item + repeat
    fields: dict[str, Any] = {
        "output_text": text,
        "ttft_s": None if (model, repeat) == ("m:a", 2) else 0.1 * step,
        "total_s": 0.75 * step + 0.5,
        "output_tokens": None if (model, item, repeat) == ("m:c", 1, 0) else 4 * step + 1,
        "tokens_per_s": None if repeat == 0 else 10.0 + step,
    }
    if model == "m:unlabeled" and item == 1:
        fields["total_s"] = None
    return "ok", fields


def build_vlm_study(store: Store, repeats: int = 3) -> Built:
    """TABLE_MODELS on TABLE_QUESTIONS: answers of every state (vlm_answer), labels by ana and
    bob with relabels, and a labeled answer outside the study."""
    set_id = make_set(store, "pictures", "vlm", TABLE_QUESTIONS)
    study_id = create_study(store, set_id=set_id, models=TABLE_MODELS, repeats=repeats, params={})
    built = Built(study_id)
    plan = load_plan(store, study_id)
    for index, item in enumerate(plan.items):
        built.items.append(
            {"item_id": item.item_id, "index": index, "text": item.text, "ref": item.reference}
        )
        for position, model in enumerate(TABLE_MODELS):
            for repeat in range(repeats):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                answer = vlm_answer(model, index, repeat)
                status, fields = answer if answer is not None else ("running", {})
                if answer is not None:
                    store.finish_generation(gid, status, **fields)
                built.answers.append(
                    {"id": gid, "item_id": item.item_id, "index": index, "model": model}
                    | {"repeat": repeat, "status": status, **fields}
                )

    def label(gid: int, relevance: str, annotator: str) -> None:
        store.add_label(gid, relevance, annotator=annotator)
        built.labels.append({"gid": gid, "relevance": relevance, "annotator": annotator})

    ok = [a for a in built.answers if a["status"] == "ok" and a["model"] != "m:unlabeled"]
    kinds = ["relevant", "partial", "irrelevant", "relevant", "relevant"]
    for n, answer in enumerate(ok):
        if n % 4 == 3:
            continue  # some answers stay unlabeled
        label(answer["id"], kinds[n % 5], "ana")
        if n % 3 == 0:
            label(answer["id"], kinds[(n + 1) % 5], "bob")
        if n % 5 == 1:
            label(answer["id"], "irrelevant", "ana")  # a relabel: only this one counts
            label(answer["id"], "relevant", "ana")
    # An answer outside the study, of a study model, labeled: it never counts here.
    run_id = store.create_run("vlm", "What is in the picture?")
    outside = store.add_generation(run_id, "m:a")
    store.finish_generation(outside, "ok", output_text="a dog", total_s=1.0, output_tokens=3)
    store.add_label(outside, "relevant", annotator="ana")
    return built


def voice_clip(voice: str, item: int, repeat: int) -> tuple[str, dict[str, Any]]:
    """The state and figures of one clip of build_tts_study."""
    if (voice, item, repeat) == ("v:b", 1, 1):
        return "error", {"error": "voice crashed"}
    step = 1 + TABLE_VOICES.index(voice) + 2 * item + repeat
    words = len(TABLE_SENTENCES[item].split())
    errors = (step * 7) % 3
    fields: dict[str, Any] = {
        "transcript": f"{TABLE_SENTENCES[item]} heard {step}",
        "wer": errors / words,
        "word_errors": errors,
        "reference_words": words,
        "cer": 0.01 * step,
        "gen_s": 0.3 * step,
        "stt_s": None if repeat == 1 else 0.2 * step,
        "rtf": 0.05 * step,
        "audio_s": 2.0,
        "peak_mem_mb": 100.0 + step,
    }
    if (voice, item, repeat) == ("v:a", 1, 0):
        # Not scored: no transcript, no WER.
        fields |= {"transcript": None, "wer": None, "word_errors": None, "reference_words": None}
    return "ok", fields


def build_tts_study(store: Store) -> Built:
    """TABLE_VOICES on TABLE_SENTENCES, two repeats: scored, unscored and failed clips."""
    set_id = make_set(store, "sentences", "tts", [(s, None) for s in TABLE_SENTENCES])
    study_id = create_study(store, set_id=set_id, models=TABLE_VOICES, repeats=2, params={})
    built = Built(study_id)
    for index, item in enumerate(load_plan(store, study_id).items):
        built.items.append({"item_id": item.item_id, "index": index, "text": item.text})
        for position, voice in enumerate(TABLE_VOICES):
            for repeat in range(2):
                gid = claim(store, study_id, item, voice, repeat, position=position, seed=None)
                assert gid is not None
                status, fields = voice_clip(voice, index, repeat)
                store.finish_generation(gid, status, **fields)
                built.answers.append(
                    {"id": gid, "item_id": item.item_id, "index": index, "model": voice}
                    | {"repeat": repeat, "status": status, **fields}
                )
    store.add_label(built.answers[0]["id"], "partial", annotator="ana")
    built.labels.append({"gid": built.answers[0]["id"], "relevance": "partial", "annotator": "ana"})
    return built


@dataclass
class LabeledStudy:
    """What build_labeled_study wrote: its answers, and its labels in the order written."""

    study_id: int
    answers: list[dict[str, Any]] = field(default_factory=list)
    labels: list[tuple[int, str, str]] = field(default_factory=list)  # (gid, who, relevance)


STUDY_MODELS = ["m:a", "m:b", "m:c"]


def build_labeled_study(store: Store) -> LabeledStudy:
    """Three models, four items, two repeats; two annotators who label most `ok` answers,
    one relabel, one model failing on an item, and a labeled answer outside the study."""
    set_id = make_set(store, "ranked", "vlm", [(f"Question {n}?", None) for n in range(4)])
    study_id = create_study(store, set_id=set_id, models=STUDY_MODELS, repeats=2, params={})
    built = LabeledStudy(study_id)
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(STUDY_MODELS):
            for repeat in range(2):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                status = "error" if (model, index) == ("m:c", 3) else "ok"
                store.finish_generation(gid, status, output_text=f"{model} {index} {repeat}")
                built.answers.append(
                    {"id": gid, "item_id": item.item_id, "index": index, "model": model}
                    | {"repeat": repeat, "status": status}
                )
    relevances = ["relevant", "partial", "irrelevant"]
    ok = [a for a in built.answers if a["status"] == "ok"]
    for n, answer in enumerate(ok):
        quality = {"m:a": 0, "m:b": 1, "m:c": 2}[answer["model"]]
        ana = relevances[(quality + (n % 5 == 0)) % 3]
        built.labels.append((answer["id"], "ana", ana))
        if n % 2 == 0:
            bob = relevances[(quality + (n % 3 == 0)) % 3]
            built.labels.append((answer["id"], "bob", bob))
    first = ok[0]["id"]
    built.labels.append((first, "ana", "irrelevant"))  # a relabel: only the latest counts
    for gid, who, relevance in built.labels:
        store.add_label(gid, relevance, annotator=who)
    run_id = store.create_run("vlm", "Question 0?")
    outside = store.add_generation(run_id, "m:c")
    store.finish_generation(outside, "ok", output_text="outside")
    store.add_label(outside, "relevant", annotator="ana")
    return built


# The same model on two hosts, a hub id behind an OpenAI-compatible server, and OCR: the
# report once cut their names in its chart to "1", "1" and "us".
SPECS = [
    "ollama:qwen2.5vl:7b@http://gpu-a.internal:11434",
    "ollama:qwen2.5vl:7b@http://gpu-b.internal:11434",
    "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1",
    "ocr:eng+rus",
]

SHORT = [
    "qwen2.5vl:7b @ gpu-a",
    "qwen2.5vl:7b @ gpu-b",
    "Qwen2-VL-7B-Instruct",
    "ocr:eng+rus",
]


def build_long_specs(store: Store, specs: list[str] = SPECS) -> int:
    """A two-item study of `specs`, every answer labeled by two annotators, the first model
    best."""
    question_set = QuestionSet(name="support-screenshots", kind="vlm", source="test")
    question_set.items = [
        SetItemRow(position=0, text="What does the error say?", reference="Payment declined.",
                   tags=["billing"]),
        SetItemRow(position=1, text="Which button should I press?", reference="Retry.",
                   tags=["billing"]),
    ]  # fmt: skip
    with store.session() as session:
        session.add(question_set)
        session.flush()
        set_id = question_set.id
    study_id = create_study(store, set_id=set_id, models=specs, repeats=1, params={"seed": 2})
    plan = load_plan(store, study_id)
    for position, model in enumerate(specs):
        for item in plan.items:
            gid = claim(store, study_id, item, model, 0, position=position, seed=2)
            assert gid is not None
            store.finish_generation(
                gid, "ok", output_text=f"answer {position}", total_s=1.0, output_tokens=3
            )
            store.add_label(gid, "relevant" if position == 0 else "partial", annotator="ana")
            store.add_label(gid, "relevant" if position < 2 else "irrelevant", annotator="bo")
    return study_id


HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


def build_report_study(store: Store) -> int:
    """A two-item study with an image, a good and a bad model (one answer is HOSTILE markup),
    labeled by ana and bo."""
    media = MediaStore(load_settings().home / "media")
    image = media.put(png_bytes((400, 300), text="err"), ".png")
    question_set = QuestionSet(name="shots", kind="vlm", source="test")
    question_set.items = [
        SetItemRow(position=0, text="What does it say?", image_hash=image,
                   reference="Payment declined.", language="en", tags=["error"]),
        SetItemRow(position=1, text="Which button?", reference="Retry.", language="en", tags=[]),
    ]  # fmt: skip
    with store.session() as session:
        session.add(question_set)
        session.flush()
        set_id = question_set.id
    models = ["m:good", "m:bad"]
    study_id = create_study(store, set_id=set_id, models=models, repeats=1, params={"seed": 2})
    plan = load_plan(store, study_id)
    texts = {"m:good": ["Payment declined.", "Retry."], "m:bad": [HOSTILE, "Cancel."]}
    for position, model in enumerate(models):
        for item, answer in zip(plan.items, texts[model], strict=True):
            gid = claim(store, study_id, item, model, 0, position=position, seed=2)
            assert gid is not None
            store.finish_generation(gid, "ok", output_text=answer, total_s=1.0, output_tokens=3)
            relevance = "relevant" if model == "m:good" else "irrelevant"
            store.add_label(gid, relevance, annotator="ana")
            store.add_label(gid, "relevant" if model == "m:good" else "partial", annotator="bo")
    return study_id


# Probes --------------------------------------------------------------------------------------


@contextmanager
def counted_statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement run on the store meanwhile, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def build_compared_studies(store: Store, items: int = 6) -> tuple[int, int]:
    """Two finished studies of one VLM set of `items` questions with references, model m:x in
    both, one answer each, every answer labeled by ana: the baseline answers every item with
    its reference (relevant), the candidate gets item 0 wrong (irrelevant) and item 1 half
    (partial). Returns (baseline id, candidate id)."""
    rows = [(f"Question {n}?", f"alpha beta gamma delta {n}") for n in range(items)]
    set_id = make_set(store, "compared", "vlm", rows)
    ids = []
    for wrong in ({}, {0: ("zeta", "irrelevant"), 1: ("alpha beta", "partial")}):
        study_id = create_study(store, set_id=set_id, models=["m:x"], repeats=1, params={})
        for item in load_plan(store, study_id).items:
            gid = claim(store, study_id, item, "m:x", 0, position=0, seed=None)
            assert gid is not None
            text, relevance = wrong.get(item.position, (item.reference or "", "relevant"))
            store.finish_generation(gid, "ok", output_text=text)
            store.add_label(gid, relevance, annotator="ana")
        finish_study(store, study_id, STUDY_DONE)
        ids.append(study_id)
    return ids[0], ids[1]


# Agreement with a chosen model: a quantisation ladder.
FULL, INT8, INT4 = "m:full", "m:int8", "m:int4"
CHOSEN_TEXT = "alpha beta gamma delta"


def ladder_text(model: str, item: int, repeat: int) -> str | None:
    """None: the answer failed."""
    if model == INT8 and (item, repeat) == (0, 1):
        return "alpha beta"  # LCS 2 of 2 and 5 tokens: P 1, R 2/5, F1 0.8/1.4 = 4/7
    if model == INT4 and item in (0, 1):
        return "zeta"  # nothing in common: 0
    if model == INT4 and (item, repeat) == (4, 0):
        return None
    return f"{CHOSEN_TEXT} {item}"


def build_ladder_study(store: Store) -> int:
    """A quantisation ladder: m:full (chosen), m:int8 and m:int4 on 5 items x 2 repeats
    (texts: ladder_text), decode rates 10/15/20 tokens/s + repeat. Returns the study id."""
    set_id = make_set(store, "ladder", "vlm", [(f"Q{n}?", None) for n in range(5)])
    models = [FULL, INT8, INT4]
    study_id = create_study(store, set_id=set_id, models=models, repeats=2, params={})
    rates = {FULL: 10.0, INT8: 15.0, INT4: 20.0}
    for item in load_plan(store, study_id).items:
        for position, model in enumerate(models):
            for repeat in range(2):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                text = ladder_text(model, item.position, repeat)
                if text is None:
                    store.finish_generation(gid, "error", error="out of memory")
                    continue
                store.finish_generation(
                    gid,
                    "ok",
                    output_text=text,
                    output_tokens=10,
                    total_s=1.0,
                    ttft_s=0.1,
                    tokens_per_s=rates[model] + repeat,
                )
    finish_study(store, study_id, STUDY_DONE)
    return study_id


# Per model, per item, the two annotators' labels of its one answer (build_pairs_study).
# ORDERED: on every item A (1.0) > B (0.5 or 0.75) > C (0 or 0.25), so every resample orders
# A > B > C; IDENTICAL: two models with the same labels on every item.
R, P, I = "relevant", "partial", "irrelevant"  # noqa: E741
ORDERED = {
    "m:A": [(R, R)] * 12,
    "m:B": [(R, I) if n % 2 == 0 else (R, P) for n in range(12)],
    "m:C": [(P, I) if n % 3 == 0 else (I, I) for n in range(12)],
}
# CHAMPION: m:champ's labels are all relevant, the others' never: it wins every battle.
CHAMPION = {
    "m:champ": [(R, R)] * 8,
    "m:mid": [(P, P) if n % 2 else (I, P) for n in range(8)],
    "m:low": [(I, I) if n % 3 else (P, I) for n in range(8)],
}
IDENTICAL = {
    "m:same-1": [(R, P) if n % 2 else (I, R) for n in range(8)],
    "m:same-2": [(R, P) if n % 2 else (I, R) for n in range(8)],
}


def build_pairs_study(
    store: Store, labels: dict[str, list[tuple[str, ...]]], name: str = "pairs"
) -> int:
    """A study of `labels`' models, one repeat, each answer labeled as given: its labels in
    order by ana, then bo (none for an empty tuple), over a set named `name`; its id."""
    n_items = len(next(iter(labels.values())))
    set_id = make_set(store, name, "vlm", [(f"Question {n}?", None) for n in range(n_items)])
    models = list(labels)
    study_id = create_study(store, set_id=set_id, models=models, repeats=1, params={})
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(models):
            gid = claim(store, study_id, item, model, 0, position=position, seed=None)
            assert gid is not None
            store.finish_generation(gid, "ok", output_text=f"{model} {index}")
            given = labels[model][index]
            assert len(given) <= 2, given
            for annotator, relevance in zip(("ana", "bo"), given, strict=False):
                store.add_label(gid, relevance, annotator=annotator)
    return study_id
