"""Question sets as the Sets page shows them: the sets that ship with Lineup, the stored sets, a
page of one set's items with thumbnails, and the problems of a set that was refused."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st
from PIL import Image

from components.tables import dataframe
from lineup.app import (
    Lineup,
    SetError,
    SetItemRow,
    SetSummary,
    ShippedSet,
    _,
    code_span,
    ngettext,
)

THUMBNAIL_PX = 160  # the longest side of a preview image (shown at about half that)
ITEM_ROW_PX = 72  # a row of the items table with a thumbnail


@st.cache_data(max_entries=2000, show_spinner=False)
def _thumbnail(_app: Lineup, digest: str) -> str | None:
    """A small JPEG of a stored image as a data: URI; None when the file is gone. Cached by the
    image's hash, which names its content."""
    path = _app.media_path(digest)
    if path is None:
        return None
    with Image.open(path) as image:
        small = image.convert("RGB")
        small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def problems(error: SetError) -> None:
    """A refused set: the summary, then every problem, one a line with its file and line, as
    plain text (a problem quotes the set's own text, which is never read as Markdown)."""
    count = len(error.problems)
    st.error(
        ngettext(
            "Nothing was imported from {source}: 1 problem, listed below. Fix it and upload "
            "the set again.",
            "Nothing was imported from {source}: {count} problems, listed below. Fix them and "
            "upload the set again.",
            count,
        ).format(source=error.source, count=count),
        icon=":material/error:",
    )
    st.code("\n".join(error.problems), language=None, wrap_lines=True)


def _languages(languages: dict[str, int]) -> str:
    none = _("none")
    return ", ".join(f"{code or none} {n}" for code, n in languages.items())


def item_count(kind: str | None, items: int) -> str:
    """A set's size in words: "12 questions", "1 sentence"."""
    if kind == "tts":
        return ngettext("{count} sentence", "{count} sentences", items).format(count=items)
    return ngettext("{count} question", "{count} questions", items).format(count=items)


def _sets_columns() -> dict[str, Any]:
    return {
        "name": st.column_config.TextColumn(_("Name"), width=200, pinned=True),
        "kind": st.column_config.TextColumn(
            _("Kind"), help=_("VLM: image + question; voices: sentences."), width=64
        ),
        "items": st.column_config.NumberColumn(_("Items"), format="%d", width=84),  # «Элементы»
        "with_reference": st.column_config.NumberColumn(
            _("With reference"), help=_("Items with a reference answer."), format="%d", width=110
        ),
        "languages": st.column_config.TextColumn(
            _("Languages"), help=_("Items per language ('none': not given)."), width=130
        ),
        "created": st.column_config.DatetimeColumn(
            _("Created (UTC)"), format="YYYY-MM-DD HH:mm", width=140
        ),
        # What is left of a 1400 px window; a longer path shows whole on hover.
        "source": st.column_config.TextColumn(_("Imported from"), width=220),
    }


def sets_table(sets: Sequence[SetSummary]) -> None:
    columns = _sets_columns()
    frame = pd.DataFrame(
        [
            {
                "name": s.name,
                "kind": _("Voices") if s.kind == "tts" else "VLM",
                "items": s.items,
                "with_reference": s.with_reference,
                "languages": _languages(s.languages),
                "created": s.created_at.replace(tzinfo=None),
                "source": s.source,
            }
            for s in sets
        ],
        columns=list(columns),
    )
    dataframe(frame, hide_index=True, column_config=columns, placeholder="–")


def set_contents(
    kind: str | None, items: int, with_reference: int, languages: dict[str, int]
) -> str:
    """What a set holds, in a line: its kind, items, references and languages."""
    voices = kind == "tts"
    parts = [_("voices") if voices else "VLM", item_count(kind, items)]
    if with_reference:
        parts.append(
            ngettext(
                "{count} with a reference answer", "{count} with a reference answer", with_reference
            ).format(count=with_reference)
        )
    if languages:
        parts.append(_("languages {languages}").format(languages=_languages(languages)))
    return " · ".join(parts)


def shipped_sets_list(offered: Sequence[ShippedSet]) -> str | None:
    """A row per shipped set: what it holds, whether it is stored, and its Import button.
    Returns the name of the set whose button was clicked, if any."""
    clicked = None
    for shipped in offered:
        row = st.container(
            border=True,
            key=f"shipped-{shipped.name}",
            horizontal=True,
            vertical_alignment="center",
            gap="medium",
        )
        with row:
            text = st.container()  # takes the room the button leaves
            text.markdown(_shipped_line(shipped))
            if shipped.problem is not None:  # quotes file names: plain text, not Markdown
                text.code(shipped.problem, language=None, wrap_lines=True)
            if st.button(
                _("Import"),
                key=f"shipped-import-{shipped.name}",
                icon=":material/download:",
                disabled=shipped.stored_as is not None
                or shipped.name_taken
                or shipped.problem is not None,
            ):
                clicked = shipped.name
    return clicked


def _shipped_line(shipped: ShippedSet) -> str:
    line = f"**{shipped.name}**"
    if shipped.problem is not None:
        return line + "  \n:red[:material/error: " + _("It cannot be read:") + "]"
    contents = set_contents(shipped.kind, shipped.items, shipped.with_reference, shipped.languages)
    line += f" · {contents}"
    if shipped.stored_as == shipped.name:
        return line + "  \n:green[:material/check_circle: " + _("Imported") + "]"
    if shipped.stored_as is not None:
        shown = code_span(shipped.stored_as)  # a name someone gave
        return (
            line
            + "  \n"
            + _(":green[:material/check_circle: Imported] as {name}").format(name=shown)
        )
    if shipped.name_taken:
        return (
            line
            + "  \n"
            + _(
                ":orange[:material/warning: Another set is stored as **{name}**.] Import this one "
                "under another name: `python -m lineup sets import --shipped {name} --name NAME`"
            ).format(name=shipped.name)
        )
    return line


def items_table(app: Lineup, kind: str, items: Sequence[SetItemRow]) -> None:
    """A page of a set's items: number, thumbnail (VLM sets), question or sentence,
    reference, language and tags."""
    vlm = kind != "tts"
    frame = pd.DataFrame(
        [
            {
                "number": item.position + 1,
                "image": _thumbnail(app, item.image_hash) if item.image_hash else None,
                "text": item.text,
                "reference": item.reference,
                "language": item.language,
                "tags": ", ".join(item.tags or []),
            }
            for item in items
        ],
        columns=["number", "image", "text", "reference", "language", "tags"],
    )
    columns: dict[str, Any] = {
        "number": st.column_config.NumberColumn("#", format="plain", width=44),
        "image": st.column_config.ImageColumn(_("Image"), help=_("Hover to enlarge."), width=90),
        "text": st.column_config.TextColumn(_("Question") if vlm else _("Sentence"), width="large"),
        "reference": st.column_config.TextColumn(
            _("Reference"), help=_("The expected answer, if the set gives one."), width="medium"
        ),
        "language": st.column_config.TextColumn(_("Language"), width=80),
        "tags": st.column_config.TextColumn(_("Tags"), width=150),
    }
    if not vlm:
        del columns["image"], columns["reference"]
    dataframe(
        frame,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        placeholder="–",
        row_height=ITEM_ROW_PX if vlm else None,
        height="content",
    )
