"""Sets: import a set that ships with Lineup with one click, or a question set of your own (a
zip of a set folder, or a sentences file); see the stored sets and page through one set's
items."""

from __future__ import annotations

import streamlit as st

from components.context import get_lineup
from components.set_view import item_count, items_table, problems, sets_table, shipped_sets_list
from lineup.app import INPUT_ERRORS, N_, SetError, _, escape_markdown

PAGE_ITEMS = 20  # items per page of the preview
PREVIEW_KEY = "set-preview"
SHIPPED_DONE_KEY = "shipped-import-done"  # what the last shipped import did, said once

FORMAT_HELP = N_(
    "**A VLM set**: a .zip of a folder holding `questions.csv` (columns `image`, `question`, "
    "and optionally `reference`, `language`, `tags`; or the same keys in `questions.jsonl`) "
    "and its images, named relative to the file.  \n"
    "**A voice set**: `sentences.txt` (a sentence per line) or `sentences.csv` (columns "
    "`text`, `language`, `tags`), alone or zipped.  \n"
    "Tags are separated by `;` or `,`. A set is checked whole: if anything is wrong, nothing "
    "is stored and every problem is listed with its line."
)

app = get_lineup()
st.title(_("Sets"))

offered = app.sets.shipped()
wanted = None
if offered:  # none when sample_media/sets/ is not there
    st.subheader(_("Sets that ship with Lineup"), anchor=False)
    st.caption(
        _(
            "Ready to run: sample photos and support-app screenshots with questions (the "
            "screenshots with reference answers), and sentences for voices. One click stores a "
            "set; a set stored already is not stored again. From a shell: "
            "`python -m lineup sets import --shipped NAME`."
        )
    )
    wanted = shipped_sets_list(offered)
if wanted is not None:
    try:
        with st.spinner(_("Importing {name}…").format(name=wanted)):
            shipped = app.sets.import_shipped(wanted)
    except SetError as exc:
        problems(exc)
    except INPUT_ERRORS as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        st.session_state[SHIPPED_DONE_KEY] = shipped
        st.session_state[PREVIEW_KEY] = shipped.summary.name  # preview it below
        st.rerun()  # the rows say it is stored now
done = st.session_state.pop(SHIPPED_DONE_KEY, None)
if done is not None:
    stored = done.summary
    if done.already_stored:
        st.info(
            _("**{name}** is already stored ({contents}): nothing was added.").format(
                name=stored.name, contents=item_count(stored.kind, stored.items)
            ),
            icon=":material/info:",
        )
    else:
        st.success(
            _("Stored the set **{name}**: {contents}.").format(
                name=stored.name, contents=item_count(stored.kind, stored.items)
            ),
            icon=":material/check_circle:",
        )

st.subheader(_("Import a set"), anchor=False)
upload_col, name_col = st.columns([3, 2], gap="medium")
with upload_col:
    upload = st.file_uploader(
        _("Set file (.zip, or a sentences .txt / .csv)"),
        type=["zip", "csv", "txt"],
        key="set-upload",
        help=_(FORMAT_HELP),
    )
with name_col:
    name = st.text_input(
        _("Name (optional)"),
        key="set-name",
        placeholder=_("the file's name"),
        help=_("The set's name in studies and the CLI; 1 to 128 characters."),
    )
    go = st.button(
        _("Import"),
        type="primary",
        icon=":material/upload:",
        key="set-import",
        disabled=upload is None,
    )
if go and upload is not None:
    try:
        stored = app.sets.import_upload(upload.name, upload.getvalue(), name.strip() or None)
    except SetError as exc:
        problems(exc)
    except INPUT_ERRORS as exc:  # anything else is a bug, and Streamlit shows it as one
        st.error(str(exc), icon=":material/error:")
    else:
        st.success(
            _("Stored the set **{name}**: {contents}.").format(
                name=escape_markdown(stored.name), contents=item_count(stored.kind, stored.items)
            ),
            icon=":material/check_circle:",
        )
        st.session_state[PREVIEW_KEY] = stored.name  # preview the set just stored

sets = app.sets.stored()
st.subheader(_("Stored sets"), anchor=False)
if not sets:
    st.info(
        _(
            "No set yet: import a shipped set or one of yours above, or from a shell with "
            "`python -m lineup sets import --shipped NAME` or `sets import PATH`."
        )
    )
    st.stop()
sets_table(sets)

st.subheader(_("Items"), anchor=False)
by_name = {s.name: s for s in sets}
if st.session_state.get(PREVIEW_KEY) not in by_name:
    st.session_state[PREVIEW_KEY] = sets[0].name
chosen = by_name[st.selectbox(_("Set"), list(by_name), key=PREVIEW_KEY)]
question_set = app.sets.get(chosen.name)
items = list(question_set.items) if question_set is not None else []
pages = max(1, -(-len(items) // PAGE_ITEMS))
table_area = st.container()  # above the page numbers, which say what it shows
page = st.pagination(pages, key=f"set-page-{chosen.id}") if pages > 1 else 1
first = (page - 1) * PAGE_ITEMS
with table_area:
    st.caption(
        _("Items {first}–{last} of {count}").format(
            first=first + 1, last=min(first + PAGE_ITEMS, len(items)), count=len(items)
        )
    )
    items_table(app, chosen.kind, items[first : first + PAGE_ITEMS])
