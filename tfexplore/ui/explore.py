"""What ``tfexplore.explore(path)`` shows (behind :func:`~tfexplore.widgets.explore`),
testable without ipywidgets: :class:`ExploreModel` (the tabs an artifact gets, the Overview
and Variables tabs, how a live session starts) and the HTML it is made of: a DataFrame
filtered by a query (:func:`filter_frame`) and shown as a table (:func:`frame_html`),
Markdown as HTML (:func:`markdown_html`).
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TFExploreError
from ..graph.query import parse_query

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExploreModel", "filter_frame", "frame_html", "markdown_html"]


class ExploreModel:
    """What ``tfexplore.explore(path)`` shows for one artifact: its tabs (only those that
    apply), the Overview HTML, the variables table and its filter, and how a live session is
    started for the *Restore and train* tab:

    - a TF1 checkpoint (or folder) with its ``.meta``, or a ``.meta`` file: the graph is
      imported (``tfexplore.session(path)``);
    - a full Keras model file (``.keras``, ``.h5`` with its architecture): loaded with the
      session's safety rules (``safe_mode``; ``Lambda`` layers refused unless ``trust``);
    - with ``model=`` (a Keras model, ``tf.train.Checkpoint``, dict of trackables, or your
      ``tf.compat.v1.Session``/``tf.Graph``): a checkpoint or folder restores into it
      (``tfexplore.session(model, checkpoint)``), a Keras weights file is loaded into it
      (``model.load_weights``).

    Where none applies (a TF2 checkpoint or a ``.weights.h5`` without ``model=``), the tab
    is still there and :attr:`needs` says what to pass.

    Example::

        >>> model = ExploreModel("runs/mnist")                  # doctest: +SKIP
        >>> model.tabs                                          # doctest: +SKIP
        ['Overview', 'Graph', 'Variables', 'Tensors', 'Restore and train']
        >>> ExploreModel("runs/tf2").needs                       # doctest: +SKIP
        'This TF2 checkpoint holds values only ... pass model=...'
    """

    def __init__(self, source: Any, *, model: Any = None, trust: bool = False) -> None:
        if isinstance(source, (str, os.PathLike)):
            from ..artifacts.open import open as open_artifact

            source = open_artifact(source)
        #: a Keras ModelCheckpoint folder is explored through its latest file (``run`` keeps
        #: the folder: ``run.history()``, ``run.diff()``)
        self.run = source if getattr(source, "kind", "") == "keras_run" else None
        self.artifact = source.latest if self.run is not None else source
        if getattr(source, "kind", "") == "checkpoint_dir" and not len(source):
            # graphs without tensors: explore the newest graph (its .meta)
            self.artifact = source.meta_graph or source
        self.model = model
        self.trust = trust
        #: the folder's training dynamics, once :meth:`compute_dynamics` ran (never at open)
        self.dynamics: Any = None

    @property
    def kind(self) -> str:
        return self.artifact.kind

    def _main(self) -> Any:
        """The artifact whose variables and graph are shown (a folder's latest checkpoint)."""
        return self.artifact.latest if self.kind == "checkpoint_dir" else self.artifact

    @property
    def has_graph(self) -> bool:
        """A graph to draw: a meta graph, SavedModel, GraphDef, or a checkpoint's ``.meta``."""
        if self.kind == "saved_model":  # its saved_model.pb may be unreadable (graph_error)
            return self.artifact.graph_error is None
        if self.kind in ("meta_graph", "graph_def"):
            return True
        if self.kind in ("checkpoint", "checkpoint_dir"):
            return self._main().meta_path.exists()
        return False

    @property
    def has_variables(self) -> bool:
        return self.kind != "graph_def" or len(self.variables) > 0

    # -- the live session ------------------------------------------------------------------
    @property
    def _keras_full_model(self) -> bool:
        """A Keras file with its architecture: a ``.keras`` zip, or a legacy full-model
        ``.h5`` (``tfexplore.session`` loads its architecture and weights, compiles it from
        its ``training_config`` and copies the optimizer state from ``optimizer_weights``)."""
        return self.kind == "keras" and self.artifact.format in ("keras_v3", "h5_model")

    @property
    def session_source(self) -> Any:
        """What ``tfexplore.session`` opens for training: a path (a checkpoint with its
        ``.meta``, a ``.meta`` file, a full Keras model file), the ``model=`` passed in, or
        ``None`` when this artifact cannot run as it is (see :attr:`needs`)."""
        if self.model is not None and self.kind in ("checkpoint", "checkpoint_dir", "keras"):
            return self.model
        if self.kind in ("checkpoint", "checkpoint_dir") and self.has_graph:
            return str(self.artifact.path)
        if self.kind == "meta_graph" and str(self.artifact.path).endswith(
            (".meta", ".meta.pbtxt", ".meta.txt")
        ):
            return str(self.artifact.path)
        if self._keras_full_model or self.kind == "saved_model":
            return str(self.artifact.path)
        return None

    @property
    def can_train(self) -> bool:
        """Whether *Start session* can open a session for this artifact."""
        return self.session_source is not None

    @property
    def offers_session(self) -> bool:
        """Whether the *Restore and train* tab is shown: the artifact can run, or could with
        ``model=`` (the tab then says so)."""
        return self.can_train or self.kind in (
            "checkpoint",
            "checkpoint_dir",
            "keras",
            "saved_model",
        )

    @property
    def needs(self) -> str | None:
        """What is missing to train (``None`` when :attr:`can_train`)."""
        if self.can_train:
            return None
        name = self.artifact.path.name  # a Path, or a RemotePath for a URL
        if self.kind == "keras":
            return (
                f"{name} holds weights only, no architecture, so there is no model to train. "
                f"Pass the model they belong to: tfexplore.explore({name!r}, model=make_model(), "
                "feed=(x, y)); its weights (and optimizer state) are loaded from the file."
            )
        if self.kind in ("checkpoint", "checkpoint_dir"):
            style = getattr(self._main(), "style", "name_based")
            if style == "object_based":
                return (
                    "This TF2 checkpoint holds variable values only: the model is Python code, "
                    f"not in the file. Pass it: tfexplore.explore({name!r}, model=my_model, "
                    "feed=dataset) (a Keras model, a tf.train.Checkpoint or a dict of objects "
                    "as you saved them); the checkpoint is then restored into it."
                )
            return (
                "This TF1 checkpoint has no .meta file, so there is no graph to import. Rebuild "
                f"the graph in Python and pass it: tfexplore.explore({name!r}, model=sess) "
                "(your tf.compat.v1.Session or tf.Graph)."
            )
        return f"A {self.kind} cannot be trained here."

    @property
    def session_checkpoint(self) -> str | None:
        """The checkpoint restored into ``model=`` (the artifact's path; a folder means its
        latest), or ``None``."""
        if self.model is not None and self.kind in ("checkpoint", "checkpoint_dir"):
            return str(self.artifact.path)
        return None

    def session_note(self) -> str:
        """One line saying what *Start session* will do (it runs code and ops)."""
        if not self.can_train:
            return self.needs or ""
        model_name = type(self.model).__name__
        if self.model is not None and self.kind == "keras":
            state = (
                " (model weights only: a legacy .h5's optimizer state is not loaded)"
                if self.artifact.format == "h5_model"
                else " (and the optimizer's state, when the file has it)"
            )
            return f"Loads the weights of {self.artifact.path} into your {model_name}{state}."
        if self.model is not None:
            return (
                f"Restores {self.artifact.path} (the latest checkpoint of a folder) into your "
                f"{model_name}; the match report shows how every variable fits."
            )
        if self.kind == "keras":
            lambdas = self.artifact.lambda_layers
            warning = ""
            if lambdas and not self.trust:
                warning = (
                    f" It has Lambda layer(s) ({', '.join(lambdas)}) whose Python code a load "
                    "would run: refused unless explore(..., trust=True)."
                )
            if self.artifact.format == "h5_model":
                return (
                    f"Loads the architecture and weights of {self.artifact.path} with Keras "
                    "(safe_mode), compiles it from its training_config and copies its "
                    "optimizer state (matched by name, else by order and shape; if it cannot "
                    "be matched the optimizer starts fresh and the session says so)." + warning
                )
            return (
                f"Loads {self.artifact.path} with Keras (safe_mode, with its optimizer state)."
                + warning
            )
        if self.kind == "saved_model":
            if self.artifact.writer == "tf1_builder":
                return (
                    f"Imports the graph of {self.artifact.path} and restores variables/variables "
                    "(then its init op, if any): this runs ops, after a safety check."
                )
            return (
                f"Loads {self.artifact.path} with tf.saved_model.load (it runs the file's "
                "restore functions, after a scan of the whole file): its variables can then be "
                "restored, evaluated, snapshotted and saved. Training needs the Keras model "
                "itself (its .keras file, or explore(checkpoints, model=...))."
            )
        return (
            f"Opens {self.session_source} in TensorFlow (imports the graph, restores the "
            "latest checkpoint): this runs ops."
        )

    def open_session(self) -> Any:
        """Open the live session the tab trains (what *Start session* does).

        Raises what :func:`tfexplore.session` raises (a ``RestoreMismatchError`` carries the
        open session as ``err.session`` and the report as ``err.report``)."""
        from ..live.open import session as open_session

        source = self.session_source
        if source is None:
            raise TFExploreError(
                "This artifact cannot be trained as it is.",
                path=self.artifact.path,
                expected="a TF1 checkpoint with its .meta, a full Keras model file, or model=",
                hint=self.needs,
            )
        if self.model is not None and self.kind == "keras":
            self._load_keras_weights()
            opened = open_session(self.model)
            opened.source = f"{self.artifact.path} (weights) in your {type(self.model).__name__}"
            return opened
        return open_session(source, self.session_checkpoint, trust=self.trust)

    def _load_keras_weights(self) -> None:
        """``model.load_weights(file)`` (no code from the file runs: the model is yours)."""
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            optimizer.build(self.model.trainable_variables)  # so that its state is loaded too
        try:
            self.model.load_weights(str(self.artifact.path))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TFExploreError(
                f"The weights in {self.artifact.path} do not fit your "
                f"{type(self.model).__name__}: {reason}",
                path=self.artifact.path,
                expected="the model that saved these weights (same layers, same shapes)",
                hint="build the model as it was when saved; tfexplore.open(path).layers lists them",
            ) from exc

    @property
    def checkpoint_folder(self) -> str | None:
        """The folder the restore panel lists checkpoints from (``None`` for a Keras file)."""
        if self.kind == "checkpoint_dir":
            return str(self.artifact.path)
        if self.kind in ("checkpoint", "meta_graph"):
            return str(self.artifact.path.parent)
        return None

    @property
    def tabs(self) -> list[str]:
        """The tab titles, in order, for this artifact."""
        tabs = ["Overview"]
        if self.has_graph:
            tabs.append("Graph")
        if self.has_variables:
            tabs.append("Variables")
        tabs.append("Tensors")
        if self.has_dynamics:
            tabs.append("Dynamics")
        if self.has_rewrite:
            tabs.append("Rewrite")
        if self.offers_session:
            tabs.append("Restore and train")
        return tabs

    # -- checkpoint surgery ------------------------------------------------------------------
    @property
    def has_rewrite(self) -> bool:
        """A checkpoint (TF1 or TF2, a prefix or a folder with one): the *Rewrite* tab plans
        a rewrite of it (a folder's latest)."""
        if self.kind == "checkpoint":
            return True
        return self.kind == "checkpoint_dir" and len(self.artifact) > 0

    def rewrite_target(self, session: Any = None) -> Any:
        """What the *Rewrite* tab fits the checkpoint to: the ``model=`` given to explore,
        else the running session's Keras model or TF1 graph, else ``None`` (rules only)."""
        if self.model is not None:
            return self.model
        if session is not None:
            return getattr(session, "model", None) or getattr(session, "graph", None)
        return None

    # -- training dynamics (a folder of two or more checkpoints) ----------------------------
    @property
    def has_dynamics(self) -> bool:
        """A folder of two or more checkpoints: the *Dynamics* tab compares them."""
        return self.kind == "checkpoint_dir" and len(self.artifact) >= 2

    def dynamics_note(self) -> str:
        """What *Compute training dynamics* will read (nothing is read before)."""
        from .._files import human_bytes

        table = self.artifact.latest.variables
        per_checkpoint = float(table.loc[table["role"] == "variable", "nbytes"].fillna(0).sum())
        steps = [int(s) for s in self.artifact.checkpoints["step"].dropna()]
        count = len(self.artifact)
        span = f" (steps {steps[0]} to {steps[-1]})" if len(steps) >= 2 else ""
        return (
            f"{count} checkpoints{span}: compares the model variables of each with the one "
            f"before ({human_bytes(per_checkpoint)} per checkpoint, "
            f"{human_bytes(per_checkpoint * count)} read in all). Nothing is read until asked."
        )

    def compute_dynamics(self, progress: Any = None) -> Any:
        """``CheckpointDir.dynamics()`` of the folder (``progress(done, total)`` in bytes),
        kept as :attr:`dynamics`."""
        self.dynamics = self.artifact.dynamics(progress=progress)
        return self.dynamics

    def dynamics_html(self, max_rows: int = 200) -> str:
        """The heatmap of update ratios (a PNG) and the flags table, after
        :meth:`compute_dynamics`."""
        import base64

        from .plots import figure_png

        dynamics = self.dynamics
        if dynamics is None:
            return ""
        png = base64.b64encode(figure_png(dynamics.heatmap())).decode("ascii")
        flags = dynamics.flags
        verdict = (
            f"<b>{len(flags)} flag(s)</b>"
            if len(flags)
            else "<b>no flags</b>: every layer moved; no NaN, Inf, dead unit or explosion"
        )
        notes = "".join(f"<div>note: {html.escape(note)}</div>" for note in dynamics.notes)
        return (
            f"<div class='tfx-dynamics'><img alt='update ratios, layers by steps' "
            f"src='data:image/png;base64,{png}'/><div>{verdict}</div>"
            + (frame_html(flags, max_rows=max_rows, what="flags") if len(flags) else "")
            + notes
            + "</div>"
        )

    def overview_html(self) -> str:
        """The summary table and ``explain()`` rendered from Markdown."""
        return self.artifact._repr_html_() + markdown_html(str(self.artifact.explain()))

    @property
    def variables(self) -> pd.DataFrame:
        """The variables DataFrame (a folder's latest checkpoint's)."""
        import pandas as pd

        frame = getattr(self._main(), "variables", None)
        return frame if frame is not None else pd.DataFrame(columns=["name", "shape", "dtype"])

    #: the Variables tab's columns unless all are asked for (``shard``, ``offset``,
    #: ``partitions``, ``object_path``... are for those who know they need them)
    VARIABLE_COLUMNS = ["name", "role", "shape", "dtype", "size", "nbytes", "slot_of", "optimizer"]

    def variables_html(self, text: str = "", max_rows: int = 500, all_columns: bool = False) -> str:
        """The variables whose name holds every word of ``text``, as an HTML table: the
        columns a newcomer needs (``VARIABLE_COLUMNS``), or ``all_columns``."""
        frame = filter_frame(self.variables, text)
        columns = None if all_columns else self.VARIABLE_COLUMNS
        return frame_html(frame, max_rows=max_rows, columns=columns, what="variables", text=text)


def filter_frame(frame: pd.DataFrame, text: str, column: str = "name") -> pd.DataFrame:
    """Rows whose ``column`` matches ``text``, a query in tfexplore's one search syntax
    (:mod:`tfexplore.graph.query`: words that must all appear, globs, ``re:``;
    case-insensitive). ``op:`` terms need an ``op`` column and are ignored without one.

    Example::

        >>> import pandas as pd
        >>> filter_frame(pd.DataFrame({"name": ["a/W", "a/b", "c/W"]}), "w a")["name"].tolist()
        ['a/W']
        >>> filter_frame(pd.DataFrame({"name": ["a/W", "a/b", "c/W"]}), "*/w")["name"].tolist()
        ['a/W', 'c/W']
    """
    query = parse_query(text)
    if column not in frame or (query.empty and not query.op_types):
        return frame
    types = frame["op"] if query.op_types and "op" in frame else [None] * len(frame)
    keep = [
        query.matches_name(str(name)) and (op_type is None or query.matches_type(str(op_type)))
        for name, op_type in zip(frame[column], types)
    ]
    return frame[np.asarray(keep, dtype=bool)]


def frame_html(
    frame: pd.DataFrame,
    max_rows: int = 500,
    columns: list[str] | None = None,
    *,
    what: str = "rows",
    text: str = "",
) -> str:
    """A DataFrame as a compact HTML table (``max_rows`` rows, then a count of the rest);
    missing values are blank, names escaped; no rows says so (and what was searched)."""
    if not len(frame):
        searched = f" match {html.escape(repr(text))}" if text.strip() else ""
        return f"<div class='tfx-empty' style='font-size:12px'>no {what}{searched}</div>"
    shown = frame if columns is None else frame[[c for c in columns if c in frame]]
    shown = shown.head(max_rows).astype(object).where(shown.head(max_rows).notna(), "")
    table = shown.to_html(index=False, classes="tfx-table", border=0, escape=True)
    if len(frame) > max_rows:
        table += f"<div>… {len(frame) - max_rows} more rows</div>"
    return f"<div style='font-size:12px'>{len(frame)} {what}{table}</div>"


def markdown_html(text: str) -> str:
    """Markdown rendered to HTML (with ``markdown-it-py`` when installed; else preformatted
    text)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
    # raw HTML off: a name from a file that reaches the Markdown stays text (issue 11)
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
