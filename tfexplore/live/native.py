"""Crashes in TensorFlow's native code, caught before they can take the user's kernel down.

A segfault inside a TensorFlow kernel kills the Python process: in a notebook, the kernel and
every unsaved result in it. Python cannot catch it. So when a session is about to train a model
whose first step would run a kernel known to crash on this machine, tfexplore first runs that
step once in a separate process (a *rehearsal*) with the same file, the same feed and the same
settings. If the rehearsal dies, the user gets a :class:`~tfexplore.errors.NativeCrashError`
naming the cause and the setting that avoids it, and their kernel lives on; if it survives, the
step runs in the kernel as usual.

Known conditions (``KNOWN_RISKS``):

- ``onednn-avx512-depthwise``: with TensorFlow's oneDNN ops on (the default on CPUs with
  AVX-512 VNNI/BF16 or AMX) and an AVX-512 CPU, the backward pass of a depthwise convolution
  (``DepthwiseConv2dNativeBackpropInput``: Keras ``SeparableConv2D``/``DepthwiseConv2D``) runs
  oneDNN's ``jit_dw:avx512_core`` kernel, which crashed with SIGSEGV on the 60x60x16, batch 4
  case of a Keras 2.0.5 model (``g16mb4_ic16oc16_ih60oh60kh3sh1dh0ph1``). tfexplore's own
  handling is not involved: the same oneDNN primitives, with the same shapes and memory
  formats, run when Keras alone loads and trains that file (``docs/native-crashes.md``).
  ``TF_ENABLE_ONEDNN_OPTS=0``, set before TensorFlow is imported, avoids it.

``session.rehearse`` chooses: ``None`` (default) rehearses when a known risk applies, ``True``
always, ``False`` never. A rehearsal costs one process start, one TensorFlow import and one
step (a few seconds), once per session.

Example::

    >>> from tfexplore.live import native as _native
    >>> _native.active_risks({"DepthwiseConv2dNativeBackpropInput"})   # doctest: +SKIP
    [NativeRisk(name='onednn-avx512-depthwise', ...)]
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "KNOWN_RISKS",
    "NativeRisk",
    "Rehearsal",
    "active_risks",
    "cpu_flags",
    "keras_training_op_types",
    "guard_first_step",
    "onednn_enabled",
    "rehearse",
    "run_child",
]

IN_REHEARSAL = "TFEXPLORE_REHEARSAL"  # set in the child: no rehearsal of the rehearsal
_AVX512_CORE = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})
_BELOW_AVX512 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2")


@dataclass(frozen=True)
class NativeRisk:
    """A kernel known to crash the process under some condition of the machine."""

    name: str
    op_types: frozenset[str]
    cause: str
    avoid: str

    def applies(self, op_types: Iterable[str]) -> bool:
        return bool(self.op_types & set(op_types)) and _onednn_avx512()


KNOWN_RISKS: tuple[NativeRisk, ...] = (
    NativeRisk(
        name="onednn-avx512-depthwise",
        op_types=frozenset({"DepthwiseConv2dNativeBackpropInput"}),
        cause=(
            "oneDNN's AVX-512 depthwise-convolution kernel (jit_dw:avx512_core, backward_data), "
            "which TensorFlow uses for the backward pass of depthwise and separable convolutions "
            "when its oneDNN ops are on, crashed the process on this kind of CPU"
        ),
        avoid=(
            "restart the kernel with TF_ENABLE_ONEDNN_OPTS=0 in its environment (or "
            "os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0' in the first cell, before anything "
            "imports TensorFlow); training then uses TensorFlow's own kernels"
        ),
    ),
)

# Keras layers whose training step runs DepthwiseConv2dNativeBackpropInput.
_KERAS_LAYER_OPS = {
    "DepthwiseConv2D": "DepthwiseConv2dNativeBackpropInput",
    "SeparableConv2D": "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv1D": "DepthwiseConv2dNativeBackpropInput",
    "SeparableConv1D": "DepthwiseConv2dNativeBackpropInput",
}


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty where /proc/cpuinfo is absent)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN ops in this process (TensorFlow's own answer)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def _onednn_avx512() -> bool:
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", ""))
    if capped.upper() in _BELOW_AVX512:
        return False
    return _AVX512_CORE <= cpu_flags() and onednn_enabled()


def active_risks(op_types: Iterable[str]) -> list[NativeRisk]:
    """The known risks that running ops of ``op_types`` on this machine would meet."""
    op_types = set(op_types)
    return [risk for risk in KNOWN_RISKS if risk.applies(op_types)]


def keras_training_op_types(model) -> set[str]:
    """The risky op types a Keras model's training step runs, from its layers' classes."""
    found: set[str] = set()
    flatten = getattr(model, "_flatten_layers", None)
    layers = flatten(include_self=False) if flatten else getattr(model, "layers", [])
    for layer in layers:
        for cls in type(layer).__mro__:
            if cls.__name__ in _KERAS_LAYER_OPS:
                found.add(_KERAS_LAYER_OPS[cls.__name__])
    return found


# -- before the first training step of a session ----------------------------------------------
def guard_first_step(session, batch, train_op, loss) -> None:
    """Before the first step of ``session.train``: if it would run a kernel known to crash
    this machine's process, run it once in a child process first; raise
    :class:`NativeCrashError` if that child dies, so this kernel never does."""
    from ..errors import NativeCrashError

    key = (
        (train_op, loss) if all(x is None or isinstance(x, str) for x in (train_op, loss)) else None
    )
    if session.rehearse is False or key in session._rehearsed or os.environ.get(IN_REHEARSAL):
        return
    risks = active_risks(session._backend.training_op_types())
    if not risks and not session.rehearse:
        return
    if key is not None:
        session._rehearsed.add(key)
    what = "; ".join(r.cause for r in risks) or "you asked for it (session.rehearse = True)"
    result = None
    if session._reopen is not None and key is not None:
        result = rehearse(session._reopen, batch, train={"train_op": train_op, "loss": loss})
    if result is None:
        session.notes.append(
            f"The first training step was not rehearsed in a separate process ({what}): "
            "this session was not opened from a file, or its feed or train_op is not "
            "plain data. A crash in TensorFlow's native code would end this process."
        )
        return
    if result.crashed:
        risk = risks[0] if risks else None
        error = NativeCrashError(
            f"The first training step of {session.source} crashed TensorFlow's native code "
            f"({result.signal_name}) when tfexplore rehearsed it in a separate process; it "
            "was not run here, and this kernel is unharmed.",
            path=session.source if session._reopen else None,
            expected=f"a step that runs on this machine; known cause: {what}"
            if risk
            else "a step that runs on this machine",
            hint=risk.avoid
            if risk
            else (
                "run the same step in a plain Python process to see TensorFlow's message; "
                "on x86 CPUs try TF_ENABLE_ONEDNN_OPTS=0 set before TensorFlow is imported"
            ),
        )
        error.risk = risk.name if risk else None
        error.signal = result.signal_name
        raise error
    session.notes.append(
        f"The first training step was rehearsed in a separate process first ({what}); "
        "it ran without crashing, so training goes on here."
    )


# -- running a step in a child process ----------------------------------------------------------
@dataclass(frozen=True)
class Rehearsal:
    """How a child process ended: ``returncode`` (negative: killed by that signal)."""

    returncode: int
    output: str

    @property
    def crashed(self) -> bool:
        return self.returncode < 0 or self.returncode in (
            128 + signal.SIGSEGV,
            128 + signal.SIGABRT,
        )

    @property
    def signal_name(self) -> str:
        number = -self.returncode if self.returncode < 0 else self.returncode - 128
        try:
            return signal.Signals(number).name
        except ValueError:
            return f"signal {number}"


def run_child(
    argv: list[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> Rehearsal:
    """Run ``argv`` and say how it ended; a child still running after ``timeout`` is killed."""
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=timeout, env=dict(env) if env is not None else None, check=False, cwd=cwd,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode("utf-8", "replace") if exc.stdout else ""
        return Rehearsal(returncode=0, output=output + f"\n(still running after {timeout:.0f} s)")
    return Rehearsal(done.returncode, done.stdout.decode("utf-8", "replace")[-4000:])


def _encode_batch(batch, folder: Path) -> dict | None:
    """Write a feed batch as .npy files; ``None`` when it holds something other than arrays
    keyed by name (tensors as keys, callables): that batch cannot be rehearsed."""
    if batch is None:
        return {"kind": "none"}
    if isinstance(batch, Mapping):
        if not all(isinstance(k, str) for k in batch):
            return None
        items, kind = list(batch.items()), "dict"
    elif isinstance(batch, (tuple, list)):
        items, kind = [(str(i), v) for i, v in enumerate(batch)], "tuple"
    else:
        items, kind = [("0", batch)], "single"
    names = []
    for position, (key, value) in enumerate(items):
        try:
            array = np.asarray(value)
        except Exception:  # a tensor from another graph, a generator...
            return None
        if array.dtype == object:
            return None
        np.save(folder / f"{position}.npy", array, allow_pickle=False)
        names.append(key)
    return {"kind": kind, "names": names}


def _decode_batch(spec: dict, folder: Path):
    if spec["kind"] == "none":
        return None
    values = [np.load(folder / f"{i}.npy", allow_pickle=False) for i in range(len(spec["names"]))]
    if spec["kind"] == "dict":
        return dict(zip(spec["names"], values))
    return tuple(values) if spec["kind"] == "tuple" else values[0]


def rehearse(
    open_args: Mapping[str, Any], batch, *, train: Mapping[str, Any], timeout: float = 600.0
) -> Rehearsal | None:
    """Open ``open_args`` with :func:`tfexplore.session` in a child process and run one
    training step on ``batch`` with ``train`` (``train_op``/``loss`` names). ``None`` when
    the batch cannot be handed to another process."""
    with tempfile.TemporaryDirectory(prefix="tfexplore-rehearsal-") as tmp:
        folder = Path(tmp)
        encoded = _encode_batch(batch, folder)
        if encoded is None:
            return None
        spec = {"open": dict(open_args), "batch": encoded, "train": dict(train)}
        (folder / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, IN_REHEARSAL: "1"}
        # The child starts in the rehearsal's own empty folder, never the user's working
        # directory: `-m` puts the working directory first on sys.path, and a folder that
        # ships a `tfexplore/` package (an artifact's folder, say) would otherwise run its
        # Python here.
        return run_child(
            [sys.executable, "-m", "tfexplore._rehearse", str(folder)],
            timeout=timeout,
            env=env,
            cwd=folder,
        )
