"""Compare voices: sentences spoken by several voices, K samples each; listen, read the
Whisper round-trip WER, label each clip."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.context import (
    annotator_sidebar,
    get_lineup,
    page_runs,
    recent_runs_sidebar,
)
from components.label_bar import VOICE_WORDS, label_bar
from components.models import model_picker
from components.provenance import comparison_provenance
from components.runs import (
    follow,
    form_shows,
    progress_line,
    remember_start,
    results_anchor,
    start_and_stop,
    start_button,
)
from components.stats import contention_badge, render_state, timing_choice
from lineup.app import (
    DEFAULT_STT,
    INPUT_ERRORS,
    N_,
    OK,
    RUNNING,
    Generation,
    Label,
    Run,
    _,
    escape_markdown,
    ngettext,
    number,
    percent,
    said_stored,
    sentence_sets,
    split_sentences,
    word_alignment,
)

CLIP_FIGURES_HELP = N_(
    "**WER / CER**: word and character error rate of what the speech-to-text model heard, "
    "against the sentence.  \n"
    "**gen**: seconds to synthesize.  \n"
    "**audio**: length of the clip.  \n"
    "**RTF**: real-time factor, gen / audio (below 1 is faster than real time).  \n"
    "**peak**: extra memory the synthesis needed (in-process engines only)."
)
# What a voice shows while it speaks, and why no more.
SPEAKING_HELP = N_(
    "A voice clip comes whole when it is made: there is no stream, so no TTFT, rate or stalled "
    "sign as for a model's answer. The time since the run started is above; each clip's "
    "generation time and real-time factor come with it when it is done."
)
CLIP_POLL_S = 0.25  # a clip's row is written when it finishes; the page reads the store
SCROLL_KEY = "scroll-to-clips"
TYPE, SAMPLE_SET = "Type", "Sample set"  # where the sentences come from
SOURCE_NAMES = {TYPE: N_("Type"), SAMPLE_SET: N_("Sample set")}


def fill_form(run_ids: list[int]) -> None:
    """The form as these runs were asked: their sentences (a sample set's, or typed), voices,
    samples per voice, first seed and speech-to-text model."""
    inputs = app.compare.inputs(run_ids)
    if inputs is None:
        return
    state = st.session_state
    sample_set = next((s for s in sentence_sets() if s.sentences == inputs.texts), None)
    if sample_set is not None:
        state["text_source"], state["sentence_set"] = SAMPLE_SET, sample_set
    else:
        state["text_source"], state["sentences"] = TYPE, "\n".join(inputs.texts)
    state["models-tts"] = list(inputs.models)
    state["samples"] = min(max(inputs.samples, 1), 20)
    state["tts_seed"] = 0 if inputs.seed is None else min(max(inputs.seed, 0), 2**31 - 100)
    state["stt"] = inputs.stt or ""
    state["tts_timing"] = inputs.timing


app = get_lineup()
annotator = annotator_sidebar()
recent_runs_sidebar(app, "tts", "runs")
runs = app.compare.runs(page_runs("runs"), kind="tts")
running = app.compare.in_progress([run.id for run in runs])
shown_ids = [run.id for run in runs]
form_shows("speak", shown_ids, lambda: fill_form(shown_ids))
st.title(_("Compare voices"))
# Translated here, in the script run: a format_func may be called outside it.
source_names = {source: _(name) for source, name in SOURCE_NAMES.items()}

# Halves: at 1000 px a narrower right column cut the voices' chips, the samples' label and a
# ten-digit seed (longer still in Russian).
left, right = st.columns(2, gap="large")
with left:
    source = st.radio(
        _("Text"),
        [TYPE, SAMPLE_SET],
        format_func=lambda name: source_names.get(name, name),
        horizontal=True,
        key="text_source",
    )
    if source == TYPE:
        typed = st.text_area(
            _("Sentences, one per line"),
            key="sentences",
            placeholder=_(
                "Type a sentence per line, e.g. “Your payment of 50 dollars was declined by "
                "the bank.”"
            ),
        )
        sentences = split_sentences(typed)
    else:
        sets = sentence_sets()
        chosen = st.selectbox(
            _("Sample set"), sets, format_func=lambda s: s.title, key="sentence_set"
        )
        sentences = list(chosen.sentences)
        st.caption("\n\n".join(sentences))
with right:
    voices = model_picker(
        app, "tts", default=["piper:en_US-joe-medium", "espeak:en-us"], label=_("Voices")
    )
    samples = int(
        st.number_input(
            _("Samples per voice"),
            1,
            20,
            1,
            key="samples",
            help=_("Clips per voice, each with its own seed."),
        )
    )
    seed = int(st.number_input(_("First seed"), 0, 2**31 - 100, 0, key="tts_seed"))
    stt = st.text_input(_("Speech-to-text for WER"), DEFAULT_STT, key="stt")
    timing = timing_choice("tts_timing")
    timeout_s = float(app.settings.model_timeout_s)

stt_model = stt.strip() or None
# Said before anything runs; a voice or STT model that is not usable gives no warning here:
# Speak says what is wrong with it.
warnings = app.compare.language_warnings(sentences, voices, stt_model)
request = start_and_stop(
    app,
    label=_("Speak anyway") if warnings else _("Speak"),
    form="speak",
    query_key="runs",
    running=running,
    inputs=(tuple(sentences), tuple(voices), samples, seed, stt_model, timeout_s, timing),
    wait_help=_("Wait for the clips in progress, or stop them."),
    stop_help=_("Stop every voice now; the clips already made are kept."),
)
# Below the button: a warning that comes or goes as voices are added must not move it.
for warning in warnings:
    st.warning(warning, icon=":material/translate:")

if request is not None:
    try:
        comparison = app.compare.tts(
            texts=sentences,
            voices=voices,
            samples=samples,
            stt=stt_model,
            seed=seed,
            timeout_s=timeout_s,
            timing=timing,
            request_id=request,
        )
    except INPUT_ERRORS as exc:  # anything else is a bug, and Streamlit shows it as one
        st.error(str(exc))
    else:
        # The new runs are the page's from now on; the next script run draws them as they go.
        remember_start("speak", "runs", comparison.run_ids)
        st.session_state[SCROLL_KEY] = True
        st.rerun()


def marked_transcript(reference: str, transcript: str) -> str:
    """The transcript's normalised words, with what differs from the sentence marked."""
    parts = []
    for piece in word_alignment(reference, transcript):
        hyp, ref = " ".join(piece.hypothesis_words), " ".join(piece.reference_words)
        hyp, ref = escape_markdown(hyp), escape_markdown(ref)
        if piece.op == "equal":
            parts.append(hyp)
        elif piece.op == "substitute":
            parts.append(f":red[**{hyp}**] :gray[~~{ref}~~]")
        elif piece.op == "insert":
            parts.append(f":orange[**+{hyp}**]")
        else:
            parts.append(f":gray[~~{ref}~~]")
    return " ".join(parts)


def clip_card(run: Run, generation: Generation, labels: dict[int, Label] | None) -> None:
    """One clip: its audio, what Whisper heard, its figures and (once the run is over) its
    label bar."""
    st.markdown(
        _("**sample {number}** · seed {seed}").format(
            number=generation.sample_index + 1, seed=generation.seed
        )
    )
    if generation.status == RUNNING:
        st.caption(":material/progress_activity: " + _("speaking…"))
        return
    if generation.status != OK:
        render_state(generation.status, said_stored(generation.error, generation.error_said))
        return
    if generation.audio_hash:
        audio = app.media_path(generation.audio_hash)
        if audio is None:
            st.caption(_("audio missing from the media store"))
        else:
            st.audio(str(audio))
    if generation.transcript is not None:
        heard = marked_transcript(run.input_text, generation.transcript)
        st.markdown(heard or "*" + _("(nothing heard)") + "*")
    figures = [
        _("WER {rate}").format(rate=percent(generation.wer))
        if generation.wer is not None
        else None,
        _("CER {rate}").format(rate=percent(generation.cer))
        if generation.cer is not None
        else None,
        _("gen {seconds} s").format(seconds=number(generation.gen_s, 2))
        if generation.gen_s is not None
        else None,
        _("audio {seconds} s").format(seconds=number(generation.audio_s, 2))
        if generation.audio_s is not None
        else None,
        _("RTF {ratio}").format(ratio=number(generation.rtf, 2))
        if generation.rtf is not None
        else None,
        _("{rate} Hz").format(rate=generation.sample_rate_hz)
        if generation.sample_rate_hz
        else None,
        _("peak +{megabytes} MB").format(megabytes=number(generation.peak_mem_mb))
        if generation.peak_mem_mb is not None
        else None,
    ]
    st.caption(" · ".join(f for f in figures if f), help=_(CLIP_FIGURES_HELP))
    if labels is not None:
        label_bar(
            app,
            generation.id,
            annotator,
            labels.get(generation.id),
            labels=VOICE_WORDS,
        )


def voice_column(
    run: Run, clips: list[Generation], figures: dict[str, Any], labels: dict[int, Label] | None
) -> None:
    """A voice's status line, its WER over its clips, and each clip."""
    done = sum(clip.status != RUNNING for clip in clips)
    if done < len(clips):
        speaking = _("speaking… {done} of {total} done").format(done=done, total=len(clips))
        st.caption(f":material/progress_activity: {speaking}", help=_(SPEAKING_HELP))
    if figures["wer_std"] is not None:
        # English says "clips" whatever the count, as it always did; Russian agrees the noun.
        st.caption(
            ngettext(
                "WER mean {mean} ± {sd} (sd) over {count} clips",
                "WER mean {mean} ± {sd} (sd) over {count} clips",
                figures["scored"],
            ).format(
                mean=percent(figures["mean_wer"]),
                sd=percent(figures["wer_std"]),
                count=figures["scored"],
            )
        )
    for clip in clips:
        with st.container(border=True):
            clip_card(run, clip, labels)


def by_voice(run: Run) -> dict[str, list[Generation]]:
    voices: dict[str, list[Generation]] = {}
    for generation in run.generations:
        voices.setdefault(generation.model_spec, []).append(generation)
    return voices


def contention_range(clips: list[Generation]) -> tuple[int | None, int | None]:
    """The fewest and most other requests in flight beside a voice's complete clips."""
    counted = [c.concurrent_max for c in clips if c.status == OK and c.concurrent_max is not None]
    return min(counted, default=None), max(counted, default=None)


def voice_results(shown: list[Run], *, live: bool) -> None:
    """Each run's voice columns: while the clips are made (finished ones playable), or as
    stored (each complete clip with its label bar)."""
    labels: dict[int, Label] | None = None
    if live:
        clips = [g for run in shown for g in run.generations]
        finished = sum(clip.status != RUNNING for clip in clips)
        st.markdown(progress_line(finished, len(clips), "clips", shown[0].created_at))
    else:
        generation_ids = [g.id for run in shown for g in run.generations]
        labels = app.labels.current(generation_ids, annotator) if annotator else {}
    for index, run in enumerate(shown):
        if index:
            st.divider()
        if len(shown) > 1:  # one run's title is in the row above, beside Run again
            st.markdown(
                _("**Run {run}** · {question}").format(
                    run=run.id, question=escape_markdown(run.input_text)
                )
            )
        voices_of_run = by_voice(run)
        figures = app.compare.voice_figures(run)
        if not live:
            contention_badge(
                [
                    (app.catalog.model_label(voice).title, *contention_range(clips))
                    for voice, clips in voices_of_run.items()
                ]
            )
        for column, (voice, clips) in zip(
            st.columns(len(voices_of_run)), voices_of_run.items(), strict=True
        ):
            with column:
                named = app.catalog.model_label(voice)
                title, details = named.title, named.tooltip
                st.subheader(escape_markdown(title), anchor=False, help=details, divider="gray")
                voice_column(run, clips, figures[voice], labels)
        if not live:
            comparison_provenance(app, run, list(voices_of_run))


def runs_now() -> list[Run]:
    return [app.compare.run(run.id) or run for run in runs]


# The page's runs (also after a page reload: their ids are in the URL), as they go or stored.
if runs:
    results_anchor(scroll=st.session_state.pop(SCROLL_KEY, False))
    st.divider()
    head = st.container(horizontal=True, vertical_alignment="center")
    head.markdown(
        _("**Run {run}** · {question}").format(
            run=runs[0].id, question=escape_markdown(runs[0].input_text)
        )
        if len(runs) == 1
        # Two runs or more: English says "sentences", Russian agrees the noun with the count.
        else ngettext(
            "**Runs {runs}** · {count} sentences",
            "**Runs {runs}** · {count} sentences",
            len(runs),
        ).format(runs=", ".join(str(i) for i in shown_ids), count=len(runs))
    )
    again = start_button(
        _("Run again"),
        "again-tts",
        running=running,
        where=head,
        icon=":material/replay:",
        primary=False,
        help=_(
            "New clips of these sentences, with the same voices, samples, seed and "
            "speech-to-text model."
        ),
    )
    if again is not None:
        try:
            repeated = app.compare.rerun(shown_ids, request_id=again)
        except INPUT_ERRORS as exc:
            st.error(str(exc))
        else:
            remember_start("again-tts", "runs", repeated.run_ids)
            st.session_state[SCROLL_KEY] = True
            st.rerun()
    if running:
        follow(
            lambda: app.compare.in_progress([run.id for run in runs]),
            lambda: voice_results(runs_now(), live=True),
            CLIP_POLL_S,
        )
    else:
        voice_results(runs, live=False)
