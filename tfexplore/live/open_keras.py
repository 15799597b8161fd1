"""Sessions on Keras files and live TF2 objects: ``.keras`` (safe mode, Lambda layers refused
first), ``.h5`` models, a model or ``tf.train.Checkpoint`` of your own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .._tf import _first_line, tf
from ..errors import (
    ArtifactNotFoundError,
    SourceLoadError,
    UnsafeArtifactError,
)
from .backend_objects import _ObjectBackend
from .keras_h5 import _build_optimizer, _copy_h5_optimizer_state, _h5_compile_args
from .open_graph import _maybe_prefix
from .session import Session


def _open_keras_file(path: Path, checkpoint, *, trust: bool) -> Session:
    if not path.exists():
        raise ArtifactNotFoundError(
            f"No Keras file at {str(path)!r}.", path=path, expected="a .keras file"
        )
    from ..artifacts.keras import probe as _h5probe
    from ..artifacts.keras.file import KerasFile

    # even with trust: zip members' declared sizes are checked and every HDF5 read rehearsed
    # in a child (_h5probe: every attribute and dataset) before Keras reads the file
    KerasFile(path).format  # noqa: B018
    _h5probe.check(path)
    if not trust:
        _refuse_keras_code(path)
    if path.suffix in (".h5", ".hdf5"):
        from ..artifacts.keras.file import KerasFile

        keras_file = KerasFile(path)
        if keras_file.format == "h5_model":
            return _open_legacy_h5(path, keras_file, checkpoint, trust=trust)
    model = _load_keras_model(path, trust=trust)
    opened = _open_objects(model, checkpoint)
    opened.source = str(path)
    return opened


def _load_keras_model(path: Path, *, trust: bool, **options):
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=not trust, **options)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "unsafe" in str(exc).lower():
            raise UnsafeArtifactError(
                f"Loading {str(path)!r} would run Python code it carries (a Lambda layer).",
                path=path,
                expected="a .keras file without Python lambdas",
                hint="pass trust=True if you trust the file",
            ) from exc
        raise _keras_load_error(path, exc) from exc
    except (TypeError, KeyError, AttributeError, OSError) as exc:
        raise _keras_load_error(path, exc) from exc


def _refuse_keras_code(path: Path) -> None:
    """Inspect the file first (no code runs) and refuse Lambda layers before Keras sees them."""
    from ..artifacts.keras.file import KerasFile

    keras_file = KerasFile(path)
    lambdas = keras_file.lambda_layers
    custom = keras_file.custom_classes
    if custom and not lambdas:  # what tfexplore scan lists as "runs Python", refused alike
        raise UnsafeArtifactError(
            f"Loading {str(path)!r} would import and run code for class(es) that are not "
            "Keras's own: " + ", ".join(repr(name) for name in custom) + ".",
            path=path,
            expected="a Keras file of Keras's own classes",
            hint="inspect it with tfexplore.open (runs nothing); if you trust the file and the "
            "code that defines those classes, import it and pass trust=True",
        )
    if lambdas:
        raise UnsafeArtifactError(
            f"Loading {str(path)!r} would run Python code it carries: Lambda layer(s) "
            + ", ".join(repr(name) for name in lambdas)
            + ".",
            path=path,
            expected="a Keras file without Lambda layers",
            hint="inspect it with tfexplore.open (runs nothing); pass trust=True if you trust it",
        )


def _keras_load_error(path: Path, exc: BaseException) -> SourceLoadError:
    return SourceLoadError(
        f"Keras could not load {str(path)!r}: {type(exc).__name__}: {_first_line(exc)}",
        path=path,
        expected="a Keras 3 model file whose layers this Keras knows",
        hint="custom layers need their classes (keras.saving.register_keras_serializable); "
        "tfexplore.open(path) still shows its weights without loading it",
    )


def _open_objects(source, checkpoint) -> Session:
    tensorflow = tf()
    model = optimizer = None
    if isinstance(source, Mapping):
        objects = dict(source)
        root = tensorflow.train.Checkpoint(**objects)
        model = next(
            (
                o
                for o in objects.values()
                if hasattr(o, "trainable_variables") and hasattr(o, "layers")
            ),
            None,
        )
        optimizer = next((o for o in objects.values() if hasattr(o, "apply_gradients")), None)
    elif isinstance(source, tensorflow.train.Checkpoint):
        root = source
        children = {
            name: getattr(source, name, None) for name in dir(source) if not name.startswith("_")
        }
        model = next(
            (
                o
                for o in children.values()
                if hasattr(o, "layers") and hasattr(o, "trainable_variables")
            ),
            None,
        )
        optimizer = next((o for o in children.values() if hasattr(o, "apply_gradients")), None)
    elif hasattr(source, "trainable_variables"):
        model = source
        optimizer = getattr(model, "optimizer", None)
        objects = {"model": model, **({"optimizer": optimizer} if optimizer is not None else {})}
        root = tensorflow.train.Checkpoint(**objects)
    else:
        raise TypeError(
            f"tfexplore.session cannot use a {type(source).__name__}: expected a path, a "
            "tf.compat.v1.Session, a tf.Graph, a Keras model, a tf.train.Checkpoint or a dict of "
            "trackable objects"
        )
    if optimizer is None and model is not None:
        optimizer = getattr(model, "optimizer", None)
    _build_optimizer(optimizer, model)
    backend = _ObjectBackend(root, model=model, optimizer=optimizer)
    return Session(backend, source=type(source).__name__, checkpoint=_maybe_prefix(checkpoint))


def _open_legacy_h5(path: Path, keras_file, checkpoint, *, trust: bool) -> Session:
    """A full-model HDF5 file (``model.save("m.h5")``, Keras 1/2, tf.keras 2.x or Keras 3).

    Keras 3's own ``load_model`` compiles such a file with an optimizer that rejects the loaded
    variables on the first step and cannot rebuild string losses ("mse"). So: the architecture
    and weights are loaded with ``compile=False``; the model is compiled from the file's
    ``training_config``; the optimizer is built on the trainable variables and its state is
    copied from ``optimizer_weights`` (read with :class:`tfexplore.artifacts.keras.KerasFile`,
    matched by name, else by order and shape). State that cannot be matched is not guessed: the
    optimizer then starts fresh and ``session.warning`` says so.
    """
    model = _load_keras_model(path, trust=trust, compile=False)
    notes: list[str] = []
    warnings_: list[str] = []
    training_config = keras_file.training_config
    if not training_config:
        notes.append(
            f"{path.name} was saved without a training_config (not compiled): compile the "
            "model (session.model) or train with loss=..."
        )
    else:
        model.compile(**_h5_compile_args(path, training_config, warnings_))
        _build_optimizer(model.optimizer, model)
        _copy_h5_optimizer_state(path, keras_file, model, notes, warnings_)
    opened = _open_objects(model, checkpoint)
    opened.source = str(path)
    opened.notes = notes + warnings_
    opened.warning = " ".join(warnings_) or None
    if opened.warning:
        import warnings

        warnings.warn(f"tfexplore.session({str(path)!r}): {opened.warning}", stacklevel=3)
    opened._global_step_seen = opened._read_global_step()
    return opened
