"""How much memory and time a run will take, before it allocates anything.

BPTT keeps, for every timestep of a batch, the tensors autograd saves for the backward pass,
so a training step needs about `saved bytes per sample and timestep x T x batch`. That per
sample-and-step figure is counted from the model itself: one real forward of PROBE_SAMPLES
(two) samples over PROBE_STEPS (two) timesteps under
`torch.autograd.graph.saved_tensors_hooks`, summing the distinct storages autograd keeps
(parameters left out), divided by samples x steps. The rest is arithmetic on the dataset's size
(images N x C x H x W, event frames N x T x 2 x H x W, plus the poisoned and triggered copies
the attack makes), the parameters (with gradients and Adam's two moments) and the inference
batches of evaluation and conversion.

Available memory is psutil's `virtual_memory().available` (Linux: /proc/meminfo's
MemAvailable); on a GPU, torch.cuda.mem_get_info. The run is refused when what it still needs
beyond this process's present size (psutil's RSS) exceeds AVAILABLE_SHARE of what is available.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from functools import lru_cache

import psutil
import torch

from snnstudio.core.config import ExperimentConfig, ModelConfig
from snnstudio.core.data.registry import folder_size, is_event_dataset
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.metrics import eval_batch_size
from snnstudio.core.models.registry import build_network
from snnstudio.core.rules.registry import converts_ann, trains_snn

AVAILABLE_SHARE = 0.9  # leave a tenth of the available memory to everything else
FLOAT_BYTES = 4
GB = 1024**3
# glibc's malloc raises its mmap threshold as large blocks are freed, so later tensors come
# from the heap and freed holes between live ones stay resident: a csnn forward at T=32 x 64
# grew the RSS by 1486 MB for 856 MB of saved tensors (867 MB with MALLOC_MMAP_THRESHOLD_
# fixed at 64 KiB). benchmarks/estimate_memory.py compares the result with measured peaks.
ALLOCATOR_OVERHEAD = 2.0  # rounded up: under-estimating is the dangerous side
RUNTIME_BYTES = 150 * 1024**2  # what a run adds besides its tensors (lazy imports, arenas)
PROBE_STEPS = 2  # timesteps of the probing forward passes
PROBE_SAMPLES = 2  # samples of the probing forward passes
TIMING_BATCH = 32  # largest batch the time probe runs
TIMING_REPEATS = 3  # timed steps; the fastest counts


class MemoryEstimateError(SnnStudioError):
    """A run would not fit in the machine's memory; the message gives the numbers."""


@dataclass(frozen=True)
class DatasetSize:
    """What the estimate needs of a dataset without loading it (from the data registry)."""

    image_shape: tuple[int, int, int]  # (C, H, W) of an image or of one event frame
    train: int
    test: int
    classes: int
    is_event: bool = False


def dataset_size(cfg: ExperimentConfig) -> DatasetSize:
    """cfg.data's size (counted in data.root where the registry can), cut to
    data.train_limit/test_limit."""
    size = folder_size(cfg.data)
    limit = {"train": cfg.data.train_limit, "test": cfg.data.test_limit}
    return DatasetSize(
        image_shape=size.shape,
        train=min(size.train, limit["train"]) if limit["train"] > 0 else size.train,
        test=min(size.test, limit["test"]) if limit["test"] > 0 else size.test,
        classes=size.classes,
        is_event=is_event_dataset(cfg.data.name),
    )


@dataclass(frozen=True)
class ModelProfile:
    """Per-sample figures of one network, counted from a PROBE_SAMPLES-sample forward pass."""

    parameters: int  # number of parameters
    saved_per_step: int  # bytes autograd keeps per sample and timestep (training)
    largest_output: int  # elements of the largest layer output per sample and timestep


def profile_model(
    model: ModelConfig, image_shape: tuple[int, int, int], classes: int, spiking: bool,
    step_mode: str,
) -> ModelProfile:  # fmt: skip
    """Count what one sample costs in `model`'s network (cached per model and shape).

    Two samples, two timesteps, on the CPU: autograd's saved storages (deduplicated,
    parameters excluded) divided by samples x steps give the bytes per sample and step. Two
    samples, not one: training-mode batch norm refuses a single value per channel (VGG11's
    1x1 maps on MNIST-sized inputs).
    """
    return _profile(dataclasses.astuple(model), image_shape, classes, spiking, step_mode)


@lru_cache(maxsize=32)
def _profile(
    model: tuple, image_shape: tuple[int, int, int], classes: int, spiking: bool, step_mode: str
) -> ModelProfile:
    net = build_network(ModelConfig(*model), image_shape, classes, spiking, step_mode)
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    largest = 0

    def watch(module: torch.nn.Module, inputs: tuple, output: object) -> None:
        nonlocal largest
        if isinstance(output, torch.Tensor):
            largest = max(largest, output.numel())

    handles = [m.register_forward_hook(watch) for m in net.modules() if m is not net]
    steps = PROBE_STEPS if spiking else 1
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(torch.rand(steps, PROBE_SAMPLES, *image_shape))
    for handle in handles:
        handle.remove()
    per_call = steps if step_mode == "m" or not spiking else 1  # inputs per layer call
    return ModelProfile(
        parameters=sum(p.numel() for p in net.parameters()),
        saved_per_step=sum(saved.values()) // (steps * PROBE_SAMPLES),
        largest_output=largest // (per_call * PROBE_SAMPLES),
    )


def seconds_per_sample_step(
    model: ModelConfig, image_shape: tuple[int, int, int], classes: int, spiking: bool,
    step_mode: str, batch_size: int,
) -> float:  # fmt: skip
    """One training step's seconds per sample and timestep on this machine's CPU, timed on a
    batch of min(batch_size, TIMING_BATCH) over two timesteps after a warm-up step."""
    batch = max(1, min(batch_size, TIMING_BATCH))
    return _timed(dataclasses.astuple(model), image_shape, classes, spiking, step_mode, batch)


@lru_cache(maxsize=32)
def _timed(
    model: tuple, image_shape: tuple[int, int, int], classes: int, spiking: bool,
    step_mode: str, batch: int,
) -> float:  # fmt: skip
    net = build_network(ModelConfig(*model), image_shape, classes, spiking, step_mode)
    steps = PROBE_STEPS if spiking else 1
    x = torch.rand(steps, batch, *image_shape)
    net(x).sum().backward()  # warm-up: first calls allocate and pick kernels
    best = float("inf")
    for _ in range(TIMING_REPEATS):  # the fastest: other jobs on a shared machine only slow it
        started = time.perf_counter()
        net(x).sum().backward()
        best = min(best, time.perf_counter() - started)
    return best / (steps * batch)


@dataclass(frozen=True)
class RunEstimate:
    """Bytes and seconds a run is expected to take, and what the machine has."""

    dataset_bytes: int  # training, poisoned, test and triggered test arrays
    model_bytes: int  # parameters, gradients and optimizer state
    training_bytes: int  # one BPTT step: saved activations for T x batch, plus its input
    inference_bytes: int  # one evaluation / calibration batch at the longest T
    saved_per_step: int  # of training_bytes: bytes per sample and timestep
    timesteps: int
    batch_size: int
    process_bytes: int  # this process now
    available_bytes: int
    available_source: str
    seconds: float
    # seconds of one model (the backdoored one; its clean twin takes as long), by part
    ann_seconds: float = 0.0  # ANN twin training (LR_C, LR_H)
    conversion_seconds: float = 0.0  # calibration and evaluation of the converted SNN
    snn_seconds: float = 0.0  # SNN training (LR_B, LR_H)
    trigger_seconds: float = 0.0  # a dynamic trigger's generator training, once per run

    @property
    def needed_bytes(self) -> int:
        """What the run adds to this process at its peak."""
        transient = ALLOCATOR_OVERHEAD * max(self.training_bytes, self.inference_bytes)
        return int(RUNTIME_BYTES + self.dataset_bytes + self.model_bytes + transient)

    @property
    def peak_bytes(self) -> int:
        return self.process_bytes + self.needed_bytes

    @property
    def fits(self) -> bool:
        return self.needed_bytes <= AVAILABLE_SHARE * self.available_bytes

    def summary(self) -> str:
        return (
            f"about {gigabytes(self.peak_bytes)} peak memory "
            f"({gigabytes(self.needed_bytes)} for this run: data {gigabytes(self.dataset_bytes)}, "
            f"training step {gigabytes(self.training_bytes)}, inference "
            f"{gigabytes(self.inference_bytes)}, model {gigabytes(self.model_bytes)}) of "
            f"{gigabytes(self.available_bytes)} available ({self.available_source}); "
            f"about {duration(self.seconds)}"
        )


def gigabytes(value: float) -> str:
    return f"{value / GB:.2f} GB" if value >= 0.01 * GB else f"{value / 1024**2:.1f} MB"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def available_memory(device: torch.device) -> tuple[int, str]:
    """Bytes free for the run's tensors, and where the figure comes from."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free), f"torch.cuda.mem_get_info on {device}"
    return int(psutil.virtual_memory().available), "psutil available memory"


def estimate_run(
    cfg: ExperimentConfig, step_mode: str, device: torch.device | None = None
) -> RunEstimate:
    """The memory and time `cfg` needs, from its dataset size and its model's profile, in
    spikingjelly step mode `step_mode` ('s' or 'm', as runner.resolve_step_mode picks)."""
    device = device or torch.device("cpu")
    data = dataset_size(cfg)
    t_train = cfg.sim.timesteps
    t_eval = max(cfg.sim.eval_timesteps, cfg.sim.timesteps)
    frame = data.image_shape[0] * data.image_shape[1] * data.image_shape[2]
    sample = frame * (t_train if data.is_event else 1)  # elements of one stored sample
    # train + its poisoned copy, test + its triggered copy (about (K-1)/K of it)
    triggered = data.test * (data.classes - 1) // data.classes
    dataset = FLOAT_BYTES * sample * (2 * data.train + data.test + triggered)
    if data.is_event:  # frames are binned as uint8, then converted
        dataset += sample * data.train

    converts, trains = converts_ann(cfg.rule.name), trains_snn(cfg.rule.name)
    snn = profile_model(cfg.model, data.image_shape, data.classes, True, step_mode)
    model = FLOAT_BYTES * snn.parameters * 4  # weights, gradients, Adam's two moments
    batch = cfg.train.batch_size
    snn_step = seconds_per_sample_step(cfg.model, data.image_shape, data.classes, True,
                                       step_mode, batch)  # fmt: skip
    step_input = (
        FLOAT_BYTES
        * frame
        * batch
        * (t_train if data.is_event or cfg.sim.encoder == "poisson" else 1)
    )
    training = snn.saved_per_step * t_train * batch + step_input if trains else 0
    ann_seconds = conversion_seconds = snn_seconds = 0.0
    stages = 2 if cfg.train.clean_twin else 1
    test_samples = data.test + triggered
    if converts:
        ann = profile_model(cfg.model, data.image_shape, data.classes, False, "s")
        model += FLOAT_BYTES * ann.parameters * 4
        training = max(training, ann.saved_per_step * batch)
        ann_epochs = cfg.rule.ann_epochs or cfg.train.epochs
        ann_step = seconds_per_sample_step(cfg.model, data.image_shape, data.classes, False,
                                           "s", batch)  # fmt: skip
        ann_seconds = ann_epochs * (data.train + test_samples / 3) * ann_step
        reference = min(cfg.rule.reference_samples or data.train, data.train)
        # MaxNorm and RobustNorm read one ANN pass over the reference; Spike-Norm runs the
        # SNN over it at T about twice (spike_norm.py). Measured, ResNet18 on MNIST at T = 64,
        # one thread: MaxNorm's calibration 3 s, scoring 1891 test images 229 s
        spike_passes = 2 if cfg.rule.norm == "spike" else 0
        calibration = reference * (ann_step / 3 + spike_passes * t_eval * snn_step / 3)
        conversion_seconds = calibration + test_samples * t_eval * snn_step / 3
    if trains:
        per_epoch = data.train + test_samples / 3  # a forward is about a third of a step
        snn_seconds = cfg.train.epochs * per_epoch * t_train * snn_step
    # A dynamic trigger first trains its generator with a victim of the run's network: per
    # batch one generator step and one victim step on clean and perturbed inputs, three SNN
    # training steps (attack/dynamic_trigger.py); measured on digits-dvs, 14-15 s against
    # 15 s for the run's 4 epochs, which the estimate had left out.
    trigger_seconds = 0.0
    if cfg.trigger.kind == "dynamic":
        trigger_seconds = cfg.trigger.generator_epochs * data.train * t_train * snn_step * 3
    eval_batch = eval_batch_size(t_eval, device)  # metrics.predict's batch at this T
    eval_steps = t_eval if data.is_event or cfg.sim.encoder == "poisson" else 1
    eval_input = FLOAT_BYTES * frame * eval_batch * eval_steps
    layer_steps = t_eval if step_mode == "m" else 1  # multi-step holds a layer's whole sequence
    inference = eval_input + 2 * FLOAT_BYTES * eval_batch * snn.largest_output * layer_steps
    available, source = available_memory(device)
    return RunEstimate(
        dataset_bytes=dataset, model_bytes=model, training_bytes=training,
        inference_bytes=inference, saved_per_step=snn.saved_per_step, timesteps=t_train,
        batch_size=batch, process_bytes=psutil.Process().memory_info().rss,
        available_bytes=available, available_source=source,
        seconds=(ann_seconds + conversion_seconds + snn_seconds) * stages + trigger_seconds,
        ann_seconds=ann_seconds, conversion_seconds=conversion_seconds, snn_seconds=snn_seconds,
        trigger_seconds=trigger_seconds,
    )  # fmt: skip


def largest_fitting(cfg: ExperimentConfig, key: str, step_mode: str, device: torch.device) -> int:
    """The largest value of `key` ('timesteps' or 'batch_size') at which `cfg` fits; 0: none."""
    section = cfg.sim if key == "timesteps" else cfg.train
    low, high = 0, getattr(section, key)
    while low < high:  # binary search: the estimate grows with both
        mid = (low + high + 1) // 2
        trial = dataclasses.replace(cfg)
        trial.sim = dataclasses.replace(cfg.sim)
        trial.train = dataclasses.replace(cfg.train)
        setattr(trial.sim if key == "timesteps" else trial.train, key, mid)
        if estimate_run(trial, step_mode, device).fits:
            low = mid
        else:
            high = mid - 1
    return low


def refusal(cfg: ExperimentConfig, estimate: RunEstimate, step_mode: str,
            device: torch.device) -> str:  # fmt: skip
    """Why the run does not fit, with the numbers and what to lower."""
    advice = []
    timesteps = largest_fitting(cfg, "timesteps", step_mode, device)
    if timesteps:
        advice.append(f"sim.timesteps to {timesteps} or less")
    batch = largest_fitting(cfg, "batch_size", step_mode, device)
    if batch:
        advice.append(f"train.batch_size to {batch} or less")
    if estimate.dataset_bytes > estimate.training_bytes:
        advice.append(
            "data.train_limit" + (" or data.frame_side" if is_event_dataset(cfg.data.name) else "")
        )
    return (
        f"this run would need about {gigabytes(estimate.needed_bytes)} more memory but "
        f"{gigabytes(estimate.available_bytes)} is available ({estimate.available_source}; "
        f"refused above {AVAILABLE_SHARE:.0%}): one training step keeps "
        f"{gigabytes(estimate.training_bytes)} ({estimate.saved_per_step / 1024:.0f} KB per "
        f"sample and timestep x T = {estimate.timesteps} x batch {estimate.batch_size}), the "
        f"data {gigabytes(estimate.dataset_bytes)}, inference "
        f"{gigabytes(estimate.inference_bytes)}; lower " + " or ".join(advice)
    )


def check_fits(cfg: ExperimentConfig, step_mode: str, device: torch.device) -> RunEstimate:
    """The estimate of `cfg`; raises MemoryEstimateError when the run would not fit."""
    estimate = estimate_run(cfg, step_mode, device)
    if not estimate.fits:
        raise MemoryEstimateError(refusal(cfg, estimate, step_mode, device))
    return estimate
