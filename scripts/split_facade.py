"""Split the facade into a small root and its parts, and rewrite every caller (a codemod).

    .venv/bin/python scripts/split_facade.py            # split and rewrite, then ruff
    .venv/bin/python scripts/split_facade.py --dry-run  # only check the tables against facade.py

It reads lineup/app/facade.py while that is still one class `Lineup` with every method, and
writes:
- lineup/app/part.py: `Part`, the base of every part (it holds the root and reads the root's
  fields), and the module-level words facade.py defined (INPUT_ERRORS, RunKind, ...);
- lineup/app/<part>.py: one class per part (app.compare, app.studies, ...) with the methods the
  tables below give it, renamed as they say, their `self.x` rewritten to where x now lives;
- lineup/app/facade.py: the root, `Lineup`, with its fields, a cached property per part and the
  few methods the root keeps.
Then it rewrites the callers (pages, components, CLI, bench, tests, testbed, scripts, docs):
`app.start_vlm(` becomes `app.compare.vlm(`, by one regex whose alternatives are the old names,
longest first, on the receivers the callers use; imports of lineup.app.facade go to the module
that now holds each name; and the MANUAL_FIXES below (monkeypatches of facade methods, a chained
call). Last, `ruff check --fix --select I` and `ruff format` on every file it wrote.

Every method of the class must be in a table: a method it does not know (one another branch
added, or renamed) stops it before it writes anything, with the names, so that the tables are
completed and the script run again; nothing is dropped silently. A table entry whose method is
gone from facade.py is reported and skipped. A manual fix whose text is no longer found stops it
too. It refuses a facade that is already split.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "lineup" / "app"
FACADE = APP / "facade.py"


@dataclass(frozen=True)
class PartSpec:
    module: str  # lineup/app/<module>.py
    cls: str
    title: str  # the root's property docstring
    doc: str  # the class docstring (also the module's first line)
    methods: dict[str, str]  # old name on Lineup -> new name on the part


# What the root keeps (old -> new). Everything else is in a part or in DROPPED.
ROOT: dict[str, str] = {
    "open": "open",
    "with_config": "with_config",
    "refreshed": "refreshed",
    "secrets": "secrets",
    "timeout": "timeout",
    "reap_orphans": "reap_orphans",
    "media_path": "media_path",
    "_stored_image": "stored_image",  # compare, studies and scores use it
}

# The parts, by the attribute of the root that holds each (app.<attribute>).
PARTS: dict[str, PartSpec] = {
    "compare": PartSpec(
        "compare",
        "Compare",
        "Comparisons of models on one input, and the runs stored.",
        "Comparisons: start one (VLMs on a question and image, voices on sentences), follow and\n"
        "stop it, start it again, and read the runs stored, with the figures of a voice run.",
        {
            "run": "run",
            "runs": "runs",
            "latest_runs": "latest",
            "active_comparison": "active",
            "in_progress": "in_progress",
            "cancel_run": "cancel",
            "read_image_file": "image_file",
            "validate_image": "image",
            "start_vlm": "vlm",
            "_start_vlm": "_vlm",
            "start_tts": "tts",
            "_start_tts": "_tts",
            "run_inputs": "inputs",
            "start_again": "rerun",
            "language_warnings": "language_warnings",
            "voice_figures": "voice_figures",
            "clip_summary": "clip_summary",
            "run_of": "run_of",
        },
    ),
    "studies": PartSpec(
        "studies",
        "Studies",
        "Studies of a set: run them, follow them, report them.",
        "Studies: start, resume, pause and cancel one; list them, follow their progress, and\n"
        "their tables, summary, export and report.",
        {
            "start_study": "start",
            "_start_study": "_start",
            "resume_study": "resume",
            "_run_study": "launch",  # scores starts a reference study with it
            "pause_study": "pause",
            "cancel_study": "cancel",
            "_ask_study": "_ask",
            "study": "get",
            "study_list": "latest",
            "study_progress": "progress",
            "reap_studies": "reap",
            "study_annotators": "annotators",
            "_resume": "_resume",
            "study_specs": "specs",
            "study_result": "result",
            "study_tables": "tables",
            "study_summary": "summary",
            "export_study": "export",
            "study_report": "report",
        },
    ),
    "scores": PartSpec(
        "scores",
        "Scores",
        "A study's reference model and its LLM judge.",
        "Scores of a study beyond the labels: its reference model, and the LLM judge (templates,\n"
        "checks, a judging run in the foreground or as a background job, its figures).",
        {
            "start_reference": "start_reference",
            "reference_of": "reference_of",
            "reference_summary": "reference_summary",
            "reference_answers": "reference_answers",
            "judge_template": "template",
            "set_judge_template": "set_template",
            "check_judge": "check_judge",
            "judge_study": "judge",
            "start_judging": "start_judging",
            "judging": "judging",
            "study_judges": "judges",
            "_store_key": "_store_key",
            "_check_scoring": "_check_scoring",
            "_check_reference": "_check_reference",
            "judge_figures": "judge_figures",
        },
    ),
    "catalog": PartSpec(
        "catalog",
        "Catalog",
        "What models there are and what a name stands for.",
        "What models there are and what a name stands for: backend kinds, endpoints, local and\n"
        "named models, the descriptions cache, and a spec or name checked and built.",
        {
            "kinds": "kinds",
            "endpoint_reports": "endpoint_reports",
            "local_models": "local_models",
            "named_models": "named_models",
            "forget_descriptions": "forget_descriptions",
            "make_backend": "make_backend",
            "_resolve": "resolve",
            "_voice_spec": "voice_spec",
            "_is_model_of": "is_model_of",
            "_check_models": "check_models",
            "_modality": "modality",
            "_lane": "lane",
            "resolve": "resolve",
            "model_label": "model_label",
            "_resolve_all": "resolve_all",
            "_resolved_or_none": "resolved_or_none",
        },
    ),
    "sets": PartSpec(
        "sets",
        "Sets",
        "Question sets, stored and shipped.",
        "Question sets: import one (a path, an upload or a set that ships with Lineup), and the\n"
        "sets stored.",
        {
            "import_set": "import_path",
            "import_set_upload": "import_upload",
            "shipped_sets": "shipped",
            "import_shipped_set": "import_shipped",
            "sets": "stored",
            "question_set": "get",
        },
    ),
    "labels": PartSpec(
        "labels",
        "Labels",
        "Labels, the labeling queue and the arena's votes.",
        "What people say of the answers: labels and the labeling queue, and the arena's pairwise\n"
        "votes.",
        {
            "add_label": "add",
            "current_labels": "current",
            "label_queue": "queue",
            "queue_item": "queue_item",
            "arena_queue": "arena_queue",
            "arena_view": "arena_view",
            "add_vote": "vote",
        },
    ),
    "leaderboard": PartSpec(
        "leaderboard",
        "Leaderboard",
        "The leaderboards, their filters' choices and the raw exports.",
        "The leaderboards over the whole store, their filters' choices, and the raw exports.",
        {
            "leaderboard": "rows",
            "leaderboard_filter_choices": "choices",
            "export_columns": "export_columns",
            "export_count": "export_count",
            "export_rows": "export_rows",
        },
    ),
}

# Methods deleted, with why.
DROPPED: dict[str, str] = {
    "arena_ranking": "no caller: pages and the CLI read the ranking from the study's tables",
}

# Module-level definitions of facade.py: they move to part.py (renamed as given), where the root
# and every part import them.
WORDS: dict[str, str] = {
    "RunKind": "RunKind",
    "MAX_REPEATS": "MAX_REPEATS",
    "ExportTable": "ExportTable",
    "INPUT_ERRORS": "INPUT_ERRORS",
    "read_keys_from": "read_keys_from",
    "_request_key": "request_key",
}

# Words in the moved docstrings and comments that name a method by its old name.
DOC_FIXES: list[tuple[str, str]] = [
    ("Labels are written with `add_label`.", "Labels are written with `labels.add`."),
    ("as in `start_vlm`", "as in `vlm`"),
    ("(see `judge_study`, whose", "(see `judge`, whose"),
    (
        "def launch(self, study_id: int) -> StudyRun:\n",
        "def launch(self, study_id: int) -> StudyRun:\n"
        '    """Run a stored study in this process, which owns it already."""\n',
    ),
    (
        "def stored_image(self, digest: str) -> ValidatedImage:\n",
        "def stored_image(self, digest: str) -> ValidatedImage:\n"
        '    """A stored image, by its hash, validated as an upload is."""\n',
    ),
]

# Exact text replacements in callers, applied before the regexes (what a regex cannot know:
# monkeypatches of a facade method on the class, a call chained over a line break). Each must
# still be found, or the script stops and names it.
CATALOG_IMPORT = "from lineup.app.catalog import Catalog\n"
STUDIES_IMPORT = "from lineup.app.studies import Studies\n"
CHECK_MODELS_FIX = [
    ("check = Lineup._resolve_all", "check = Catalog.resolve_all"),
    ("def counting(self: Lineup,", "def counting(self: Catalog,"),
    (
        'monkeypatch.setattr(Lineup, "_resolve_all", counting)',
        'monkeypatch.setattr(Catalog, "resolve_all", counting)',
    ),
]
MANUAL_FIXES: dict[str, tuple[list[tuple[str, str]], str | None]] = {
    # file: (replacements, an import line to add after `from lineup.app.facade import ...`)
    "tests/pages/test_facade_door.py": (CHECK_MODELS_FIX, CATALOG_IMPORT),
    "tests/unit/test_cli.py": (CHECK_MODELS_FIX, CATALOG_IMPORT),
    "tests/pages/test_study_scores_page.py": (
        [
            ("def no_summary(self: Lineup,", "def no_summary(self: Studies,"),
            (
                'monkeypatch.setattr(Lineup, "study_summary", no_summary)',
                'monkeypatch.setattr(Studies, "summary", no_summary)',
            ),
        ],
        STUDIES_IMPORT,
    ),
    "tests/unit/test_start_once.py": (
        [
            (
                "app.with_config(app.config)\n        .start_vlm(",
                "app.with_config(app.config)\n        .compare.vlm(",
            )
        ],
        None,
    ),
}

# The expressions that hold a facade in the callers: variables, and a facade made or refreshed
# in place (`Lineup.open().sets()`, `app.refreshed().secrets()`).
RECEIVER = (
    r"(?P<recv>\b(?:_?app|fresh|raised)"
    r"|\bLineup\.open\((?:[^()]|\([^()]*\))*\)"
    r"|\bLineup"  # in prose: `Lineup.start_vlm` becomes `app.compare.vlm`
    r"|\.refreshed\(\))"
)
CALLER_GLOBS = [
    "app.py",
    "app_pages/**/*.py",
    "components/**/*.py",
    "lineup/**/*.py",
    "bench/**/*.py",
    "tests/**/*.py",
    "testbed/**/*.py",
    "scripts/**/*.py",
    "docs/**/*.md",
    "README.md",
]


class Stop(Exception):
    """Something the tables do not cover: the script writes nothing."""


# Reading facade.py ---------------------------------------------------------------------------


@dataclass
class Facade:
    source: str
    lines: list[str]
    imports: list[ast.stmt]
    words: dict[str, str]  # name -> its source text (comments above it included)
    cls: ast.ClassDef
    fields: list[tuple[str, str]]  # (name, annotation source)
    header: str  # the class's decorator, line, docstring and fields
    methods: dict[str, str]  # name -> source (decorators included), dedented


def read_facade() -> Facade:
    source = FACADE.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    imports: list[ast.stmt] = []
    words: dict[str, str] = {}
    cls: ast.ClassDef | None = None
    previous_end = 0
    unknown: list[str] = []
    for node in tree.body:
        text = "".join(lines[previous_end : node.end_lineno])
        previous_end = node.end_lineno or previous_end
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(node)
        elif isinstance(node, ast.ClassDef) and node.name == "Lineup":
            cls = node
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        else:
            name = _defined_name(node)
            if name in WORDS:
                words[name] = text.strip("\n") + "\n"
            else:
                unknown.append(name or ast.dump(node)[:60])
    if cls is None:
        raise Stop("lineup/app/facade.py has no class Lineup.")
    if unknown:
        raise Stop(
            "facade.py defines at module level what WORDS does not list: "
            + ", ".join(unknown)
            + ". Add each to WORDS (it goes to lineup/app/part.py)."
        )
    fields = [
        (n.target.id, ast.get_source_segment(source, n.annotation) or "")
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    ]
    functions = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
    if any(_is_cached_property(f) for f in functions):
        raise Stop("lineup/app/facade.py is split already (the root holds its parts).")
    first = functions[0]
    first_line = min([first.lineno] + [d.lineno for d in first.decorator_list])
    header_start = min([cls.lineno] + [d.lineno for d in cls.decorator_list])
    header = "".join(lines[header_start - 1 : first_line - 1]).rstrip() + "\n"
    header = re.sub(r"\n\s*# [^\n]*-{5,}\s*$", "\n", header)  # a section rule before the first
    methods = {}
    for function in functions:
        start = min([function.lineno] + [d.lineno for d in function.decorator_list])
        methods[function.name] = textwrap.dedent("".join(lines[start - 1 : function.end_lineno]))
    return Facade(source, lines, imports, words, cls, fields, header, methods)


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _is_cached_property(function: ast.FunctionDef) -> bool:
    return any("cached_property" in ast.unparse(d) for d in function.decorator_list)


# Where each method goes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    part: str | None  # None: the root
    name: str


def homes() -> dict[str, Home]:
    found: dict[str, Home] = {old: Home(None, new) for old, new in ROOT.items()}
    for attribute, spec in PARTS.items():
        for old, new in spec.methods.items():
            if old in found:
                raise Stop(f"{old} is in two tables.")
            found[old] = Home(attribute, new)
    return found


def check_tables(facade: Facade) -> list[str]:
    """Stop on a method no table knows; return the notes on table entries facade.py lacks."""
    known = homes()
    unknown = [m for m in facade.methods if m not in known and m not in DROPPED]
    if unknown:
        raise Stop(
            "Methods of Lineup that no table of scripts/split_facade.py knows: "
            + ", ".join(unknown)
            + ".\nAdd each to ROOT, to a part's methods in PARTS (old name -> new name) or to "
            "DROPPED (with why), then run the script again. Nothing was written."
        )
    clashes = set(PARTS) & {h.name for h in known.values() if h.part is None}
    if clashes:
        raise Stop(f"A root method would hide a part: {sorted(clashes)}.")
    notes = [
        f"note: {old} is in the tables but not in facade.py (skipped; its callers are left as "
        "they are)"
        for old in list(known) + list(DROPPED)
        if old not in facade.methods
    ]
    for attribute, spec in PARTS.items():
        new_names = [n for o, n in spec.methods.items() if o in facade.methods]
        if len(set(new_names)) != len(new_names):
            raise Stop(f"Two methods of {spec.cls} get the same name: {new_names}.")
        if attribute in facade.methods and attribute not in spec.methods:
            raise Stop(f"{attribute} is both a part and a method that stays.")
    return notes


# Rewriting a method --------------------------------------------------------------------------


def rewrite_method(source: str, part: str | None, facade: Facade, known: dict[str, Home]) -> str:
    """The method renamed for its new class, with every `self.x` pointing where x now lives
    (a field of the root, a method of this class, of the root or of another part)."""
    fields = {name for name, _ in facade.fields}
    tree = ast.parse(source)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(lineno: int, col: int) -> int:
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    edits: list[tuple[int, int, str]] = []
    old_name = function.name
    new_name = known[old_name].name
    def_line = lines[function.lineno - 1]
    def_col = def_line.index("def " + old_name) + 4
    def_at = at(function.lineno, 0) + def_col
    edits.append((def_at, def_at + len(old_name), new_name))
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in WORDS and WORDS[node.id] != node.id:
            start = at(node.lineno, node.col_offset)
            edits.append((start, start + len(node.id), WORDS[node.id]))
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            continue
        attr = node.attr
        if attr in fields:
            continue
        if attr in DROPPED:
            raise Stop(f"{old_name} uses self.{attr}, which DROPPED deletes.")
        if attr not in known:
            raise Stop(f"{old_name} uses self.{attr}, which no table knows.")
        home = known[attr]
        if home.part == part:
            target = f"self.{home.name}"
        elif part is None:
            target = f"self.{home.part}.{home.name}"
        elif home.part is None:
            target = f"self._app.{home.name}"
        else:
            target = f"self._app.{home.part}.{home.name}"
        start = at(node.lineno, node.col_offset)
        end = at(node.end_lineno or node.lineno, node.end_col_offset or 0)
        edits.append((start, end, target))
    text = source
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    for old, new in DOC_FIXES:
        text = text.replace(old, new)
    return text


# Writing the modules -------------------------------------------------------------------------


def used_names(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


def import_block(facade: Facade, code: str, extra: list[str]) -> str:
    """facade.py's imports that `code` uses (re-export aliases `x as x` made plain), then
    `extra` lines."""
    used = used_names(code)
    out = []
    for node in facade.imports:
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            kept = [a for a in node.names if (a.asname or a.name) in used]
            if kept:
                names = ", ".join(
                    a.name if a.asname in (None, a.name) else f"{a.name} as {a.asname}"
                    for a in kept
                )
                out.append(f"from {'.' * node.level}{node.module or ''} import {names}\n")
        else:
            assert isinstance(node, ast.Import)
            kept = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used]
            for a in kept:
                out.append(f"import {a.name}" + (f" as {a.asname}" if a.asname else "") + "\n")
    return "".join(out) + "".join(extra)


def words_import(code: str, also: tuple[str, ...] = ()) -> list[str]:
    used = used_names(code)
    names = sorted({w for w in WORDS.values() if w in used} | set(also))
    return [f"from lineup.app.part import {', '.join(names)}\n"] if names else []


def indent(text: str) -> str:
    return textwrap.indent(text, "    ", lambda line: line.strip() != "")


def module_text(doc: str, imports: str, body: str) -> str:
    return f'"""{doc}"""\n\nfrom __future__ import annotations\n\n{imports}\n\n{body}'


def write_part_base(facade: Facade) -> tuple[Path, str]:
    props = []
    for name, annotation in facade.fields:
        props.append(f"@property\ndef {name}(self) -> {annotation}:\n    return self._app.{name}\n")
    words = []
    for old, text in facade.words.items():
        new = WORDS[old]
        if new != old:
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        words.append(text)
    body = (
        "\n".join(words)
        + "\n\nclass Part:\n"
        + indent(
            '"""One part of the facade (app.compare, app.studies, ...): a group of its methods\n'
            "over the root's fields, which it reads from the root (a part lives as long as its\n"
            'root, which builds it on first use)."""\n\n'
            "def __init__(self, app: Lineup) -> None:\n    self._app = app\n\n" + "\n".join(props)
        )
    )
    imports = import_block(facade, body, [])
    imports = (
        "from typing import TYPE_CHECKING\n"
        + imports
        + "\nif TYPE_CHECKING:\n    from lineup.app.facade import Lineup\n"
    )
    doc = (
        "What the facade's parts share: their base, which reads the root's fields, and the\n"
        "words of the facade (the errors it raises as bad input, the kinds of run, the limits)."
    )
    return APP / "part.py", module_text(doc, imports, body)


def write_part(attribute: str, spec: PartSpec, facade: Facade, known: dict[str, Home]) -> str:
    methods = [
        rewrite_method(facade.methods[old], attribute, facade, known)
        for old in spec.methods  # in the table's order
        if old in facade.methods
    ]
    body = f"class {spec.cls}(Part):\n" + indent(f'"""{spec.doc}"""\n\n' + "\n".join(methods))
    if "Lineup" in used_names(body):
        raise Stop(f"{spec.cls} names Lineup: give it a TYPE_CHECKING import in the script.")
    imports = import_block(facade, body, words_import(body, ("Part",)))
    return module_text(spec.doc, imports, body)


def write_root(facade: Facade, known: dict[str, Home]) -> str:
    parts = []
    for attribute, spec in PARTS.items():
        parts.append(
            f"@cached_property\ndef {attribute}(self) -> {spec.cls}:\n"
            f'    """{spec.title}"""\n'
            f"    return {spec.cls}(self)\n"
        )
    methods = [
        rewrite_method(facade.methods[old], None, facade, known)
        for old in ROOT
        if old in facade.methods
    ]
    header = facade.header.rstrip() + "\n"
    body = (
        header
        + "\n"
        + indent(
            "# The parts: each built on first use, once per root (cached_property writes the\n"
            "# instance's __dict__, which a frozen dataclass allows). A new root, such as\n"
            "# `refreshed()` makes, builds its own.\n\n"
            + "\n".join(parts)
            + "\n"
            + "\n".join(methods)
        )
    )
    extra = [f"from lineup.app.{spec.module} import {spec.cls}\n" for spec in PARTS.values()]
    extra += ["from functools import cached_property\n"]
    imports = import_block(facade, body, extra + words_import(body))
    doc = (
        "The one door the pages and the CLI use into Lineup: the root, `Lineup`, over one store,\n"
        "one media store and one reading of backends.toml, and its parts (app.compare,\n"
        "app.studies, app.scores, app.catalog, app.sets, app.labels, app.leaderboard), each a\n"
        "module of lineup.app."
    )
    return module_text(doc, imports, body)


# Rewriting the callers -----------------------------------------------------------------------


def caller_pattern(facade: Facade, known: dict[str, Home]) -> re.Pattern[str]:
    moved = [old for old, home in known.items() if home.part is not None and old in facade.methods]
    moved += [old for old, home in known.items() if home.part is None and home.name != old]
    names = "|".join(sorted(moved, key=len, reverse=True))  # longest first
    return re.compile(RECEIVER + rf"\.(?P<name>{names})\b")


def new_path(home: Home) -> str:
    return home.name if home.part is None else f"{home.part}.{home.name}"


def origin_of(facade: Facade) -> dict[str, str]:
    """Where each name callers may import from lineup.app.facade now comes from."""
    origin = {"Lineup": "lineup.app.facade"}
    for old, new in WORDS.items():
        origin[old] = "lineup.app.part"
        origin[new] = "lineup.app.part"
    for node in facade.imports:
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            for a in node.names:
                origin.setdefault(a.asname or a.name, node.module)
    return origin


def rewrite_facade_imports(text: str, path: str, origin: dict[str, str]) -> str:
    if "lineup.app.facade" not in text:
        return text
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    for node in sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)),
        key=lambda n: n.lineno,
        reverse=True,
    ):
        if node.module != "lineup.app.facade":
            continue
        by_module: dict[str, list[str]] = {}
        for a in node.names:
            if a.name not in origin:
                raise Stop(f"{path} imports {a.name} from lineup.app.facade: where is it now?")
            bound = a.name if a.asname in (None, a.name) else f"{a.name} as {a.asname}"
            by_module.setdefault(origin[a.name], []).append(bound)
        pad = " " * node.col_offset
        new = "".join(
            f"{pad}from {module} import {', '.join(names)}\n"
            for module, names in sorted(by_module.items())
        )
        lines[node.lineno - 1 : node.end_lineno] = [new]
    return "".join(lines)


def rewrite_callers(facade: Facade, known: dict[str, Home]) -> list[Path]:
    pattern = caller_pattern(facade, known)
    origin = origin_of(facade)
    generated = {APP / "facade.py", APP / "part.py"} | {
        APP / f"{s.module}.py" for s in PARTS.values()
    }
    changed = []
    files = sorted({p for glob in CALLER_GLOBS for p in REPO.glob(glob)})
    for path in files:
        if path in generated or path == Path(__file__).resolve() or ".venv" in path.parts:
            continue
        rel = str(path.relative_to(REPO))
        text = path.read_text()
        new = text
        replacements, import_line = MANUAL_FIXES.get(rel, ([], None))
        for old, fixed in replacements:
            if old not in new:
                raise Stop(f"Manual fix for {rel} no longer applies: {old!r} is not there.")
            new = new.replace(old, fixed)
        new = pattern.sub(lambda m: _receiver(m) + "." + new_path(known[m.group("name")]), new)
        for leftover in re.finditer(r"setattr\(Lineup, \"(\w+)\"", new):
            if leftover.group(1) in known and leftover.group(1) not in ROOT:
                raise Stop(
                    f"{rel} monkeypatches Lineup.{leftover.group(1)}, which moves: add a "
                    "manual fix."
                )
        if path.suffix == ".py":
            new = rewrite_facade_imports(new, rel, origin)
            if import_line and import_line not in new:
                new = import_line + new if "\nfrom " not in new else _add_import(new, import_line)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def _receiver(match: re.Match[str]) -> str:
    """The receiver as written; the class named in prose (`Lineup.start_vlm`) becomes `app`,
    as the callers name the facade (`app.compare.vlm`)."""
    return "app" if match.group("recv") == "Lineup" else match.group("recv")


def _add_import(text: str, line: str) -> str:
    """`line` after the first top-level `from lineup` import (ruff sorts it afterwards)."""
    match = re.search(r"^from lineup[^\n]*\n(?:    [^\n]*\n\)\n)?", text, re.M)
    if match is None:
        match = re.search(r"^(?:from|import) [^\n]*\n", text, re.M)
    assert match is not None
    return text[: match.end()] + line + text[match.end() :]


# Main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="only check the tables")
    args = parser.parse_args(argv)
    try:
        facade = read_facade()
        notes = check_tables(facade)
        for note in notes:
            print(note)
        known = homes()
        outputs: dict[Path, str] = {}
        path, text = write_part_base(facade)
        outputs[path] = text
        for attribute, spec in PARTS.items():
            outputs[APP / f"{spec.module}.py"] = write_part(attribute, spec, facade, known)
        outputs[FACADE] = write_root(facade, known)
        if args.dry_run:
            for path, text in outputs.items():
                print(f"would write {path.relative_to(REPO)} ({text.count(chr(10))} lines)")
            return 0
        for path, text in outputs.items():
            path.write_text(text)
        changed = rewrite_callers(facade, known)
    except Stop as stop:
        print(f"split_facade: {stop}", file=sys.stderr)
        return 2
    written = [str(p.relative_to(REPO)) for p in list(outputs) + changed if p.suffix == ".py"]
    ruff = str(REPO / ".venv" / "bin" / "ruff")
    subprocess.run([ruff, "check", "--fix", "--select", "I,F401", "-q", *written], cwd=REPO)
    subprocess.run([ruff, "format", "-q", *written], cwd=REPO)
    for path in outputs:
        print(f"{path.relative_to(REPO)}: {len(path.read_text().splitlines())} lines")
    print(f"{len(changed)} callers rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
