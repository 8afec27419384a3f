"""The labeling queue's parts: the item, its answers side by side with their label buttons and
comments, the focused answer, and the keys that move through the queue.

Keys. Streamlit's own button shortcuts (`st.button(shortcut=...)`) would bind a key to a
button, but a key pressed while the page is still redrawing from the one before is lost or,
worse, taken out of order: Streamlit folds the clicks that arrive during a script run into
the next run and calls their callbacks in the order the buttons are drawn, not pressed (so
"3" typed quickly after "1" could label the answer "1" just labeled). A queue must never
put a label on the wrong answer, so the keys go through KEYS_SCRIPT, a small script of ours
(inline, nothing fetched) that clicks the page's buttons one key at a time, in the order
typed, each once the page has finished redrawing from the one before. The buttons keep
their Streamlit shortcuts for the hint they draw (and work without the script, one key at a
time); the script takes the keys first.

- 1 / 2 / 3 press hidden buttons that label the focused answer (the one in the session), and
  the focus moves on to the next answer still to label;
- ← → ↑ ↓ and Tab / Shift+Tab press Previous / Next answer; K / P, J / N and U press
  Previous / Next / Next unlabeled; F, or a click on the item's thumbnail, presses Full size
  (the item's image in a dialog), and Esc closes the dialog wherever the focus is.
- Keys typed in a text box (a comment) are left alone, as are those with Ctrl, Alt or Cmd,
  and a key whose button is disabled when nothing waits (Tab then moves through the page).

The arena mode (components.arena_queue) uses the same script: A / B / T / X vote, and J / K /
N / P / U move between its pairs. The script is installed once per tab and serves both modes,
so KEY_ACTIONS holds both: a key may name several buttons, and the first the page draws is
pressed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import streamlit as st
from PIL import Image

from components.label_bar import CHOICES, VOICE_WORDS
from components.stats import render_answer, show_text
from lineup.app import (
    INPUT_ERRORS,
    N_,
    LabelQueue,
    Lineup,
    QueueAnswer,
    QueueItem,
    ShownItem,
    _,
    escape_markdown,
)

ITEM_KEY = "queue-item"  # the number of the item shown (also in the address, `item`)
FOCUS_KEY = "queue-focus"  # the generation id of the focused answer
MAX_PER_ROW = 3  # answers side by side: three fit beside the sidebar in a 1400 px window
KEY_BUTTONS_KEY = "queue-key-buttons"  # the hidden buttons that 1 / 2 / 3 press
LABEL_SHORTCUTS = {"relevant": "1", "partial": "2", "irrelevant": "3"}
KEYS_HELP = N_(
    "**1 / 2 / 3** label the focused answer relevant / partly / irrelevant, then move the "
    "focus on to this item's next answer you have not labeled (once all are, **U** opens the "
    "next item with one)  \n"
    "**← →** (or **↑ ↓**, **Shift+Tab Tab**) move between answers  \n"
    "**J / K** (or **N / P**) next / previous item, **U** next unlabeled item  \n"
    "**F** the image at full size (**Esc** closes it)  \n"
    "Keys are taken in the order typed; in a comment they are text."
)
FULL_SIZE_KEY = "queue-full-size"  # the button that opens the item's image at full size
FULL_IMAGE_KEY = "queue-full-image"  # the box that holds it, scrolled when it is wider
THUMBNAIL_KEY = "queue-thumbnail"  # the item's image in the page: a click opens it full size
# Which button each key presses, by the button's widget key (Streamlit gives its element the
# class `st-key-<key>`); of several, the first the page draws (one mode's or the other's).
KEY_ACTIONS: dict[str, str | list[str]] = {
    "1": "queue-key-relevant",
    "2": "queue-key-partial",
    "3": "queue-key-irrelevant",
    "ArrowLeft": "queue-previous-answer",
    "ArrowUp": "queue-previous-answer",
    "Shift+Tab": "queue-previous-answer",
    "ArrowRight": "queue-next-answer",
    "ArrowDown": "queue-next-answer",
    "Tab": "queue-next-answer",
    "k": ["queue-previous", "arena-previous"],
    "p": ["queue-previous", "arena-previous"],
    "j": ["queue-next", "arena-next"],
    "n": ["queue-next", "arena-next"],
    "u": ["queue-next-unlabeled", "arena-next-unvoted"],
    "f": FULL_SIZE_KEY,
    # The arena's votes (components.arena_queue).
    "a": "arena-vote-a",
    "b": "arena-vote-b",
    "t": "arena-vote-tie",
    "x": "arena-vote-both_bad",
}
# Installed once per browser tab (a flag on the window), on the main document, listening in the
# capture phase so it sees the keys before Streamlit's shortcuts do. Whether the page is still
# redrawing is read from the app's root element (`data-test-script-state`, what Streamlit's
# own browser tests wait on): a press counts as done once a script run has come and gone, or
# after 2 s if none came (a click that changed nothing).
KEYS_SCRIPT = """<script>(() => {
  if (window.__lineupQueueKeys) return;
  window.__lineupQueueKeys = true;
  const ACTIONS = %(actions)s;
  const THUMBNAIL = %(thumbnail)s, FULL_SIZE = %(full_size)s;
  const button = (key) => document.querySelector(`.st-key-${key} button`);
  const drawn = (keys) => [].concat(keys || []).find((key) => button(key));
  const runState = () =>
    document.querySelector('[data-testid="stApp"]')?.getAttribute("data-test-script-state");
  const typing = (el) =>
    el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  const waiting = [];
  let pressed = null;
  const pump = () => {
    if (pressed) {
      if (runState() !== "notRunning") pressed.sawRun = true;
      else if (pressed.sawRun || Date.now() - pressed.at > 2000) pressed = null;
    }
    while (!pressed && waiting.length && runState() === "notRunning") {
      const target = button(waiting.shift());
      if (target && !target.disabled) {
        pressed = { sawRun: false, at: Date.now() };
        target.click();
      }
    }
  };
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const name = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const action = drawn(ACTIONS[event.shiftKey && name === "Tab" ? "Shift+Tab" : name]);
    const target = action && button(action);
    if (!target) return;  // another page, or no such button now
    if (target.disabled && !waiting.length && !pressed) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!event.repeat) waiting.push(action);
    pump();
  }, true);
  // A click on the item's thumbnail presses Full size, as F does.
  window.addEventListener("click", (event) => {
    if (!event.target.closest?.(`.st-key-${THUMBNAIL} img`)) return;
    waiting.push(FULL_SIZE);
    pump();
  }, true);
  // Esc closes a dialog even when the focus is not in it (it is not, after a click on the
  // thumbnail opened it).
  window.addEventListener("keydown", (event) => {
    const dialog = document.querySelector('[role="dialog"]');
    if (event.key !== "Escape" || !dialog || dialog.contains(document.activeElement)) return;
    dialog.querySelector('button[aria-label="Close"]')?.click();
  }, true);
  new MutationObserver(pump).observe(document.body, {
    attributes: true, subtree: true, attributeFilter: ["data-test-script-state"],
  });
  setInterval(pump, 250);
})();</script>"""


def _comment_key(annotator: str, generation_id: int) -> str:
    # The annotator is part of the key: another name in the same tab never sees this one's.
    return f"queue-comment-{annotator}-{generation_id}"


def _error_key(generation_id: int) -> str:
    return f"queue-label-error-{generation_id}"


# Callbacks (they run before the next script run draws the page) --------------------------


def go_to(number: int) -> None:
    """Show item `number`; its focus starts on its first unlabeled answer."""
    st.session_state[ITEM_KEY] = number
    st.session_state.pop(FOCUS_KEY, None)


def _move_focus(answer_ids: Sequence[int], step: int) -> None:
    current = st.session_state.get(FOCUS_KEY)
    index = answer_ids.index(current) if current in answer_ids else 0
    st.session_state[FOCUS_KEY] = answer_ids[(index + step) % len(answer_ids)]


def _label(
    app: Lineup, generation_id: int, relevance: str, annotator: str, answer_ids: Sequence[int]
) -> None:
    """Write the label with the comment in the box (a new label never drops the comment),
    then focus the next answer of the item this annotator has not labeled, going round."""
    comment = (st.session_state.get(_comment_key(annotator, generation_id)) or "").strip()
    try:
        app.labels.add(generation_id, relevance, annotator=annotator, comment=comment or None)
    except INPUT_ERRORS as exc:  # an answer no longer complete, a name refused: said in place
        st.session_state[_error_key(generation_id)] = str(exc)
        return
    st.session_state.pop(_error_key(generation_id), None)
    labeled = app.labels.current(answer_ids, annotator)
    index = answer_ids.index(generation_id)
    after = [*answer_ids[index + 1 :], *answer_ids[:index]]
    st.session_state[FOCUS_KEY] = next((gid for gid in after if gid not in labeled), generation_id)


def _label_focused(app: Lineup, relevance: str, annotator: str, answer_ids: Sequence[int]) -> None:
    """1 / 2 / 3: label the answer focused now (in the session, not when the page was drawn)."""
    focus = st.session_state.get(FOCUS_KEY)
    if isinstance(focus, int) and focus in answer_ids:
        _label(app, focus, relevance, annotator, answer_ids)


def _save_comment(app: Lineup, generation_id: int, relevance: str | None, annotator: str) -> None:
    """A changed comment is saved as a new label of the same relevance (the latest counts);
    the box is enabled only once the answer has a label."""
    if relevance is not None:
        _label(app, generation_id, relevance, annotator, [generation_id])


# Drawing ---------------------------------------------------------------------------------


def focused_answer(item: QueueItem) -> int | None:
    """The focused answer of the item: the one kept in the session, else its first answer to
    label, else its first."""
    answer_ids = [answer.generation_id for answer in item.answers]
    focus = st.session_state.get(FOCUS_KEY)
    if focus not in answer_ids:
        unlabeled = [a.generation_id for a in item.answers if a.relevance is None]
        focus = next(iter(unlabeled or answer_ids), None)
        st.session_state[FOCUS_KEY] = focus
    return focus


def row_sizes(count: int, per_row: int = MAX_PER_ROW) -> list[int]:
    """How many answers each row holds: at most `per_row`, the rows as even as they can be
    (4 → 2 + 2, 5 → 3 + 2), so no column gets too narrow for its buttons."""
    if count <= 0:
        return []
    rows = -(-count // per_row)
    size = -(-count // rows)
    sizes = [size] * (count // size)
    if count % size:
        sizes.append(count % size)
    return sizes


def queue_keys(app: Lineup, item: QueueItem, annotator: str, focus: int | None) -> None:
    """The keys: the script that takes them, the style that hides the buttons 1 / 2 / 3 press
    and draws the focused answer's border, and those buttons."""
    rules = [f".st-key-{KEY_BUTTONS_KEY} {{ display: none; }}"]
    if focus is not None:
        rules.append(
            f".st-key-queue-answer-{focus} {{ border: 2px solid #1c83e1; "
            "box-shadow: 0 0 0 3px rgba(28, 131, 225, 0.18); }"
        )
    st.html(f"<style>{' '.join(rules)}</style>")
    install_keys()
    if not annotator or focus is None:
        return
    answer_ids = [answer.generation_id for answer in item.answers]
    hidden = st.container(key=KEY_BUTTONS_KEY)
    for value, text, _icon in CHOICES:
        hidden.button(
            _("{label} (focused answer)").format(label=_(text)),
            key=f"queue-key-{value}",
            on_click=_label_focused,
            args=(app, value, annotator, answer_ids),
        )


# The item's thumbnail, in either mode: a click opens it full size (KEYS_SCRIPT). Streamlit's
# own fullscreen button would show only its few pixels (Streamlit sends an image scaled to the
# width shown), so it is hidden: Full size is the way to the whole image.
THUMBNAIL_STYLE = (
    f"<style>.st-key-{THUMBNAIL_KEY} img {{ cursor: zoom-in; }} "
    f'.st-key-{THUMBNAIL_KEY} [data-testid="stElementToolbar"] {{ display: none; }}</style>'
)


def install_keys() -> None:
    """The script that takes the keys (KEYS_SCRIPT) and the thumbnail's style, for either
    mode."""
    script = KEYS_SCRIPT % {
        "actions": json.dumps(KEY_ACTIONS),
        "thumbnail": json.dumps(THUMBNAIL_KEY),
        "full_size": json.dumps(FULL_SIZE_KEY),
    }
    # In the sidebar: an element with a script takes a row's gap where it is drawn.
    st.sidebar.html(THUMBNAIL_STYLE + script, unsafe_allow_javascript=True)


def queue_nav(queue: LabelQueue, number: int, item: QueueItem) -> None:
    """Previous / Next / Next unlabeled item, and Previous / Next answer."""
    answer_ids = [answer.generation_id for answer in item.answers]
    moves = [
        (_("Previous"), "queue-previous", "K", queue.previous(number), ":material/arrow_back:"),
        (_("Next"), "queue-next", "J", queue.next(number), ":material/arrow_forward:"),
        (
            _("Next unlabeled"),
            "queue-next-unlabeled",
            "U",
            queue.next_unlabeled(number),
            ":material/skip_next:",
        ),
    ]
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    for text, key, shortcut, target, icon in moves:
        row.button(
            text,
            key=key,
            icon=icon,
            shortcut=shortcut,
            disabled=target is None,
            on_click=go_to,
            args=(target,),
        )
    row.space("small")
    for text, key, shortcut, step in [
        (_("Previous answer"), "queue-previous-answer", "Left", -1),
        (_("Next answer"), "queue-next-answer", "Right", 1),
    ]:
        row.button(
            text,
            key=key,
            shortcut=shortcut,
            type="tertiary",
            disabled=len(answer_ids) < 2,
            on_click=_move_focus,
            args=(answer_ids, step),
        )


def item_view(app: Lineup, item: ShownItem, *, show_reference: bool) -> None:
    """The image (or the sentence the voices speak), the question and the reference."""
    if item.kind == "tts":
        st.caption(_("Sentence"))
        show_text(f"> {item.text}")
    else:
        left, right = st.columns([1, 2], gap="medium")
        with left:
            stored = app.media_path(item.image_hash) if item.image_hash else None
            if item.image_hash and stored is None:
                st.caption(_("image missing from the media store"))
            elif stored is not None:
                with Image.open(stored) as image:
                    width_px, height_px = image.size
                # At most 220 px tall, so the answers stay in view; Full size (or a click on
                # it, see KEYS_SCRIPT) shows every pixel.
                thumbnail_px = int(min(420, 220 * width_px / height_px))
                st.container(key=THUMBNAIL_KEY).image(str(stored), width=thumbnail_px)
                if st.button(
                    _("Full size"),
                    key=FULL_SIZE_KEY,
                    icon=":material/zoom_in:",
                    type="tertiary",
                    help=_("The image at its own size, {width} × {height} px (key F).").format(
                        width=width_px, height=height_px
                    ),
                ):
                    full_size(str(stored), width_px, height_px)
        with right:
            st.caption(_("Question"))
            show_text(item.text)
            reference(item, show_reference)
            tags(item)
        return
    reference(item, show_reference)
    tags(item)


def full_size(path: str, width_px: int, height_px: int) -> None:
    """The item's image one image pixel to one screen pixel, scrolled when it is bigger than
    the window: a screenshot's small print (an error code) can be read. A dialog titled in
    the page's language (made here, not at import)."""
    st.dialog(_("Image at full size"), width="large")(_full_size)(path, width_px, height_px)


def _full_size(path: str, width_px: int, height_px: int) -> None:
    st.caption(
        _("{width} × {height} px. Esc or × closes it.").format(width=width_px, height=height_px)
    )
    # Streamlit fits an image to its column: here it keeps its own width, and the box
    # around it scrolls sideways when the dialog is narrower.
    st.html(
        f"<style>.st-key-{FULL_IMAGE_KEY} {{ overflow-x: auto; }} "
        f".st-key-{FULL_IMAGE_KEY} * {{ max-width: none !important; }}</style>"
    )
    with st.container(key=FULL_IMAGE_KEY):
        st.image(path, width=width_px)


def reference(item: ShownItem, shown: bool) -> None:
    if item.reference is None:
        return
    if not shown:
        st.caption(":material/visibility_off: " + _("Reference answer hidden (sidebar)."))
        return
    with st.expander(_("Reference answer"), icon=":material/task_alt:"):
        show_text(item.reference)


def tags(item: ShownItem) -> None:
    language = _("language {code}").format(code=item.language) if item.language else ""
    facts = [language, *item.tags]
    shown = " · ".join(escape_markdown(fact) for fact in facts if fact)
    if shown:
        st.caption(shown)


def answers_grid(
    app: Lineup, item: QueueItem, annotator: str, focus: int | None, *, repeats: int
) -> None:
    """Every answer in its card, rows of at most MAX_PER_ROW side by side."""
    if item.names_hidden:
        st.caption(
            ":material/visibility_off: "
            + _("Names appear once you have labeled every answer of this item.")
        )
    answer_ids = [answer.generation_id for answer in item.answers]
    answers = iter(item.answers)
    sizes = row_sizes(len(item.answers))
    for size in sizes:
        # Every row has the first row's columns: a shorter last row keeps their width.
        for column in st.columns(sizes[0])[:size]:
            with column:
                answer_card(
                    app,
                    item,
                    next(answers),
                    annotator,
                    focused=focus,
                    answer_ids=answer_ids,
                    repeats=repeats,
                )


def answer_card(
    app: Lineup,
    item: QueueItem,
    answer: QueueAnswer,
    annotator: str,
    *,
    focused: int | None,
    answer_ids: Sequence[int],
    repeats: int,
) -> None:
    """One answer: its title (a letter, the model's name once shown), text or clip, label
    buttons and comment."""
    is_focused = answer.generation_id == focused
    with st.container(border=True, key=f"queue-answer-{answer.generation_id}"):
        title, details = answer.title, None
        if answer.model is not None:
            named = app.catalog.model_label(answer.model, answer.spec)
            name, details = named.title, named.tooltip
            title += f" · {escape_markdown(name)}"
            if repeats > 1 and answer.repeat is not None:
                title += " · " + _("repeat {number}").format(number=answer.repeat + 1)
        marker = " :blue-badge[:material/keyboard: " + _("focused") + "]" if is_focused else ""
        st.markdown(f"**{title}**{marker}", help=details)
        if item.kind == "tts":
            clip = app.media_path(answer.audio_hash) if answer.audio_hash else None
            if clip is None:
                st.caption(_("audio missing from the media store"))
            else:
                st.audio(str(clip))
            heard = answer.transcript
            st.caption(
                _("Heard: {text}").format(text=escape_markdown(heard))
                if heard
                else _("Heard: *(no transcript)*")
            )
        else:
            render_answer(answer.output_text)
            if not answer.output_text:
                st.markdown(_("*(empty answer)*"))
        label_buttons(app, item, answer, annotator, is_focused, answer_ids)


def label_buttons(
    app: Lineup,
    item: QueueItem,
    answer: QueueAnswer,
    annotator: str,
    focused: bool,
    answer_ids: Sequence[int],
) -> None:
    """Three relevance buttons (the current one primary; the focused answer's show the keys
    1 / 2 / 3) and the comment, saved with the label."""
    gid = answer.generation_id
    if not annotator:
        st.caption(_("Set your name in the sidebar to label."))
        return
    comment_key = _comment_key(annotator, gid)
    if comment_key not in st.session_state:
        st.session_state[comment_key] = answer.comment or ""
    words = VOICE_WORDS if item.kind == "tts" else {}
    row = st.container(horizontal=True, gap="xsmall")
    for value, text, icon in CHOICES:
        row.button(
            _(words.get(value, text)),
            key=f"queue-label-{gid}-{value}",
            icon=icon,
            shortcut=LABEL_SHORTCUTS[value] if focused else None,
            type="primary" if answer.relevance == value else "secondary",
            on_click=_label,
            args=(app, gid, value, annotator, answer_ids),
        )
    error = st.session_state.get(_error_key(gid))
    if error:
        st.error(error, icon=":material/label_off:")
    st.text_input(
        _("Comment"),
        key=comment_key,
        placeholder=_("optional comment") if answer.relevance else _("label it first to comment"),
        label_visibility="collapsed",
        on_change=_save_comment,
        args=(app, gid, answer.relevance, annotator),
        disabled=answer.relevance is None,
        help=_("Saved with your label (Enter or click away); a new label keeps it."),
    )
