"""The Trigger tab's samples and the trigger it stamps on them: the dataset's samples, the
core's placed trigger, and for an event kind its trigger as a run builds it, a dynamic one from
a preview generator trained off the GUI thread or a reopened run's own saved generator.
"""

from __future__ import annotations

import numpy as np

from snnstudio.core.attack.trigger import PlacedTrigger, SampleTrigger, placed_trigger_from_config
from snnstudio.core.config import EVENT_TRIGGER_KINDS
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import TriggerError
from snnstudio.gui.event_trigger_preview import DynamicPreview, RunGenerator, run_key
from snnstudio.gui.image_render import frame_of
from snnstudio.gui.tasks import Failure

NOTHING_DRAWN = "nothing drawn yet: paint the trigger on the grid (left drag paints)"


class TriggerSamples:
    """A part of TriggerEditor (mixed into it): its samples and the trigger to stamp. The
    editor has `grid`, `strip`, `previews`, `dynamic_preview`, `generator_task`,
    `form_config`, `trigger_config()`, `update_preview()`, `update_enabled()`,
    `update_brush()` and `show_message()`."""

    def set_samples(
        self,
        samples: np.ndarray,
        image_shape: tuple[int, int, int],
        is_event: bool = False,
        train: SampleSet | None = None,
    ) -> None:
        """The dataset's samples for the preview strip and the grid's background; event
        samples (N, T, C, H, W) are shown summed over their frames, and frame by frame below.
        `train` (labelled samples) is what a dynamic trigger's preview generator learns on."""
        self.image_shape = tuple(int(v) for v in image_shape)  # type: ignore[assignment]
        self.is_event = is_event
        self.train_samples = train
        self.dynamic_preview.clear()
        self.previews.setCurrentIndex(1 if is_event else 0)
        self.grid.set_image_shape(self.image_shape)
        self.update_brush()
        self.strip.set_samples(samples)
        if len(samples):
            self.grid.set_background(frame_of(samples[0]))
        self.update_enabled()
        self.update_preview()

    def placed_trigger(self) -> PlacedTrigger:
        """The core's placed trigger for the current settings (raises SnnStudioError)."""
        cfg = self.trigger_config()
        if cfg.kind == "array" and not cfg.pattern:
            raise TriggerError(NOTHING_DRAWN)
        return placed_trigger_from_config(cfg, self.image_shape, self.is_event)

    def sample_trigger(self) -> SampleTrigger | None:
        """The trigger of any kind for the current settings, as a run would stamp it (raises
        SnnStudioError); a dynamic one from a generator trained on the preview's training
        samples, None while that generator is being trained."""
        cfg = self.trigger_config()
        if cfg.kind not in EVENT_TRIGGER_KINDS:
            return self.placed_trigger()
        run = self.run_generator()
        if run is not None:
            return run.trigger
        return self.dynamic_preview.trigger(cfg, self.image_shape, self.is_event,
                                            self.train_samples)  # fmt: skip

    def show_run_generator(self, run: RunGenerator | None) -> None:
        """Show a reopened run's own saved dynamic trigger while the form holds its attack
        (None: no run's)."""
        self.dynamic_preview.run = run
        self.update_preview()

    def run_generator(self) -> RunGenerator | None:
        """The reopened run's generator, when the form is that run's dynamic attack."""
        if self.form_config is None or self.dynamic_preview.run is None or not self.is_event:
            return None
        cfg = self.form_config()
        if cfg.trigger.kind != "dynamic":
            return None
        return self.dynamic_preview.run_trigger(run_key(cfg), self.image_shape)

    def train_preview_generator(self) -> None:
        """Train the dynamic preview's generator off the GUI thread; redraw when done."""
        cfg, train = self.trigger_config(), self.train_samples
        assert train is not None
        key = DynamicPreview.key(cfg, train)

        def trained(trigger: SampleTrigger) -> None:
            self.dynamic_preview.keep(key, trigger)
            self.update_preview()

        def failed(failure: Failure) -> None:
            self.show_message(f"the preview generator failed: {failure.message}", ok=False)

        self.generator_task.start(
            "preview generator", lambda cancel: DynamicPreview.train(cfg, train, cancel),
            on_returned=trained, on_failed=failed,
        )  # fmt: skip
