"""Comparisons: start one (VLMs on a question and image, voices on sentences), follow and
stop it, start it again, and read the runs stored, with the figures of a voice run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from backends.base import VLMRequest
from backends.spec import SpecError
from lineup.app.part import Part, RunKind, check_timing_mode, request_key
from lineup.catalog import ResolvedModel
from lineup.core import (
    RUNNING,
    InputError,
    MediaError,
    ValidatedImage,
    _,
    check_question,
    check_seed,
    check_sentence,
    check_system_prompt,
    read_image_file,
    validate_image,
)
from lineup.measure import CLIP_COLUMNS, summarize_clips, voice_figures
from lineup.run import (
    DEFAULT_STT,
    PARALLEL,
    ClipResult,
    ColumnConditions,
    Comparison,
    RunInputs,
    TTSComparison,
    active_run,
    differences,
    first_refusal,
    inputs_of,
    language_warnings,
    start_tts_comparison,
    start_vlm_comparison,
)
from lineup.store import Generation, Run


class Compare(Part):
    """Comparisons: start one (VLMs on a question and image, voices on sentences), follow and
    stop it, start it again, and read the runs stored, with the figures of a voice run."""

    def run(self, run_id: int, kind: RunKind | None = None) -> Run | None:
        """A stored run with its generations and their labels; None when there is no such run
        (or it is not of `kind`)."""
        run = self.store.get_run(run_id)
        if run is None or (kind is not None and run.kind != kind):
            return None
        return run

    def runs(self, run_ids: Iterable[int], kind: RunKind | None = None) -> list[Run]:
        """The runs of these ids that exist (and are of `kind`), in the order given."""
        return [run for run in (self.run(run_id, kind) for run_id in run_ids) if run is not None]

    def machine(self, run_id: int) -> dict[str, Any] | None:
        """The machine that ran a comparison (None: stored before Lineup recorded it)."""
        return self.store.machine_of(run_id=run_id)

    def provenance(self, run_id: int) -> dict[str, dict[str, Any]]:
        """{model as named: what its server or engine said about itself} for a comparison."""
        return self.store.provenance_of(run_id=run_id)

    def differences(
        self, rows: Sequence[Generation], provenance: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        """What a person should know when these columns' figures were measured under
        conditions that differ (lineup.run.differences): one column per model, in order."""
        columns: dict[str, ColumnConditions] = {}
        for row in rows:
            if row.model_spec not in columns:
                columns[row.model_spec] = ColumnConditions(
                    row.model_spec,
                    provenance.get(row.model_spec),
                    # `cold` and `concurrent_max` are columns other work adds to generations;
                    # until a row has them they are unknown, and an unknown is no difference.
                    cold=row.cold,
                    concurrent_max=row.concurrent_max,
                )
        return differences(list(columns.values()))

    def latest(self, kind: RunKind, limit: int = 20) -> list[Run]:
        """The newest runs of a kind, newest first, with their generations."""
        return self.store.latest_runs(kind, limit=limit)

    def active(self, run_id: int) -> Comparison | TTSComparison | None:
        """The comparison in progress in this process that holds run `run_id`, if any."""
        found = active_run(run_id)
        return found if isinstance(found, Comparison | TTSComparison) else None

    def in_progress(self, run_ids: Iterable[int]) -> bool:
        """Whether any of these runs still has a model at work, here or in another process
        (whose rows are read from the store, after marking those of a process that died)."""
        reaped = False
        for run_id in run_ids:
            comparison = self.active(run_id)
            if comparison is not None:
                if not comparison.done:
                    return True
                continue
            if not reaped:
                self._app.reap_orphans()
                reaped = True
            run = self.run(run_id)
            if run is not None and any(g.status == RUNNING for g in run.generations):
                return True
        return False

    def cancel(self, run_id: int) -> bool:
        """Stop the run in progress that holds `run_id`; False when none runs here."""
        comparison = active_run(run_id)
        if comparison is None:
            return False
        comparison.cancel()
        return True

    def image_file(self, path: str | Path) -> ValidatedImage:
        """An image file, its size checked from the file before it is read, then validated."""
        return self.image(read_image_file(path, max_bytes=self.settings.max_upload_bytes))

    def image(self, data: bytes) -> ValidatedImage:
        """Uploaded bytes as an image within the size limits; MediaError says what is wrong."""
        return validate_image(
            data, max_bytes=self.settings.max_upload_bytes, max_pixels=self.settings.max_pixels
        )

    def vlm(
        self,
        *,
        question: str,
        models: list[str],
        image: ValidatedImage | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        timeout_s: float | None = None,
        blind: bool = False,
        timing: str = PARALLEL,
        request_id: str | None = None,
    ) -> Comparison:
        """Check everything (the one place that does), store the image and the run, then
        start every model at once. Raises one of INPUT_ERRORS, with nothing stored, for a bad
        question, system prompt, timeout or model.

        `request_id` (a page form's token) starts at most one run: a second call with it (a
        double click), even at the same moment from another thread, returns the comparison
        the first started, whatever its other arguments."""
        return self.started(
            request_key("vlm", request_id),
            lambda: self._vlm(
                question=question,
                models=models,
                image=image,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                timeout_s=timeout_s,
                blind=blind,
                timing=timing,
            ),
        )

    def _vlm(
        self,
        *,
        question: str,
        models: list[str],
        image: ValidatedImage | None,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
        timeout_s: float | None,
        blind: bool,
        timing: str,
    ) -> Comparison:
        timing_mode = check_timing_mode(timing)
        question = check_question(question)
        system = check_system_prompt(system)
        timeout = self._app.timeout(timeout_s)
        resolved = self._app.catalog.resolve_all(models, "vlm")
        image_hash = self.media.put(image.data, image.suffix) if image is not None else None
        request = VLMRequest(
            question=question,
            image=image,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        return start_vlm_comparison(
            self.store,
            resolved,
            request,
            image_hash=image_hash,
            timeout_s=timeout,
            blind=blind,
            secrets=self._app.secrets(),
            stall_s=self.settings.stall_s,
            timing=timing_mode,
        )

    def tts(
        self,
        *,
        texts: str | Sequence[str],
        voices: list[str],
        samples: int = 1,
        stt: str | None = DEFAULT_STT,
        seed: int | None = None,
        timeout_s: float | None = None,
        timing: str = PARALLEL,
        request_id: str | None = None,
    ) -> TTSComparison:
        """Check everything (the one place that does), store one run per sentence, start every
        voice. Raises one of INPUT_ERRORS, with nothing stored, for a bad sentence, sample
        count, seed, timeout, voice or STT model.

        Voices may be specs or names from backends.toml; a voice's #PRESET is passed to
        its synthesize(). See lineup.run.tts for what each clip records. `request_id`
        starts at most one comparison, as in `vlm`.
        """
        return self.started(
            request_key("tts", request_id),
            lambda: self._tts(
                texts=texts,
                voices=voices,
                samples=samples,
                stt=stt,
                seed=seed,
                timeout_s=timeout_s,
                timing=timing,
            ),
        )

    def _tts(
        self,
        *,
        texts: str | Sequence[str],
        voices: list[str],
        samples: int,
        stt: str | None,
        seed: int | None,
        timeout_s: float | None,
        timing: str,
    ) -> TTSComparison:
        timing_mode = check_timing_mode(timing)
        timeout = self._app.timeout(timeout_s)
        sentences = [texts] if isinstance(texts, str) else list(texts)
        checked = [check_sentence(text) for text in sentences if text.strip()]
        if not checked:
            raise InputError(_("Type a sentence for the voices to speak."))
        if samples < 1:
            raise InputError(
                _("The number of samples must be at least 1, not {samples}.").format(
                    samples=samples
                )
            )
        if seed is not None:
            check_seed(seed, samples=samples)
        resolved = self._app.catalog.resolve_all(voices, "tts")
        stt_choice = self._app.catalog.resolve_stt(stt)
        if stt_choice is not None:
            typed: list[tuple[str, str | None]] = [(text, None) for text in checked]
            refused = first_refusal(stt_choice, typed, ResolvedModel.backend)
            if refused is not None:
                raise InputError(refused)
        return start_tts_comparison(
            self.store,
            self.media,
            resolved,
            checked,
            samples=samples,
            stt=stt_choice,
            timeout_s=timeout,
            seed=seed,
            secrets=self._app.secrets(),
            timing=timing_mode,
        )

    def inputs(self, run_ids: Sequence[int]) -> RunInputs | None:
        """What these stored runs were asked with (one VLM run, or the runs of one TTS
        comparison); None when the first does not exist."""
        runs = self.runs(run_ids)
        return inputs_of(runs) if runs else None

    def rerun(
        self, run_ids: Sequence[int], *, request_id: str | None = None
    ) -> Comparison | TTSComparison:
        """A new comparison with the inputs of these stored runs (one VLM run, or the runs
        of one TTS comparison): the same question or sentences, image, models or voices and
        parameters, seed included. InputError when the runs are gone; `request_id` as in
        `start_vlm`."""
        inputs = self.inputs(run_ids)
        if inputs is None:
            raise InputError(
                _("There is no run {run} to run again.").format(run=run_ids[0] if run_ids else "")
            )
        if inputs.kind == "tts":
            return self.tts(
                texts=list(inputs.texts),
                voices=list(inputs.models),
                samples=inputs.samples,
                stt=inputs.stt,
                seed=inputs.seed,
                timeout_s=inputs.timeout_s,
                timing=inputs.timing,
                request_id=request_id,
            )
        image = None
        if inputs.image_hash is not None:
            try:
                image = self._app.stored_image(inputs.image_hash)
            except FileNotFoundError:
                raise MediaError(
                    _(
                        "This run's image is missing from the media store, so it cannot run "
                        "again; upload the image and press Compare."
                    )
                ) from None
        return self.vlm(
            question=inputs.texts[0],
            models=list(inputs.models),
            image=image,
            system=inputs.system,
            temperature=inputs.temperature,
            max_tokens=inputs.max_tokens,
            seed=inputs.seed,
            timeout_s=inputs.timeout_s,
            blind=inputs.blind,
            timing=inputs.timing,
            request_id=request_id,
        )

    def language_warnings(
        self,
        texts: str | Sequence[str],
        voices: Sequence[str],
        stt: str | None = DEFAULT_STT,
    ) -> list[str]:
        """A warning for each voice that cannot speak the script of one of the sentences, and
        the refusal the STT model would meet (it cannot hear a sentence's language). Voices
        may be specs or names from backends.toml; one that is not a usable voice (or STT
        model) gives no warning: starting the run says what is wrong."""
        sentences = [
            text for text in ([texts] if isinstance(texts, str) else texts) if text.strip()
        ]
        if not sentences or not voices:
            return []
        resolved = [
            model for voice in voices if (model := self._app.catalog.resolved_or_none(voice, "tts"))
        ]
        try:
            stt_choice = self._app.catalog.resolve_stt(stt)
        except SpecError:
            stt_choice = None  # not an STT model: starting the run says so
        return language_warnings(sentences, resolved, stt=stt_choice)

    def voice_figures(self, run: Run) -> dict[str, dict[str, Any]]:
        """Per voice of a stored TTS run: the WER, CER and speed over its clips."""
        by_voice: dict[str, list[Generation]] = {}
        for generation in run.generations:
            by_voice.setdefault(generation.model_spec, []).append(generation)
        figures = {}
        for voice, clips in by_voice.items():
            frame = pd.DataFrame(
                [
                    {c: getattr(g, c, None) for c in CLIP_COLUMNS} | {"input_text": run.input_text}
                    for g in clips
                ],
                columns=CLIP_COLUMNS,
            )
            figures[voice] = voice_figures(frame)
        return figures

    def clip_summary(self, results: Iterable[ClipResult]) -> list[dict[str, Any]]:
        """The same figures per voice for the clips of one comparison, in the voices' order."""
        return summarize_clips(results)

    def run_of(self, generation_id: int) -> Run | None:
        """The run that holds a generation, with every generation of it and their labels (for
        a study's answer: the item's answers of every model and repeat); None when there is no
        such generation."""
        generation = self.store.get_generation(generation_id)
        return None if generation is None else self.run(generation.run_id)
