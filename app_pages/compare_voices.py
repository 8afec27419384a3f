"""Compare voices: sentences spoken by several voices, K samples each; listen, read the
Whisper round-trip WER, label each clip."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backends.spec import SpecError
from components.context import annotator_sidebar, get_lineup, recent_runs_sidebar
from components.label_bar import label_bar
from components.models import model_picker
from lineup.models import Generation, Run
from lineup.scoring import word_alignment
from lineup.sentences import sentence_sets, split_sentences
from lineup.tts_metrics import CLIP_COLUMNS, voice_figures
from lineup.tts_runner import DEFAULT_STT, language_warnings

TTS_LABELS = {"relevant": "Correct", "partial": "Flawed", "irrelevant": "Wrong"}

app = get_lineup()
annotator = annotator_sidebar()
recent_runs_sidebar(app, "tts", "runs")
st.title("Compare voices")

left, right = st.columns([3, 2], gap="large")
with left:
    source = st.radio("Text", ["Type", "Sample set"], horizontal=True, key="text_source")
    if source == "Type":
        typed = st.text_area(
            "Sentences, one per line",
            key="sentences",
            placeholder="Your payment of 50 dollars was declined by the bank.",
        )
        sentences = split_sentences(typed)
    else:
        sets = sentence_sets()
        chosen = st.selectbox("Sample set", sets, format_func=lambda s: s.title, key="sentence_set")
        sentences = list(chosen.sentences)
        st.caption("\n\n".join(sentences))
with right:
    voices = model_picker(
        app, "tts", default=["piper:en_US-joe-medium", "espeak:en-us"], label="Voices"
    )
    c1, c2 = st.columns(2)
    samples = int(
        c1.number_input(
            "Samples per voice",
            1,
            20,
            1,
            key="samples",
            help="Clips per voice, each with its own seed.",
        )
    )
    seed = int(c2.number_input("First seed", 0, 2**31 - 100, 0, key="tts_seed"))
    stt = st.text_input("Speech-to-text for WER", DEFAULT_STT, key="stt")
    timeout_s = float(app.settings.model_timeout_s)

warnings: list[str] = []
if sentences and voices:
    try:
        app.check_models(voices, "tts")
        warnings = language_warnings(sentences, voices, app.make_backend)
    except SpecError as exc:
        st.error(str(exc))
for warning in warnings:
    st.warning(warning, icon=":material/translate:")
go = st.button(
    "Speak anyway" if warnings else "Speak",
    type="primary",
    icon=":material/play_arrow:",
    key="speak",
)

if go and not (sentences and voices):
    st.warning("Type a sentence (or pick a sample set) and choose at least one voice.")
elif go:
    try:
        comparison = app.start_tts(
            texts=sentences,
            voices=voices,
            samples=samples,
            stt=stt.strip() or None,
            seed=seed,
            timeout_s=timeout_s,
        )
    except (SpecError, ValueError) as exc:
        st.error(str(exc))
    else:
        total = len(sentences) * len(voices) * samples
        progress = st.progress(0.0, text="Speaking and transcribing…")
        finished = 0
        for event in comparison.iter_events():
            if event.result is not None:
                finished += 1
                progress.progress(finished / total, text=f"{finished} of {total} clips done")
        st.query_params["runs"] = ",".join(str(r) for r in comparison.run_ids)
        st.rerun()


def marked_transcript(reference: str, transcript: str) -> str:
    """The transcript's normalised words, with what differs from the sentence marked."""
    parts = []
    for piece in word_alignment(reference, transcript):
        hyp, ref = " ".join(piece.hypothesis_words), " ".join(piece.reference_words)
        if piece.op == "equal":
            parts.append(hyp)
        elif piece.op == "substitute":
            parts.append(f":red[**{hyp}**] :gray[~~{ref}~~]")
        elif piece.op == "insert":
            parts.append(f":orange[**+{hyp}**]")
        else:
            parts.append(f":gray[~~{ref}~~]")
    return " ".join(parts)


def clip_card(run: Run, generation: Generation, labels: dict, *, stacked: bool) -> None:
    st.markdown(f"**sample {generation.sample_index + 1}** · seed {generation.seed}")
    if generation.status != "ok":
        st.error(generation.error or "Failed.", icon=":material/error:")
        return
    if generation.audio_hash:
        st.audio(str(app.media.path(generation.audio_hash)))
    if generation.transcript is not None:
        st.markdown(marked_transcript(run.input_text, generation.transcript) or "*(nothing heard)*")
    figures = [
        f"WER {generation.wer:.0%}" if generation.wer is not None else None,
        f"CER {generation.cer:.0%}" if generation.cer is not None else None,
        f"gen {generation.gen_s:.2f} s" if generation.gen_s is not None else None,
        f"audio {generation.audio_s:.2f} s" if generation.audio_s is not None else None,
        f"RTF {generation.rtf:.2f}" if generation.rtf is not None else None,
        f"{generation.sample_rate_hz} Hz" if generation.sample_rate_hz else None,
        f"peak +{generation.peak_mem_mb:.0f} MB" if generation.peak_mem_mb is not None else None,
    ]
    st.caption(" · ".join(f for f in figures if f))
    label_bar(
        app.store,
        generation.id,
        annotator,
        labels.get(generation.id),
        labels=TTS_LABELS,
        stacked=stacked,
    )


run_ids = [int(r) for r in st.query_params.get("runs", "").split(",") if r.isdigit()]
for run_id in run_ids:
    run = app.store.get_run(run_id)
    if run is None or run.kind != "tts":
        continue
    st.divider()
    st.markdown(f"**Run {run.id}** · {run.input_text}")
    generations = list(run.generations)
    labels = app.store.current_labels([g.id for g in generations], annotator) if annotator else {}
    by_voice: dict[str, list[Generation]] = {}
    for generation in generations:
        by_voice.setdefault(generation.model_spec, []).append(generation)
    for column, (voice, clips) in zip(st.columns(len(by_voice)), by_voice.items(), strict=True):
        with column:
            st.subheader(voice, divider="gray")
            frame = pd.DataFrame(
                [
                    {c: getattr(g, c, None) for c in CLIP_COLUMNS} | {"input_text": run.input_text}
                    for g in clips
                ],
                columns=CLIP_COLUMNS,
            )
            figures = voice_figures(frame)
            if figures["wer_std"] is not None:
                st.caption(
                    f"WER mean {figures['mean_wer']:.0%} ± {figures['wer_std']:.0%} (sd) "
                    f"over {figures['scored']} clips"
                )
            for clip in clips:
                with st.container(border=True):
                    clip_card(run, clip, labels, stacked=len(by_voice) > 3)
