"""TensorFlow, imported when first needed and kept quiet.

``import tfexplore`` does not import TensorFlow (about 3 s); the first ``open`` does.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Iterator

from .errors import (
    CorruptArtifactError,
    IncompleteCheckpointError,
    TFExploreError,
    UnreadableFileError,
)

# What TensorFlow's native libraries print to stderr while they load, whatever
# TF_CPP_MIN_LOG_LEVEL says (in 2.21 these come before absl's logging is set up, twice: once per
# library). In a notebook they are a pink block that a new user reads as an error.
_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|\] oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc:\d+\]"
    r"|To enable the following instructions: .*rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation_placer\.cc:\d+\] computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
    r"|Could not find cuda drivers on your machine"
)


@contextlib.contextmanager
def _startup_lines_filtered() -> Iterator[None]:
    """Send file descriptor 2 through a pipe while the block runs and pass on every line
    but TensorFlow's start-up noise. A pipe, not a file: looking writes nothing to disk."""
    import threading

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:  # keeps the pipe from filling up (and the import from blocking)
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        os.dup2(saved, 2)  # closes the pipe's last write end: drain() sees EOF
        os.close(saved)
        reader.join(timeout=5)
        os.close(read_end)
        text = b"".join(chunks).decode("utf-8", "replace")
        kept = [line for line in text.splitlines() if not _STARTUP_NOISE.search(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")


@functools.cache
def tf():
    """Return the ``tensorflow`` module, importing it quietly on first use.

    When tfexplore is the one importing TensorFlow, the lines TensorFlow's native libraries
    print while loading (``oneDNN custom operations are on``, ``cpu_feature_guard``, ...) are
    dropped and anything else they print passes through. A user who set
    ``TF_CPP_MIN_LOG_LEVEL`` keeps their setting and sees everything.
    """
    user_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    quiet = user_level is None and "tensorflow" not in sys.modules
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _startup_lines_filtered() if quiet else contextlib.nullcontext():
            import tensorflow
    except ImportError as exc:  # pragma: no cover - tensorflow is a hard dependency
        raise TFExploreError(
            "TensorFlow is not installed.",
            expected="tensorflow (or tensorflow-cpu) 2.21",
            hint="pip install tensorflow-cpu==2.21.0",
        ) from exc
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


def protos():
    """The protobuf modules tfexplore parses with, as one namespace."""
    tf()
    from types import SimpleNamespace

    from tensorflow.core.framework import (
        graph_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        types_pb2,
    )
    from tensorflow.core.protobuf import (
        meta_graph_pb2,
        saved_model_pb2,
        saved_object_graph_pb2,
        saver_pb2,
        tensor_bundle_pb2,
        trackable_object_graph_pb2,
    )
    from tensorflow.python.checkpoint import checkpoint_management  # noqa: F401
    from tensorflow.python.training import checkpoint_state_pb2

    return SimpleNamespace(
        graph_pb2=graph_pb2,
        tensor_pb2=tensor_pb2,
        tensor_shape_pb2=tensor_shape_pb2,
        types_pb2=types_pb2,
        meta_graph_pb2=meta_graph_pb2,
        saved_model_pb2=saved_model_pb2,
        saved_object_graph_pb2=saved_object_graph_pb2,
        saver_pb2=saver_pb2,
        tensor_bundle_pb2=tensor_bundle_pb2,
        trackable_object_graph_pb2=trackable_object_graph_pb2,
        checkpoint_state_pb2=checkpoint_state_pb2,
    )


def dtype_name(enum_value: int) -> str:
    """``types_pb2.DT_FLOAT`` (1) -> ``"float32"``; reference dtypes keep their ``_ref``
    (:func:`tfexplore._wire.dtype_name`: the same names, without importing TensorFlow)."""
    from ._wire import dtype_name as wire_dtype_name

    return wire_dtype_name(enum_value)


def parse_proto(message_cls, data: bytes, path, what: str, hint: str | None = None):
    """Parse binary protobuf ``data`` into a new ``message_cls``; damage becomes
    :class:`CorruptArtifactError` naming ``path`` (:func:`tfexplore._wire.parse_proto`, for
    TensorFlow's messages and for ``_wire``'s alike)."""
    from ._wire import parse_proto as wire_parse_proto

    return wire_parse_proto(message_cls, data, path, what, hint)


@contextlib.contextmanager
def translate_errors(path, what: str, *, hint: str | None = None) -> Iterator[None]:
    """Turn TensorFlow's errors while reading ``path`` into tfexplore errors: the one owner of
    what a failed read of a file means, whoever reads it (inspection, a session's restore).

    ``what`` names the thing being read ("checkpoint index", "tensor 'W'"), for the message;
    ``hint`` replaces the default one for damaged bytes.
    """
    damaged_hint = hint or "the file may be truncated or damaged; re-copy it and compare sizes"
    tensorflow = tf()
    try:
        yield
    except TFExploreError:
        raise
    except tensorflow.errors.PermissionDeniedError as exc:
        raise UnreadableFileError(
            f"A file of the {what} cannot be read: {_first_line(exc)}",
            path=path,
            expected="files readable by this user",
            hint="check the file permissions (ls -l) or copy the files somewhere readable",
        ) from exc
    except tensorflow.errors.NotFoundError as exc:
        raise IncompleteCheckpointError(
            f"A file needed to read the {what} is missing: {_first_line(exc)}",
            path=path,
            expected="every file the checkpoint index names (each .data-NNNNN-of-MMMMM shard)",
            hint="copy the missing files next to the .index file",
        ) from exc
    except tensorflow.errors.OpError as exc:
        raise CorruptArtifactError(
            f"TensorFlow could not read the {what}: {_first_line(exc)}",
            path=path,
            expected="an intact checkpoint written by tf.train.Saver or tf.train.Checkpoint",
            hint=damaged_hint,
        ) from exc
    except (
        IndexError,
        ValueError,
        UnicodeDecodeError,
        OverflowError,
        MemoryError,
        TypeError,
    ) as exc:  # TypeError: "999 does not correspond to a valid tensorflow::DataType"
        raise CorruptArtifactError(
            f"The {what} is damaged: {type(exc).__name__}: {_first_line(exc)}",
            path=path,
            expected="an intact checkpoint written by tf.train.Saver or tf.train.Checkpoint",
            hint=damaged_hint,
        ) from exc


def _first_line(exc: BaseException) -> str:
    """The line of an error that says what went wrong (TensorFlow's graph errors open with
    "Graph execution error:" and a Python stack before the message)."""
    text = getattr(exc, "message", None) or str(exc)
    text = text.split("\nOriginal stack trace for")[0]
    lines = [line for line in text.splitlines() if line.strip()]
    # TensorFlow's run errors: "Graph execution error:", "Detected at node 'x' defined at",
    # "Node: 'x'", then the cause ("model.ckpt.data-00000-of-00001; No such file or
    # directory"), then "\t [[{{node x}}]]"
    noise = ("Graph execution error", "Detected at node", "Node: ", "  ", "\t")
    meaningful = [line for line in lines if not line.startswith(noise)]
    return (meaningful or lines or [type(exc).__name__])[0].strip()
