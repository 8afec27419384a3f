"""Write Lineup's sample photos, support-app screenshots and question sets into sample_media/.

Everything drawn comes from sample_media/questions.json, so the texts a test looks for are the
texts on the images. The question sets under sample_media/sets/ are built from the same
catalogue (plus the few questions and sentences below), each an importable folder holding its
set file and its own copy of its images. Run it as often as you like: a file is rewritten only
when its bytes change.

    python scripts/make_samples.py [--out DIR] [--questions FILE] [--font-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

REPO_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_DIR / "sample_media"
QUESTIONS_FILE = "questions.json"

FONT_PACKAGE = "fonts-dejavu-core"
FONT_FILE = "DejaVuSans.ttf"
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/dejavu",  # openSUSE, older Fedora
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
    "~/Library/Fonts",
    "/Library/Fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)

JPEG_QUALITY = 90
FILE_MODE = 0o644

# Colours of a plain Material-like support app.
BACKGROUND = "#F2F3F5"
SURFACE = "#FFFFFF"
DIVIDER = "#E0E3E7"
TEXT = "#202124"
TEXT_MUTED = "#5F6368"
ERROR_RED = "#D93025"
ACTION_BLUE = "#1A73E8"
CODE_BACKGROUND = "#F1F3F4"


# The question sets, one folder each under sets/ (see lineup.question_sets for the format).
SETS_DIR = "sets"
PHOTO_STUDY = "photo-study"
SCREENSHOT_SET = "support-screenshots"
VOICE_SET = "voice-sentences"
RUSSIAN_VOICE_SET = "voice-sentences-ru"
PHOTO_STUDY_QUESTIONS = 3
# The third question for the photos that have two in the catalogue: every photo of the study
# gets two English questions and one Russian.
PHOTO_STUDY_EXTRA_QUESTIONS = {
    "photos/cat.jpg": "Что за животное на фотографии и что оно делает?",
    "photos/rocket.jpg": "Что изображено на фотографии и где это происходит?",
    "photos/hubble_deep_field.jpg": "Что видно на этом снимке?",
}
# Tag of each screen's topic, by its name without the language suffix.
SCREEN_TOPICS = {"payment_failed": "payment", "order_cancelled": "order", "server_error": "server"}
# Six English sentences in the style of a Bark TTS evaluation: names, numbers, times, money, a
# question, an exclamation and pauses; each with its tags.
VOICE_SENTENCES = (
    ("Hello, my name is Olivia, and I'll be your guide today.", "names"),
    ("The train to Edinburgh leaves at 7:45 from platform 12.", "numbers;time;names"),
    ("Did you remember to call Dr. Nakamura before Friday?", "question;names;abbreviation"),
    (
        "Your total comes to $1,249.99, including tax, shipping and a 15% discount.",
        "numbers;money;punctuation",
    ),
    ("Wait... are you serious? That's amazing!", "question;punctuation;emotion"),
    ("In 1969, Neil Armstrong and Buzz Aldrin walked on the Moon.", "numbers;year;names"),
)
# Eight Russian sentences: numbers (a number, a percentage), ё in several words (its WER reads
# ё as е), a question and exclamations; each with its tags.
RUSSIAN_VOICE_SENTENCES = (
    ("Привет! Сегодня 10 градусов тепла.", "numbers;exclamation"),
    ("Вы ещё не получили заказ номер 4021?", "question;numbers;yo"),
    ("Платёж отклонён: банк не подтвердил операцию.", "yo;punctuation"),
    ("Скидка 15% действует до конца недели.", "numbers;percent"),
    ("Поезд до Новосибирска отправляется с платформы 3.", "numbers;names"),
    ("Ёжик нашёл в лесу жёлтый лист.", "yo"),
    ("Какой чудесный день! Пойдём гулять?", "question;exclamation;emotion;yo"),
    ("Перезвоните нам, пожалуйста, завтра утром.", "punctuation"),
)
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


class FontNotFoundError(RuntimeError):
    pass


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path
    mono: Path


def find_fonts(font_dir: Path | None = None) -> FontFiles:
    """DejaVu Sans (it has Cyrillic), from `font_dir`, the usual folders, or fontconfig."""
    candidates = [Path(font_dir)] if font_dir else []
    candidates += [Path(folder).expanduser() for folder in FONT_DIRS]
    for folder in candidates:
        if (folder / FONT_FILE).is_file():
            return _font_family(folder / FONT_FILE)
    fc_match = shutil.which("fc-match")
    if fc_match and not font_dir:
        result = subprocess.run(
            [fc_match, "--format=%{file}", "DejaVu Sans"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        # fc-match always answers with some font; only DejaVu Sans itself is known to fit.
        matched = Path(result.stdout.strip())
        if matched.name == FONT_FILE and matched.is_file():
            return _font_family(matched)
    looked_in = ", ".join(str(folder) for folder in candidates)
    raise FontNotFoundError(
        f"No {FONT_FILE} found; the sample screenshots need a font with Cyrillic letters. "
        f"Install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}), "
        f"or pass --font-dir DIR with {FONT_FILE} in it. Looked in: {looked_in}."
    )


def _font_family(regular: Path) -> FontFiles:
    def sibling(name: str) -> Path:
        path = regular.with_name(name)
        return path if path.is_file() else regular

    return FontFiles(
        regular=regular, bold=sibling("DejaVuSans-Bold.ttf"), mono=sibling("DejaVuSansMono.ttf")
    )


class Canvas:
    """Draws in logical pixels (as a designer would), rendered `scale` times larger."""

    def __init__(self, name: str, width: int, height: int, scale: float, fonts: FontFiles) -> None:
        self.name = name
        self.scale = scale
        self.fonts = fonts
        self.image = Image.new("RGB", (round(width * scale), round(height * scale)), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        self._font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    def font(self, weight: str, size: int) -> ImageFont.FreeTypeFont:
        key = (weight, size)
        if key not in self._font_cache:
            path = getattr(self.fonts, weight)
            self._font_cache[key] = ImageFont.truetype(str(path), round(size * self.scale))
        return self._font_cache[key]

    def box(
        self,
        left: float,
        top: float,
        right: float,
        bottom: float,
        fill: str,
        radius: float = 0,
        outline: str | None = None,
    ) -> None:
        s = self.scale
        self.draw.rounded_rectangle(
            (left * s, top * s, right * s, bottom * s),
            radius=radius * s,
            fill=fill,
            outline=outline,
            width=max(1, round(s)),
        )

    def circle(self, x: float, y: float, radius: float, fill: str) -> None:
        s = self.scale
        self.draw.ellipse(
            ((x - radius) * s, (y - radius) * s, (x + radius) * s, (y + radius) * s), fill=fill
        )

    def line(self, points: Sequence[tuple[float, float]], fill: str, width: float = 1) -> None:
        s = self.scale
        self.draw.line(
            [(x * s, y * s) for x, y in points],
            fill=fill,
            width=max(1, round(width * s)),
            joint="curve",
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: int,
        weight: str = "regular",
        fill: str = TEXT,
        anchor: str = "lm",
        max_width: float,
    ) -> None:
        """Draw `text`; refuse (rather than clip) a text wider than `max_width`."""
        font = self.font(weight, size)
        width = self.draw.textlength(text, font=font) / self.scale
        if width > max_width:
            raise ValueError(
                f"{self.name}: {text!r} is {width:.0f} px wide but only {max_width:.0f} px fit; "
                f"shorten it in {QUESTIONS_FILE}."
            )
        self.draw.text((x * self.scale, y * self.scale), text, font=font, fill=fill, anchor=anchor)

    def alert_icon(self, x: float, y: float, radius: float) -> None:
        # Drawn as shapes, not a "!" glyph, so OCR finds only the texts listed in the catalogue.
        self.circle(x, y, radius, SURFACE)
        self.box(
            x - radius * 0.12, y - radius * 0.6, x + radius * 0.12, y + radius * 0.15, ERROR_RED
        )
        self.circle(x, y + radius * 0.45, radius * 0.13, ERROR_RED)

    def png_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


def draw_phone_screen(name: str, texts: dict[str, Any], fonts: FontFiles) -> bytes:
    """A 390x844 phone screen at 2x: status bar, header, red banner, card, code, button."""
    width, height = 390, 844
    canvas = Canvas(name, width, height, 2, fonts)

    # Status bar and header, one white strip.
    canvas.box(0, 0, width, 96, SURFACE)
    canvas.text(28, 22, texts["status"], size=15, weight="bold", max_width=80)
    for bar in range(4):
        bar_height = 4 + bar * 2.5
        canvas.box(300 + bar * 6, 27 - bar_height, 304 + bar * 6, 27, TEXT, radius=1)
    canvas.box(334, 16, 358, 28, SURFACE, radius=3, outline=TEXT)
    canvas.box(336, 18, 352, 26, TEXT, radius=1.5)
    canvas.box(359, 20, 361, 24, TEXT, radius=1)
    canvas.line([(30, 60), (22, 70), (30, 80)], TEXT, width=2.5)
    canvas.text(width / 2, 70, texts["header"], size=17, weight="bold", anchor="mm", max_width=280)
    canvas.line([(0, 96), (width, 96)], DIVIDER)

    # Red error banner.
    canvas.box(16, 112, width - 16, 168, ERROR_RED, radius=12)
    canvas.alert_icon(44, 140, 12)
    canvas.text(68, 140, texts["banner"], size=17, weight="bold", fill=SURFACE, max_width=290)

    # Card with the order, the explanation and the error code.
    body_top = 262
    line_step = 28
    code_top = body_top + line_step * (len(texts["body"]) - 1) + 30
    card_bottom = code_top + 36 + 20
    canvas.box(16, 184, width - 16, card_bottom, SURFACE, radius=16)
    canvas.text(36, 214, texts["title"], size=20, weight="bold", max_width=318)
    canvas.line([(36, 238), (width - 36, 238)], DIVIDER)
    for index, body_line in enumerate(texts["body"]):
        canvas.text(36, body_top + index * line_step, body_line, size=16, max_width=318)
    canvas.box(36, code_top, width - 36, code_top + 36, CODE_BACKGROUND, radius=8)
    canvas.text(
        48, code_top + 18, texts["code"], size=14, weight="mono", fill=TEXT_MUTED, max_width=294
    )

    # Main action and the home indicator.
    canvas.box(16, 748, width - 16, 800, ACTION_BLUE, radius=14)
    canvas.text(
        width / 2,
        774,
        texts["button"],
        size=17,
        weight="bold",
        fill=SURFACE,
        anchor="mm",
        max_width=330,
    )
    canvas.box(width / 2 - 67, 826, width / 2 + 67, 831, TEXT, radius=2.5)
    return canvas.png_bytes()


def draw_web_page(name: str, texts: dict[str, Any], fonts: FontFiles) -> bytes:
    """A 1280x800 browser window showing a site's error page."""
    width, height = 1280, 800
    canvas = Canvas(name, width, height, 1, fonts)

    # Browser chrome: window buttons, a tab, navigation arrows and the address bar.
    canvas.box(0, 0, width, 44, "#DEE1E6")
    for index, colour in enumerate(("#FF5F57", "#FEBC2E", "#28C840")):
        canvas.circle(20 + index * 20, 22, 6, colour)
    canvas.box(90, 8, 330, 52, SURFACE, radius=8)
    canvas.circle(112, 26, 7, ACTION_BLUE)
    canvas.box(0, 44, width, 90, SURFACE)
    canvas.line([(30, 59), (23, 67), (30, 75)], TEXT_MUTED, width=2)
    canvas.line([(54, 59), (61, 67), (54, 75)], DIVIDER, width=2)
    canvas.box(110, 52, width - 40, 82, CODE_BACKGROUND, radius=15)
    canvas.box(128, 65, 138, 73, TEXT_MUTED, radius=1)
    canvas.box(130, 59, 136, 68, CODE_BACKGROUND, radius=3, outline=TEXT_MUTED)
    canvas.text(150, 67, texts["status"], size=16, fill=TEXT, max_width=900)
    canvas.line([(0, 90), (width, 90)], DIVIDER)

    # The site's own header.
    canvas.box(0, 91, width, 154, SURFACE)
    canvas.box(40, 106, 80, 140, ACTION_BLUE, radius=8)
    canvas.text(96, 123, texts["header"], size=22, weight="bold", max_width=600)
    canvas.circle(width - 60, 123, 18, DIVIDER)
    canvas.line([(0, 154), (width, 154)], DIVIDER)

    # Red error banner.
    canvas.box(40, 176, width - 40, 232, ERROR_RED, radius=10)
    canvas.alert_icon(72, 204, 13)
    canvas.text(98, 204, texts["banner"], size=20, weight="bold", fill=SURFACE, max_width=1100)

    # Error card: status code, explanation, error code, action.
    card_left, card_right = 340, 940
    centre = width / 2
    body_top = 440
    line_step = 34
    code_top = body_top + line_step * (len(texts["body"]) - 1) + 40
    button_top = code_top + 40 + 32
    card_bottom = button_top + 52 + 40
    canvas.box(card_left, 264, card_right, card_bottom, SURFACE, radius=16)
    canvas.text(
        centre,
        350,
        texts["title"],
        size=96,
        weight="bold",
        fill="#3C4043",
        anchor="mm",
        max_width=520,
    )
    for index, body_line in enumerate(texts["body"]):
        canvas.text(
            centre, body_top + index * line_step, body_line, size=20, anchor="mm", max_width=520
        )
    canvas.box(centre - 180, code_top, centre + 180, code_top + 40, CODE_BACKGROUND, radius=8)
    canvas.text(
        centre,
        code_top + 20,
        texts["code"],
        size=16,
        weight="mono",
        fill=TEXT_MUTED,
        anchor="mm",
        max_width=340,
    )
    canvas.box(centre - 140, button_top, centre + 140, button_top + 52, ACTION_BLUE, radius=10)
    canvas.text(
        centre,
        button_top + 26,
        texts["button"],
        size=18,
        weight="bold",
        fill=SURFACE,
        anchor="mm",
        max_width=260,
    )
    return canvas.png_bytes()


LAYOUTS = {"phone": draw_phone_screen, "web": draw_web_page}


def photo_jpeg(source: str) -> bytes:
    """One of scikit-image's bundled photographs (skimage.data.<source>) as a JPEG."""
    try:
        import skimage.data
    except ImportError as exc:
        raise RuntimeError(
            "The sample photos come from scikit-image; install it with `pip install scikit-image`."
        ) from exc
    loader = getattr(skimage.data, source, None)
    if loader is None:
        raise ValueError(f"skimage.data has no image called {source!r}.")
    image = Image.fromarray(loader()).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def render(name: str, entry: dict[str, Any], fonts: FontFiles | None) -> bytes:
    kind = entry.get("kind")
    if kind == "photo":
        return photo_jpeg(entry["source"])
    if kind == "screenshot":
        layout = LAYOUTS.get(entry.get("layout", ""))
        if layout is None:
            raise ValueError(f"{name}: layout must be one of {sorted(LAYOUTS)}.")
        return layout(name, entry["texts"], fonts or find_fonts())
    raise ValueError(f"{name}: kind must be 'photo' or 'screenshot', not {kind!r}.")


@dataclass(frozen=True)
class QuestionSet:
    """One folder under sets/: its set file and the catalogue images it holds a copy of."""

    folder: str
    set_file: str
    data: bytes
    images: tuple[str, ...]


def question_language(text: str) -> str:
    """The language of one of the catalogue's questions: they are Russian or English."""
    return "ru" if CYRILLIC.search(text) else "en"


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def question_sets(catalogue: dict[str, dict[str, Any]]) -> list[QuestionSet]:
    """The shipped sets: the photo study, the support screenshots with reference answers, and
    the voice sentences in English and in Russian. A catalogue without photos (or
    screenshots) has no set of them."""
    sets = []
    photos = [name for name, entry in catalogue.items() if entry.get("kind") == "photo"]
    if photos:
        rows = []
        for name in photos:
            questions = list(catalogue[name]["questions"])
            if len(questions) < PHOTO_STUDY_QUESTIONS and name in PHOTO_STUDY_EXTRA_QUESTIONS:
                questions.append(PHOTO_STUDY_EXTRA_QUESTIONS[name])
            for question in questions[:PHOTO_STUDY_QUESTIONS]:
                tags = f"photo;{Path(name).stem}"
                rows.append([name, question, question_language(question), tags])
        data = csv_bytes(["image", "question", "language", "tags"], rows)
        sets.append(QuestionSet(PHOTO_STUDY, "questions.csv", data, tuple(photos)))

    screenshots = [name for name, entry in catalogue.items() if entry.get("kind") == "screenshot"]
    if screenshots:
        rows = []
        for name in screenshots:
            entry = catalogue[name]
            questions = entry["questions"]
            references = entry.get("references", [""] * len(questions))
            if len(references) != len(questions):
                raise ValueError(
                    f"{name}: {len(questions)} questions but {len(references)} references; "
                    f"give one reference answer per question in {QUESTIONS_FILE}."
                )
            screen = Path(name).stem.removesuffix(f"_{entry['language']}")
            tags = f"screenshot;{SCREEN_TOPICS.get(screen, screen)};{entry.get('layout', '')}"
            for question, reference in zip(questions, references, strict=True):
                rows.append([name, question, reference, question_language(question), tags])
        data = csv_bytes(["image", "question", "reference", "language", "tags"], rows)
        sets.append(QuestionSet(SCREENSHOT_SET, "questions.csv", data, tuple(screenshots)))

    rows = [[sentence, "en", tags] for sentence, tags in VOICE_SENTENCES]
    data = csv_bytes(["text", "language", "tags"], rows)
    sets.append(QuestionSet(VOICE_SET, "sentences.csv", data, ()))
    rows = [[sentence, "ru", tags] for sentence, tags in RUSSIAN_VOICE_SENTENCES]
    data = csv_bytes(["text", "language", "tags"], rows)
    sets.append(QuestionSet(RUSSIAN_VOICE_SET, "sentences.csv", data, ()))
    return sets


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write atomically, and only when the bytes differ; True if the file was written."""
    if path.is_file() and path.read_bytes() == data:
        path.chmod(FILE_MODE)  # an earlier version left files readable by their owner only
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates the file as 0600; the app may run as another user than set-up did.
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def generate(
    out_dir: Path = SAMPLE_DIR,
    questions_path: Path | None = None,
    font_dir: Path | None = None,
) -> list[Path]:
    """Write every sample listed in the catalogue under `out_dir`; return the files written.

    When `out_dir` is not the catalogue's own folder, the catalogue is copied there too, so the
    folder is a complete sample set for lineup.samples.list_samples. The question sets go to
    `out_dir`/sets/, each folder with its own copy of its images.
    """
    out_dir = Path(out_dir)
    questions_path = Path(questions_path) if questions_path else SAMPLE_DIR / QUESTIONS_FILE
    catalogue_bytes = questions_path.read_bytes()
    catalogue: dict[str, dict[str, Any]] = json.loads(catalogue_bytes.decode("utf-8"))

    needs_font = any(entry.get("kind") == "screenshot" for entry in catalogue.values())
    fonts = find_fonts(font_dir) if needs_font else None

    written = []
    catalogue_copy = out_dir / QUESTIONS_FILE
    if catalogue_copy.resolve() != questions_path.resolve():
        if write_if_changed(catalogue_copy, catalogue_bytes):
            written.append(catalogue_copy)
    rendered = {}
    for name, entry in catalogue.items():
        rendered[name] = render(name, entry, fonts)
        target = out_dir / name
        if write_if_changed(target, rendered[name]):
            written.append(target)
    for question_set in question_sets(catalogue):
        folder = out_dir / SETS_DIR / question_set.folder
        files = [(folder / question_set.set_file, question_set.data)]
        # A copy, not a link to ../photos: the folder must import (and zip) on its own.
        files += [(folder / image, rendered[image]) for image in question_set.images]
        for target, data in files:
            if write_if_changed(target, data):
                written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="folder to write into")
    parser.add_argument(
        "--questions", type=Path, default=None, help="the catalogue (default: sample_media's)"
    )
    parser.add_argument("--font-dir", type=Path, default=None, help=f"folder with {FONT_FILE}")
    args = parser.parse_args(argv)
    try:
        written = generate(args.out, args.questions, args.font_dir)
    except (RuntimeError, ValueError, OSError) as exc:  # FontNotFoundError is a RuntimeError
        print(f"make_samples: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(f"{len(written)} file(s) written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
