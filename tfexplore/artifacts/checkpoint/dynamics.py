"""Training dynamics after the fact, from a folder of checkpoints alone (:class:`Dynamics`,
made by :meth:`CheckpointDir.dynamics <tfexplore.artifacts.checkpoint.folder.CheckpointDir.
dynamics>`): how much each layer moved between consecutive checkpoints (update ratios
``||w_t - w_{t-1}|| / ||w_{t-1}||``), each variable's norm, and flags for what went wrong: a
layer that stopped moving, NaN or Inf appearing, dead units (rows or columns of a kernel all
zero), a norm that explodes.

Streamed: the model variables are read in groups, each group from every checkpoint in turn,
and only the previous checkpoint's copy of a group is kept, so no tensor is ever in memory
more than twice (a group is one tensor locally; on object storage, tensors fetched together in
one round of ranged requests, up to ``PREFETCH_BYTES``).

Over 600 lines, one module: the :class:`Dynamics` tables, its flags and its heatmap all read
the same records and thresholds; the reading and measuring are ``measure.py``'s.

Example::

    >>> run = tfexplore.open("runs/mnist")                   # doctest: +SKIP
    >>> dynamics = run.dynamics()                             # doctest: +SKIP
    >>> dynamics.update_ratios                                # layers x steps   # doctest: +SKIP
    >>> dynamics.flags                                        # doctest: +SKIP
         kind    layer       variable  step  detail
    0  stopped  dense_1            NaN    40  dense_1 did not change from step 30 on ...
    >>> dynamics.heatmap()                          # a matplotlib Figure  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._files import prefix_text
from ...errors import TFExploreError, suggest

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["Dynamics", "Thresholds", "FLAG_KINDS", "compute_dynamics"]

#: the kinds of :attr:`Dynamics.flags`, in the order they are explained
FLAG_KINDS = ("stopped", "nan", "inf", "dead_units", "exploding")
FLAG_COLUMNS = ["kind", "layer", "variable", "step", "detail"]


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When :class:`Dynamics` raises a flag.

    - ``stopped``: an update ratio below this is no movement (a layer is *stopped* when its
      ratio stays below it from some checkpoint to the last while another layer moves);
    - ``growth``: a layer's norm (all its variables together) growing by more than this
      factor between two consecutive checkpoints is *exploding* (measured on the layer: a
      small bias swinging near zero grows by large factors, harmlessly);
    - ``min_rms``: growth counts only from a layer norm whose root mean square per element is
      at least this (a layer that starts at zero grows by any factor in its first steps);
    - ``max_norm``: a norm above this is *exploding* too (``None``: no limit).

    Example::

        >>> Thresholds(growth=5.0).growth
        5.0
    """

    stopped: float = 1e-12
    growth: float = 10.0
    min_rms: float = 1e-3
    max_norm: float | None = None

    def __post_init__(self) -> None:
        """Each field a number in its range (a ``TFExploreError`` saying which is not)."""
        defaults = {field.name: field.default for field in dataclasses.fields(self)}
        for name, (low, strict, infinite, optional) in _THRESHOLD_RANGES.items():
            value = getattr(self, name)
            if value is None and optional:
                continue
            number = _number(value)
            ok = (
                number is not None
                and not math.isnan(number)
                and (infinite or math.isfinite(number))
                and (number > low if strict else number >= low)
            )
            if not ok:
                wanted = f"{'above' if strict else 'at least'} {low:g}"
                wanted += "" if infinite else ", finite"
                wanted += " (or None: no limit)" if optional else ""
                raise TFExploreError(
                    f"The threshold {name}={value!r} is "
                    + ("out of range." if number is not None else "not a number."),
                    expected=f"{name}: a number {wanted}; the default is {defaults[name]!r}",
                    hint=f"dynamics(thresholds={{{name!r}: {defaults[name] or 1e6!r}}}) "
                    "or leave it out for the default",
                )
            if value is not None:
                object.__setattr__(self, name, number)


class Dynamics:
    """How the model variables of a folder of checkpoints moved, checkpoint after checkpoint.

    - :attr:`update_ratios`: layers x steps, ``||w_t - w_{t-1}|| / ||w_{t-1}||`` over the
      layer's variables (square roots of summed squares), each column the later step of a pair;
    - :attr:`per_variable`: the same, one row per variable;
    - :attr:`norms`: variables x steps, the L2 norm of the finite values;
    - :attr:`flags`: ``kind`` (``stopped``, ``nan``, ``inf``, ``dead_units``, ``exploding``),
      ``layer``, ``variable``, ``step``, ``detail`` (plain English); empty when healthy;
    - :attr:`variables`: which variable is which key, in which layer;
    - :meth:`heatmap`: the update ratios as a matplotlib ``Figure`` (log colour scale),
      flagged cells marked.

    A variable is named by its own scoped name (``dense_1/kernel``, Keras 3's
    ``sequential/dense_1/kernel``) when the checkpoint has unique ones, else by its TF2 object
    path (``net/layers/1/kernel``); its layer is that name's scope (``dense_1``). Only model
    variables count (``role == "variable"`` in ``Checkpoint.variables``: no optimizer slots,
    no step counters), floating point ones. NaN and Inf values are left out of norms and
    ratios (they are flagged).

    Example::

        >>> dynamics = tfexplore.open("runs/mnist").dynamics()    # doctest: +SKIP
        >>> dynamics.flags.query("kind == 'nan'")                 # doctest: +SKIP
        >>> dynamics.update_ratios.loc["dense_1"].plot(logy=True) # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        folder: str,
        steps: list[int],
        prefixes: list[str],
        variables: pd.DataFrame,
        records: dict[str, list[dict[str, Any]]],
        thresholds: Thresholds,
        notes: list[str],
    ) -> None:
        self.folder = folder
        #: the step of each checkpoint, oldest first (positions when steps are unknown)
        self.steps = steps
        self.prefixes = prefixes
        #: ``variable``, ``layer``, ``key``, ``shape``, ``dtype``, one row per model variable
        self.variables = variables
        self.thresholds = thresholds
        #: what was odd (variables missing from some checkpoints, steps unknown, ...)
        self.notes = notes
        self._records = records

    # -- tables ------------------------------------------------------------------------
    @property
    def layers(self) -> list[str]:
        """The layers, in the order of the tables."""
        return list(dict.fromkeys(self.variables["layer"]))

    def _frame(self, rows: dict[str, list], steps: list[int], index_name: str):
        import pandas as pd

        frame = pd.DataFrame.from_dict(rows, orient="index", columns=steps, dtype=float)
        frame.index.name = index_name
        frame.columns.name = "step"
        return frame

    @property
    def norms(self) -> pd.DataFrame:
        """Variables x steps: the L2 norm of each variable's finite values (NaN where the
        checkpoint lacks it or holds no finite value)."""
        rows = {v: [r["norm"] for r in self._records[v]] for v in self.variables["variable"]}
        return self._frame(rows, self.steps, "variable")

    @property
    def per_variable(self) -> pd.DataFrame:
        """Variables x steps (the later step of each consecutive pair): each variable's
        update ratio ``||w_t - w_{t-1}|| / ||w_{t-1}||``."""
        rows = {
            v: [_ratio(r["diff_sq"], r["base_sq"]) for r in self._records[v][1:]]
            for v in self.variables["variable"]
        }
        return self._frame(rows, self.steps[1:], "variable")

    @property
    def update_ratios(self) -> pd.DataFrame:
        """Layers x steps (the later step of each consecutive pair): each layer's update ratio,
        ``sqrt(sum ||Δw||²) / sqrt(sum ||w_{t-1}||²)`` over its variables."""
        return self._frame(self._layer_ratios, self.steps[1:], "layer")

    @functools.cached_property
    def _layer_ratios(self) -> dict[str, list[float]]:
        sums: dict[str, list[list[float | None]]] = {}
        for variable, layer in zip(self.variables["variable"], self.variables["layer"]):
            pairs = [(r["diff_sq"], r["base_sq"]) for r in self._records[variable][1:]]
            if layer not in sums:
                sums[layer] = [[d, b] for d, b in pairs]
                continue
            for total, (d, b) in zip(sums[layer], pairs):
                if d is None or total[0] is None:
                    total[0] = total[1] = None
                else:
                    total[0] += d
                    total[1] += b
        return {layer: [_ratio(d, b) for d, b in pairs] for layer, pairs in sums.items()}

    @functools.cached_property
    def flags(self) -> pd.DataFrame:
        """What looks wrong, one row per finding: ``kind``, ``layer``, ``variable`` (missing,
        ``NaN``, for a stopped layer: the layer as a whole), ``step`` (the first checkpoint
        where it shows), ``detail``.

        - ``stopped``: the layer's update ratio stays below ``thresholds.stopped`` from this
          step to the last while another layer moves (once per layer, ``variable`` missing);
          or, in a layer that still moves, one variable is bitwise unchanged (update ratio
          exactly 0, not all zero) from this step to the last while other variables move (a
          frozen kernel beside a bias that trains; once per variable, never in a layer flagged
          stopped; a variable all zero and kept at zero has no ratio, 0/0: an unused bias);
        - ``nan`` / ``inf``: the first checkpoint where the variable holds NaN / Inf (once per
          variable; the detail says at how many checkpoints);
        - ``dead_units``: the first checkpoint where rows (input units) or columns (output
          units) of a kernel (two or more axes) are all zero, and how many (of an embedding
          table, columns only: an all-zero row is a padding token, not a dead unit);
        - ``exploding``: the first pair where the layer's norm grew by more than
          ``thresholds.growth`` (named at the variable that grew most; once per layer; not
          across a pair where one of its variables changed shape: those checkpoints are not
          comparable, :attr:`notes` says so), or the first checkpoint where a variable's norm
          passes ``thresholds.max_norm``.
        """
        import pandas as pd

        rows = self._stopped_flags()
        rows += self._stopped_variable_flags(already={row["layer"] for row in rows})
        for variable, layer in zip(self.variables["variable"], self.variables["layer"]):
            records = self._records[variable]
            for kind in ("nan", "inf"):
                rows += _nonfinite_flag(kind, layer, variable, records, self.steps)
            rows += _dead_flag(layer, variable, records, self.steps)
            rows += _too_large_flag(layer, variable, records, self.steps, self.thresholds)
        too_large = {row["layer"] for row in rows if row["kind"] == "exploding"}
        rows += self._growth_flags(already=too_large)
        order = {kind: n for n, kind in enumerate(FLAG_KINDS)}
        rows.sort(key=lambda row: (row["step"], order[row["kind"]], row["layer"]))
        frame = pd.DataFrame(rows, columns=FLAG_COLUMNS)
        frame["step"] = frame["step"].astype("Int64")
        return frame

    def _growth_flags(self, already: set[str]) -> list[dict[str, Any]]:
        """``exploding`` where a layer's norm (over all its variables) grew by more than
        ``thresholds.growth`` between two checkpoints, reported at the variable that grew most.
        Measured on the layer, not on each variable: a small bias swinging near zero grows by
        large factors harmlessly; once per layer."""
        limits, rows = self.thresholds, []
        members: dict[str, list[str]] = {}
        for variable, layer in zip(self.variables["variable"], self.variables["layer"]):
            members.setdefault(layer, []).append(variable)
        for layer, names in members.items():
            if layer in already:
                continue
            records = [self._records[name] for name in names]
            norms = [_layer_norm([r[n] for r in records]) for n in range(len(self.steps))]
            size = sum(max((r["size"] for r in rs), default=0) for rs in records)
            for n in range(1, len(self.steps)):
                before, now = norms[n - 1], norms[n]
                if before is None or now is None or not before or not size:
                    continue
                if any(_reshaped(r[n - 1], r[n]) for r in records):  # not comparable
                    continue
                if before / math.sqrt(size) < limits.min_rms or now / before <= limits.growth:
                    continue
                grew = [
                    ((r[n]["norm"] or 0.0) - (r[n - 1]["norm"] or 0.0), name)
                    for r, name in zip(records, names)
                ]
                variable = max(grew)[1]
                mine = records[names.index(variable)]
                old, new = mine[n - 1]["norm"] or 0.0, mine[n]["norm"] or 0.0
                rows.append(
                    _flag(
                        "exploding",
                        layer,
                        variable,
                        self.steps[n],
                        f"{layer}: norm grew {now / before:.3g}x between step "
                        f"{self.steps[n - 1]} and step {self.steps[n]} ({before:.4g} -> "
                        f"{now:.4g}), most in {variable} ({old:.4g} -> {new:.4g})",
                    )  # fmt: skip
                )
                break
        return rows

    def _stopped_flags(self) -> list[dict[str, Any]]:
        ratios = self._layer_ratios
        tol = self.thresholds.stopped
        moving = {
            layer: [r is not None and not math.isnan(r) and r >= tol for r in values]
            for layer, values in ratios.items()
        }
        rows = []
        for layer, values in ratios.items():
            still = [r is not None and not math.isnan(r) and r < tol for r in values]
            start = len(still)
            while start > 0 and still[start - 1]:
                start -= 1
            if start == len(still):
                continue
            others = [
                other for other, moved in moving.items() if other != layer and any(moved[start:])
            ]
            if not others:  # nothing moves: the run ended, not this layer
                continue
            step = self.steps[start + 1]
            since = f"from step {self.steps[start]} on" if start else "between any two checkpoints"
            rows.append(
                {
                    "kind": "stopped",
                    "layer": layer,
                    "variable": None,
                    "step": step,
                    "detail": (
                        f"{layer} did not change {since} (update ratio below {tol:g}) while "
                        f"{len(others)} other layer(s) moved: its gradient stopped being applied "
                        "(frozen, or cut off)"
                    ),
                }
            )
        return rows

    def _stopped_variable_flags(self, already: set[str]) -> list[dict[str, Any]]:
        """``stopped`` for a variable bitwise unchanged (update ratio exactly 0, from a norm
        above 0) from some step to the last while other variables move, in a layer not
        flagged stopped (a frozen kernel whose bias moves keeps its layer's ratio up). An
        all-zero variable kept at zero has no ratio (0/0): an unused bias, not flagged."""
        tol = self.thresholds.stopped
        names = list(zip(self.variables["variable"], self.variables["layer"]))
        ratios = {
            variable: [_ratio(r["diff_sq"], r["base_sq"]) for r in self._records[variable][1:]]
            for variable, _ in names
        }
        rows = []
        for variable, layer in names:
            if layer in already:
                continue
            unchanged = [
                r["diff_sq"] == 0 and bool(r["base_sq"]) for r in self._records[variable][1:]
            ]
            start = len(unchanged)
            while start > 0 and unchanged[start - 1]:
                start -= 1
            if start == len(unchanged):
                continue
            others = [
                other
                for other, values in ratios.items()
                if other != variable and any(not math.isnan(r) and r >= tol for r in values[start:])
            ]
            if not others:  # nothing moves: the run ended, not this variable
                continue
            since = f"from step {self.steps[start]} on" if start else "between any two checkpoints"
            rows.append(
                _flag(
                    "stopped",
                    layer,
                    variable,
                    self.steps[start + 1],
                    f"{variable} did not change {since} (bitwise the same) while "
                    f"{len(others)} other variable(s) moved: it is not trained (frozen, or "
                    "its gradient is cut off)",
                )  # fmt: skip
            )
        return rows

    # -- pictures ----------------------------------------------------------------------
    def heatmap(self, ax: Any = None, *, width: float | None = None) -> Any:
        """The update ratios as a picture: layers x steps, a log colour scale, exact zeros
        (no change) in grey, flagged cells outlined in red with a letter (S stopped, N NaN,
        I Inf, D dead units, E exploding). Draws on ``ax`` when given; returns the
        :class:`matplotlib.figure.Figure` (its own, never pyplot's).

        Example::

            >>> figure = dynamics.heatmap()                       # doctest: +SKIP
            >>> figure.savefig("dynamics.png")                    # doctest: +SKIP
        """
        ratios = self.update_ratios
        if ax is None:
            figure = _new_figure(
                width or min(12.0, max(5.0, 3.0 + 0.45 * max(len(ratios.columns), 1))),
                min(10.0, 1.6 + 0.32 * max(len(ratios), 1)),
            )
            ax = figure.add_subplot()
        else:
            figure = ax.figure
        _draw_ratios(ax, ratios, self.flags)
        return figure

    # -- reprs -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        flags = self.flags
        facts: dict[str, Any] = {
            "folder": self.folder,
            "checkpoints": len(self.steps),
            "steps": f"{self.steps[0]} to {self.steps[-1]}",
            "layers": len(self.layers),
            "variables": len(self.variables),
            "flags": (
                ", ".join(f"{n} {kind}" for kind, n in flags["kind"].value_counts().items())
                if len(flags)
                else "none"
            ),
        }
        if self.notes:
            facts["notes"] = self.notes
        return facts

    def __repr__(self) -> str:
        facts = self.summary()
        width = max(len(k) for k in facts)
        lines = ["<tfexplore Dynamics>"] + [f"  {k.ljust(width)}  {v}" for k, v in facts.items()]
        flags = self.flags
        for row in flags.itertuples(index=False):
            lines.append(f"  ! step {row.step} {row.kind}: {row.detail}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        facts = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        flags = self.flags
        table = (
            flags.to_html(index=False, border=0, escape=True, na_rep="")
            if len(flags)
            else "<div>no flags: every layer moved, no NaN, Inf, dead unit or explosion</div>"
        )
        return (
            "<div class='tfexplore-dynamics'><strong>Dynamics</strong>"
            f"<table>{facts}</table>{table}</div>"
        )


# == computing ==================================================================================
def compute_dynamics(
    folder: Any,
    checkpoints: list[Any],
    steps: list[int | None],
    names: Iterable[str] | None = None,
    *,
    progress: bool | Callable[[int, int], Any] | None = None,
    thresholds: Thresholds | dict[str, Any] | None = None,
    group_bytes: int = 0,
    client: Any = None,
) -> Dynamics:
    """What :meth:`CheckpointDir.dynamics` returns (see there): the dynamics of
    ``checkpoints`` (``Checkpoint`` objects, oldest first, at ``steps``) of ``folder``;
    ``group_bytes``: how many bytes of neighbouring tensors are read together (0: one tensor
    at a time); ``client``: a ``distributed.Client`` to compute on (see ``engine.py``)."""
    from .measure import measure, model_variables

    limits = _thresholds(thresholds)
    if len(checkpoints) < 2:
        raise TFExploreError(
            f"The folder {str(folder)!r} holds {len(checkpoints)} checkpoint(s); training "
            "dynamics compare consecutive checkpoints.",
            path=folder,
            expected="a folder of two or more checkpoints of one run",
            hint="save checkpoints during training (tf.train.CheckpointManager, Saver.save)",
        )
    notes: list[str] = []
    if any(step is None for step in steps) or len(set(steps)) != len(steps):
        notes.append(
            "the checkpoints' steps are unknown or repeated: columns are their positions "
            "(0 = oldest)"
        )
        steps = list(range(len(checkpoints)))
    steps = [int(step) for step in steps]
    variables = model_variables(checkpoints[-1], names)
    if not len(variables):
        raise TFExploreError(
            f"No floating-point model variable in {prefix_text(checkpoints[-1].prefix)!r}.",
            path=folder,
            expected="model variables (role 'variable' in Checkpoint.variables)",
            hint="Checkpoint.variables lists what the checkpoint holds",
        )
    if client is not None:
        from .engine import cluster_measure

        records, missing = cluster_measure(client, checkpoints, variables, progress=progress)
    else:
        records, missing = measure(
            checkpoints, variables, group_bytes=group_bytes, progress=progress
        )
    for variable, count in missing.items():
        notes.append(f"{variable} is missing from {count} checkpoint(s)")
    for variable in variables["variable"]:
        notes += _reshaped_note(variable, records[variable], steps)
    return Dynamics(
        folder=str(folder),
        steps=steps,
        prefixes=[prefix_text(c.prefix) for c in checkpoints],
        variables=variables[["variable", "layer", "key", "shape", "dtype"]].reset_index(drop=True),
        records=records,
        thresholds=limits,
        notes=notes,
    )


#: each threshold's range: (lowest, lowest excluded, infinity allowed, None allowed)
_THRESHOLD_RANGES = {
    "stopped": (0.0, False, False, False),
    "growth": (1.0, False, True, False),  # a factor: below 1 a shrinking norm "grows"
    "min_rms": (0.0, False, False, False),
    "max_norm": (0.0, True, True, True),
}


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (``bool`` is not), else ``None``."""
    import numbers

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _thresholds(given: Thresholds | dict[str, Any] | None) -> Thresholds:
    """``thresholds=`` of :meth:`CheckpointDir.dynamics` as :class:`Thresholds`, checked before
    anything is read: unknown names, values that are not numbers or out of range raise a
    ``TFExploreError``."""
    from collections.abc import Mapping

    if given is None:
        return Thresholds()
    if isinstance(given, Thresholds):
        return given
    known = [field.name for field in dataclasses.fields(Thresholds)]
    if not isinstance(given, Mapping):
        raise TFExploreError(
            f"thresholds={given!r} ({type(given).__name__}) is neither a Thresholds nor a dict.",
            expected=f"a Thresholds or a dict of some of {known}",
            hint="dynamics(thresholds={'growth': 5.0}) or thresholds=Thresholds(growth=5.0)",
        )
    unknown = [name for name in given if name not in known]
    if unknown:
        close = [suggest(str(name), known) for name in unknown]
        maybe = sorted({name for names in close for name in names})
        raise TFExploreError(
            f"Unknown threshold(s) {unknown} in thresholds={dict(given)!r}.",
            expected=f"some of {known}",
            hint=(f"did you mean {', '.join(maybe)}? " if maybe else "")
            + "name Thresholds' fields, e.g. dynamics(thresholds={'growth': 5.0})",
        )
    return Thresholds(**given)


def _reshaped(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a variable has another shape than at the checkpoint before (both present)."""
    return (
        old["present"] and new["present"] and old.get("shape") != new.get("shape")
    )  # fmt: skip


def _reshaped_note(variable: str, records: list[dict[str, Any]], steps: list[int]) -> list[str]:
    """A note naming the pairs of checkpoints between which ``variable`` changed shape."""
    changes = [
        f"between step {steps[n - 1]} and step {steps[n]} "
        f"({_shape_text(records[n - 1]['shape'])} -> {_shape_text(records[n]['shape'])})"
        for n in range(1, len(records))
        if _reshaped(records[n - 1], records[n])
    ]
    if not changes:
        return []
    more = f" and {len(changes) - 3} more time(s)" if len(changes) > 3 else ""
    return [
        f"{variable} changed shape {', '.join(changes[:3])}{more}: those checkpoints are not "
        "comparable for it (no update ratio, no growth flag); are they of one run?"
    ]


def _shape_text(shape: Any) -> str:
    return str(tuple(shape)) if shape is not None else "?"


def _ratio(diff_sq: float | None, base_sq: float | None) -> float:
    if diff_sq is None or base_sq is None:
        return math.nan
    if base_sq > 0:
        return math.sqrt(diff_sq) / math.sqrt(base_sq)
    return 0.0 if diff_sq == 0 else math.inf


# == flags ======================================================================================
def _flag(kind: str, layer: str, variable: str | None, step: int, detail: str) -> dict[str, Any]:
    return {"kind": kind, "layer": layer, "variable": variable, "step": step, "detail": detail}


def _nonfinite_flag(kind, layer, variable, records, steps) -> list[dict[str, Any]]:
    column, word = ("nans", "NaN") if kind == "nan" else ("infs", "Inf")
    seen = [n for n, record in enumerate(records) if record[column]]
    if not seen:
        return []
    first = records[seen[0]]
    return [
        _flag(
            kind,
            layer,
            variable,
            steps[seen[0]],
            f"{variable}: {first[column]} of {first['size']} values are {word} at step "
            f"{steps[seen[0]]} (first seen; {word} in {len(seen)} of {len(records)} checkpoints)",
        )  # fmt: skip
    ]


def _is_embedding(variable: str) -> bool:
    """An embedding table: its rows are tokens, and an all-zero row is a padding token or a
    word never seen, not a dead unit."""
    return "embedding" in variable.lower()


def _dead_flag(layer, variable, records, steps) -> list[dict[str, Any]]:
    if _is_embedding(variable):  # count its columns (dimensions) only
        records = [{**r, "dead_rows": 0} for r in records]
    seen = [n for n, r in enumerate(records) if r["dead_rows"] or r["dead_cols"]]
    if not seen:
        return []
    first, last = records[seen[0]], records[-1]

    def words(record) -> str:
        parts = []
        if record["dead_cols"]:
            parts.append(f"{record['dead_cols']} of {record['cols']} output units (columns)")
        if record["dead_rows"]:
            parts.append(f"{record['dead_rows']} of {record['rows']} input units (rows)")
        return " and ".join(parts) or "none"

    same = words(first) == words(last) or seen[0] == len(records) - 1
    later = "" if same else f"; at the last checkpoint: {words(last)}"
    return [
        _flag(
            "dead_units",
            layer,
            variable,
            steps[seen[0]],
            f"{variable}: {words(first)} all zero at step {steps[seen[0]]}{later}",
        )  # fmt: skip
    ]


def _too_large_flag(layer, variable, records, steps, limits: Thresholds) -> list[dict[str, Any]]:
    """``exploding`` at the first checkpoint where the variable's norm passes
    ``thresholds.max_norm`` (when set)."""
    if limits.max_norm is None:
        return []
    for n, record in enumerate(records):
        norm = record["norm"]
        if norm is not None and norm > limits.max_norm:
            return [
                _flag(
                    "exploding",
                    layer,
                    variable,
                    steps[n],
                    f"{variable}: norm {norm:.4g} at step {steps[n]}, above the limit "
                    f"{limits.max_norm:g}",
                )  # fmt: skip
            ]
    return []


def _layer_norm(records: list[dict[str, Any]]) -> float | None:
    """The norm of a layer's variables together, ``None`` when one has no finite value."""
    total = 0.0
    for record in records:
        if not record["present"] or (record["norm"] is None and record["size"]):
            return None
        total += (record["norm"] or 0.0) ** 2
    return math.sqrt(total)


# == drawing (a Figure of its own, never pyplot) =================================================
_LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
_LETTERS = {"stopped": "S", "nan": "N", "inf": "I", "dead_units": "D", "exploding": "E"}


def _new_figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Dynamics.heatmap needs matplotlib: pip install 'tfexplore[notebook]'"
        ) from exc
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _draw_ratios(ax: Any, ratios: pd.DataFrame, flags: pd.DataFrame) -> None:
    import matplotlib as mpl
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    values = ratios.to_numpy(dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    low = float(positive.min()) if positive.size else 1e-6
    high = float(positive.max()) if positive.size else 1.0
    if high <= low:
        low, high = low / 10, high * 10
    shown = np.where(values == 0, low / 10, values)  # no change: below the scale, grey
    shown = np.where(np.isposinf(shown), high, shown)
    cmap = mpl.colormaps["viridis"].with_extremes(under="#c8c8c8", bad="#ffffff")
    image = ax.imshow(
        np.ma.masked_invalid(shown), aspect="auto", interpolation="nearest", cmap=cmap,
        norm=LogNorm(vmin=low, vmax=high),
    )  # fmt: skip
    layers = [str(i) for i in ratios.index]
    every_row = max(1, len(layers) // 60)  # a label per row up to 60 rows, then every k-th
    ax.set_yticks(range(0, len(layers), every_row), layers[::every_row], fontsize=8)
    columns = [str(c) for c in ratios.columns]
    every = max(1, len(columns) // 20)
    ax.set_xticks(range(0, len(columns), every), columns[::every], fontsize=8)
    ax.set_xlabel("step (later checkpoint of each pair)")
    ax.set_title("update ratio ||w_t - w_{t-1}|| / ||w_{t-1}||\n(grey: no change)", fontsize=9)
    ax.figure.colorbar(image, ax=ax, label="update ratio (log)")
    rows = {layer: n for n, layer in enumerate(ratios.index)}
    cols = {step: n for n, step in enumerate(ratios.columns)}
    marked: dict[tuple[int, int], str] = {}
    for row in flags.itertuples(index=False):
        where = (rows.get(row.layer), cols.get(row.step))
        if None in where:  # the first checkpoint has no ratio to mark (the table says it)
            continue
        marked[where] = marked.get(where, "") + _LETTERS[row.kind]
    for (y, x), letters in marked.items():
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="#d62728", lw=2))
        ax.text(
            x, y, "".join(dict.fromkeys(letters)), ha="center", va="center", color="#d62728",
            fontsize=8, fontweight="bold", bbox=_LABEL_BOX,
        )  # fmt: skip
