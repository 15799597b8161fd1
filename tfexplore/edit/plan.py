"""The rewrite plan: one row per source tensor saying what becomes of it, checked before a
byte is written.

``Checkpoint.rewrite(...)`` (and ``tfexplore.rewrite``) makes a :class:`RewritePlan` from
rules (renames by prefix, scope, regex, a dict or a function, drops) and, given ``to=`` a
model, a TF1 graph or another checkpoint, proposes what fills each of its tensors. The plan's
``table`` is an ordinary DataFrame: edit it (or call :meth:`RewritePlan.set`) and the checks
run again on the next look. :meth:`RewritePlan.write` writes a new checkpoint tensor by
tensor; the exports give the same plan as code for ``init_from_checkpoint``, a ``Saver``,
Keras, or plain TensorFlow.

Actions
=======
``keep`` (same name), ``rename``, ``drop``, ``cast`` (to ``to_dtype``), ``reshape`` (to
``to_shape``), ``transpose`` (by ``perm``, reversed axes when empty), ``split`` (into the
targets ``target_a|target_b|...`` along ``axis``, in equal parts or the targets' shapes),
``merge`` (several rows with one ``target``, concatenated along ``axis`` (0 when empty) in
row order). A target nothing fills can start from its initial value (see
:meth:`RewritePlan.init_missing`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import RewriteError
from .assign import _OPTIMIZER_ROLES, match_target
from .checks import ACTIONS, _blank, _cell, _close_hint, _filled_by, check
from .inputs import (
    checked_field,
    checked_name,
    checked_rename,
    drop_queries,
    not_a_checkpoint,
    parsed_query,
    received,
    regex_rules,
    rename_rule,
    string_pairs,
)
from .targets import Target, as_target

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "source",
    "role",
    "slot_of",
    "source_shape",
    "source_dtype",
    "action",
    "target",
    "confidence",
    "why",
    "axis",
    "perm",
    "to_shape",
    "to_dtype",
    "out_shape",
    "out_dtype",
    "expected_shape",
    "expected_dtype",
    "status",
]
#: what :meth:`RewritePlan.set` may change in a row
SET_FIELDS = ("target", "action", "axis", "perm", "to_shape", "to_dtype")


# == the plan ==================================================================================
class RewritePlan:
    """What a checkpoint rewrite will do, one row per source tensor (``table``), and what is
    wrong with it (``report``), before anything is written.

    ``table`` columns: ``source`` (the key), ``role`` (variable, slot, step, ...),
    ``slot_of``, ``source_shape``, ``source_dtype``, ``action`` (one of
    :data:`ACTIONS`), ``target`` (``a|b`` for a split), ``confidence`` (of a proposed match;
    1.0 for a rule), ``why`` (the rule or the evidence), the action's parameters ``axis``,
    ``perm``, ``to_shape``, ``to_dtype``, then what the checks computed: ``out_shape`` and
    ``out_dtype`` (what would be written), ``expected_shape`` and ``expected_dtype`` (what the
    target wants) and ``status`` (``ok`` or the first problem's check).

    Example::

        >>> ckpt = tfexplore.open("old_run/model.ckpt-30")                # doctest: +SKIP
        >>> plan = ckpt.rewrite(prefix={"bert/": ""}, to=model)           # doctest: +SKIP
        >>> plan.report                              # problems, one row each  # doctest: +SKIP
        >>> plan.set("cls/dense/kernel", action="transpose")              # doctest: +SKIP
        >>> plan.write("converted/model.ckpt")                            # doctest: +SKIP
        >>> tf.train.Checkpoint(model=model).restore("converted/model.ckpt")  # doctest: +SKIP
    """

    def __init__(self, checkpoint, table: pd.DataFrame, target: Target | None, notes=()) -> None:
        self.checkpoint = checkpoint
        self.table = table
        self.target = target
        self.notes = list(notes)
        #: targets given their initial value when nothing fills them (``init_missing``)
        self.initialized: set[str] = set()

    # -- looking ---------------------------------------------------------------------------
    @property
    def report(self) -> pd.DataFrame:
        """The checks, run now on the current ``table``: one row per finding with
        ``severity`` (error, warning, info), ``check``, ``source``, ``target``, ``message``.
        Errors block :meth:`write`; warnings and notes say what will happen."""
        return check(self)

    @property
    def problems(self) -> pd.DataFrame:
        """The ``report`` rows that block writing."""
        report = self.report
        return report[report["severity"] == "error"].reset_index(drop=True)

    @property
    def ok(self) -> bool:
        """Nothing blocks writing."""
        return self.problems.empty

    @property
    def targets(self) -> pd.DataFrame:
        """The target's tensors and what fills each (``filled_by``: the source key(s),
        ``"init"``, or ``None``); empty without ``to=``."""
        import pandas as pd

        columns = ["target", "key", "role", "shape", "dtype", "filled_by", "confidence"]
        if self.target is None:
            return pd.DataFrame(columns=columns)
        filled = _filled_by(self.table)
        rows = []
        for v in self.target.variables:
            sources = filled.get(v.name, [])
            confidence = None
            if sources:
                conf = self.table.loc[self.table["source"].isin(sources), "confidence"]
                confidence = float(conf.min()) if conf.notna().any() else None
            rows.append(
                {
                    "target": v.name,
                    "key": v.key,
                    "role": v.role,
                    "shape": v.shape,
                    "dtype": v.dtype,
                    "filled_by": "|".join(sources)
                    if sources
                    else ("init" if v.name in self.initialized else None),
                    "confidence": confidence,
                }
            )
        return pd.DataFrame(rows, columns=columns)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per action."""
        counts = self.table["action"].value_counts()
        return {a: int(counts[a]) for a in ACTIONS if a in counts}

    def __repr__(self) -> str:
        report = self.report
        errors = int((report["severity"] == "error").sum())
        warnings = int((report["severity"] == "warning").sum())
        actions = ", ".join(f"{n} {a}" for a, n in self.counts.items())
        to = f" -> {self.target.kind} {self.target.label!r}" if self.target else ""
        state = "ready to write" if not errors else f"{errors} problems"
        return (
            f"<RewritePlan {self.checkpoint.prefix}{to}: {len(self.table)} tensors ({actions});"
            f" {state}, {warnings} warnings>"
        )

    def _repr_html_(self) -> str:
        from html import escape

        report = self.report
        shown = self.table[
            ["source", "action", "target", "confidence", "out_shape", "expected_shape", "status"]
        ]
        head = escape(repr(self))
        problems = report[report["severity"] != "info"]
        return (
            f"<p><code>{head}</code></p>"
            + (problems.to_html(index=False, escape=True) if not problems.empty else "")
            + shown.to_html(index=False, escape=True, max_rows=60)
        )

    # -- editing ---------------------------------------------------------------------------
    def set(self, source: str, **changes: Any) -> RewritePlan:
        """Change the row of ``source``: ``target=``, ``action=``, ``axis=``, ``perm=``,
        ``to_shape=``, ``to_dtype=``. A new target without an action makes it a rename; the
        row's confidence becomes 1.0 (your choice) and its optimizer slots follow a new
        target or a drop. Returns the plan (calls chain).

        Example::

            >>> plan.set("cls/W", target="head/kernel")          # doctest: +SKIP
            >>> plan.set("cls/b", action="drop")                 # doctest: +SKIP
        """
        table = self.table
        if not isinstance(source, str):
            raise RewriteError(
                f"set() takes the source key as a string; received {received(source)}.",
                expected="a key of the source checkpoint, as in plan.table['source']",
                hint="plan.set('dense/kernel', target='head/kernel')",
            )
        rows = table.index[table["source"] == source]
        if len(rows) == 0:
            raise RewriteError(
                f"No source tensor {source!r} in the plan.",
                expected="a key of the source checkpoint",
                hint=_close_hint(source, table["source"]),
            )
        unknown = set(changes) - set(SET_FIELDS)
        if unknown:
            raise RewriteError(
                f"set() takes target, action, axis, perm, to_shape and to_dtype; "
                f"received: {', '.join(sorted(unknown))}.",
                hint="plan.set(source, target='new/name') or plan.set(source, action='drop')",
            )
        action = changes.get("action")
        if action is not None and action not in ACTIONS:
            raise RewriteError(
                f"Unknown action {action!r}.",
                expected=f"one of {', '.join(ACTIONS)}",
                hint="plan.set(source, action='transpose')",
            )
        changes = {column: checked_field(column, value) for column, value in changes.items()}
        row = rows[0]
        old_target = table.at[row, "target"]
        for column, value in changes.items():
            table.at[row, column] = _cell(value)
        if "target" in changes and action is None:
            table.at[row, "action"] = "keep" if changes["target"] == source else "rename"
        if action == "drop":
            table.at[row, "target"] = None
        table.at[row, "confidence"] = 1.0
        table.at[row, "why"] = "set by you"
        _follow_slots(table, source, old_target, table.at[row, "target"], table.at[row, "action"])
        return self

    def drop(self, query: str) -> RewritePlan:
        """Drop every source tensor whose key matches ``query`` (tfexplore's search syntax:
        words, globs, ``re:``), and the optimizer slots of the variables dropped."""
        parsed = parsed_query(query, "plan.drop()")
        for source in list(self.table["source"]):
            if parsed.matches(source):
                self.set(source, action="drop")
        return self

    def init_missing(self, query: str = "") -> RewritePlan:
        """Let target tensors that nothing fills (and whose names match ``query``) start from
        their initial value: a live model's current value, a TF1 graph's constant
        initializer. Optimizer slots of a new optimizer get this without asking."""
        if self.target is None:
            return self
        parsed = parsed_query(query, "init_missing()")
        filled = _filled_by(self.table)
        for v in self.target.variables:
            if v.name not in filled and parsed.matches(v.name) and v.initial is not None:
                self.initialized.add(v.name)
        return self

    # -- writing and exports ---------------------------------------------------------------
    def write(self, path, *, overwrite: bool = False, meta=None, progress: bool | None = None):
        """Write the rewritten checkpoint to prefix ``path``, tensor by tensor (memory: the
        largest tensor twice, plus a constant), atomically: the files appear complete or not
        at all, and a save killed halfway leaves the folder as it was. The source is never
        touched. Raises :class:`RewriteError` (with ``.report``) when the checks find errors.

        Name-based targets get ``PREFIX.meta`` when the target came from a ``.meta`` (or pass
        ``meta=`` a path or a tfexplore ``MetaGraph``); object-based ones get the object graph
        of the target model (``tf.train.Checkpoint(model=model).restore(path)`` then
        ``assert_existing_objects_matched()``). Returns the written
        :class:`~tfexplore.artifacts.checkpoint.Checkpoint`."""
        from .write import write_plan

        return write_plan(self, path, overwrite=overwrite, meta=meta, progress=progress)

    def assignment_map(self) -> dict[str, str]:
        """``{checkpoint key: variable name}`` for ``tf.compat.v1.train.init_from_checkpoint``
        (model variables only; it cannot transform or fill optimizer slots)."""
        from .exports import assignment_map

        return assignment_map(self)

    def var_list(self) -> dict[str, str]:
        """``{checkpoint key: target name}`` for a ``tf.compat.v1.train.Saver(var_list=...)``
        (``{key: variables[name] ...}``; see :meth:`as_code`)."""
        from .exports import var_list

        return var_list(self)

    def keras_recipe(
        self, source: str | None = None, weights_file: str = "converted.weights.h5"
    ) -> str:
        """Python code that puts the source checkpoint's values into a Keras model's weights
        (``model.weights`` by ``path``), each transformed as the plan says, then saves them as
        ``weights_file`` for ``model.load_weights`` from then on."""
        from .exports import keras_recipe

        return keras_recipe(self, source, weights_file)

    def as_code(self, source: str | None = None, destination: str = "rewritten/model.ckpt") -> str:
        """Plain TensorFlow code that performs this rewrite without tfexplore (it holds every
        tensor in memory at once, as such scripts do)."""
        from .exports import as_code

        return as_code(self, source, destination)


# == building a plan ===========================================================================
def rewrite(
    checkpoint,
    rules: Any = None,
    *,
    to: Any = None,
    rename: Mapping[str, str | None] | Callable[[str], str | None] | None = None,
    prefix: Mapping[str, str] | None = None,
    scope: Mapping[str, str] | None = None,
    regex: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    drop: str | Iterable[str] | None = None,
    drop_optimizer: bool = False,
    storage_options: dict | None = None,
) -> RewritePlan:
    """A :class:`RewritePlan` for ``checkpoint`` (see ``Checkpoint.rewrite``)."""
    import pandas as pd

    from ..artifacts.checkpoint import Checkpoint, CheckpointDir

    if isinstance(checkpoint, CheckpointDir):
        checkpoint = checkpoint.latest
    if not isinstance(checkpoint, Checkpoint):
        from ..artifacts import open as open_artifact

        opened = open_artifact(checkpoint, storage_options=storage_options)
        checkpoint = opened.latest if isinstance(opened, CheckpointDir) else opened
        if not isinstance(checkpoint, Checkpoint):
            raise not_a_checkpoint(checkpoint)
    steps = _rule_steps(rules, rename, prefix, scope, regex)
    drops = [parsed_query(q, "drop=") for q in drop_queries(drop)]
    variables = checkpoint.variables
    rows = []
    for r in variables.itertuples(index=False):
        name, role = r.name, r.role
        row = {c: None for c in COLUMNS}
        row.update(
            source=name,
            role=role,
            slot_of=r.slot_of,
            source_shape=tuple(int(d) for d in r.shape),
            source_dtype=str(r.dtype),
        )
        if role == "object_graph":
            row.update(action="drop", why="object graph: rebuilt for what is written")
        elif any(q.matches(name) for q in drops):
            row.update(action="drop", confidence=1.0, why="drop rule")
        elif drop_optimizer and role in _OPTIMIZER_ROLES:
            row.update(action="drop", confidence=1.0, why="drop_optimizer")
        else:
            new, why = _apply_steps(name, steps)
            if new is None:
                row.update(action="drop", confidence=1.0, why=why)
            else:
                row.update(
                    action="keep" if new == name else "rename",
                    target=new,
                    confidence=1.0,
                    why=why or "same name",
                )
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    _slots_follow(table)
    target = as_target(to, storage_options=storage_options) if to is not None else None
    notes = []
    if target is not None:
        aliases = {
            name: full
            for name, full in zip(variables["name"], variables["full_name"])
            if isinstance(full, str) and full and full != name
        }
        notes = match_target(table, target, aliases)
    plan = RewritePlan(checkpoint, table, target, notes)
    if target is not None:
        _init_new_optimizer(plan)
    return plan


def split_rule(
    text: str, kind: str = "prefix", *, said_as: str = "A rename rule"
) -> tuple[str, str]:
    """One rule typed as ``OLD=NEW`` (the command line's ``--rename``, the panel's rules box)
    -> ``(OLD, NEW)``. A regex splits at its last ``=`` (a pattern may hold one, as in
    ``(?=x)``), the other kinds at the first; NEW may be empty (``bert/=`` strips ``bert/``).

    Example::

        >>> split_rule("bert/=encoder/")
        ('bert/', 'encoder/')
        >>> split_rule("^(?=cls/)=head/", "regex")
        ('^(?=cls/)', 'head/')
    """
    old, separator, new = text.rpartition("=") if kind == "regex" else text.partition("=")
    if not separator or not old.strip():
        raise RewriteError(
            f"{said_as} reads OLD=NEW; received {text!r}.",
            expected="bert/=  (drops the prefix), old/=new/, re:^cls/(.*)=head/\\1, "
            "scope:layer1=encoder/dense",
            hint="NEW may be empty ('bert/=' strips bert/); quote the pair in a shell",
        )
    return old, new


def _rule_steps(rules, rename, prefix, scope, regex) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    for rule in rules if isinstance(rules, (list, tuple)) else [rules]:
        if rule is None:
            continue
        if isinstance(rule, Mapping) or callable(rule):
            steps.append(("rename", checked_rename(rule, "A rule")))
        else:
            raise RewriteError(
                f"A rule must be a dict of names or a function of a name; received: {rule!r}.",
                hint="rewrite({'old/W': 'new/W'}) or rewrite(prefix={'old/': 'new/'})",
            )
    if rename is not None:
        steps.append(("rename", rename_rule(rename)))
    for old, new in string_pairs(prefix, "prefix", "{'bert/': ''}"):
        steps.append(("prefix", (old, new)))
    for old, new in string_pairs(scope, "scope", "{'dense': 'head/dense'}"):
        steps.append(("scope", (old.strip("/"), new.strip("/"))))
    for compiled, replacement in regex_rules(regex):
        steps.append(("regex", (compiled, replacement)))
    return steps


def _apply_steps(name: str, steps) -> tuple[str | None, str | None]:
    current, why = name, []
    for kind, rule in steps:
        if kind == "rename":
            if callable(rule) and not isinstance(rule, Mapping):
                new = checked_name(rule(current), current, "the function")
                if new is None:
                    return None, "function: dropped"
                if new != current:
                    why.append("function")
                current = new
            elif current in rule:
                new = checked_name(rule[current], current, "the dict")
                if new is None:
                    return None, "dict: dropped"
                why.append("dict")
                current = new
        elif kind == "prefix":
            old, new = rule
            if current.startswith(old):
                current = new + current[len(old) :]
                why.append(f"prefix {old!r} -> {new!r}")
        elif kind == "scope":
            old, new = rule
            if current == old or current.startswith(old + "/"):
                current = (new + current[len(old) :]).lstrip("/")
                why.append(f"scope {old!r} -> {new!r}")
        elif kind == "regex":
            pattern, replacement = rule
            new = pattern.sub(replacement, current)  # checked by regex_rules
            if new != current:
                why.append(f"regex {pattern.pattern!r}")
                current = new
    return current, "; ".join(why) or None


def _slots_follow(table: pd.DataFrame) -> None:
    """Optimizer slots follow their variable: ``W/Adam`` becomes ``NEW/Adam`` when ``W``
    becomes ``NEW``, and is dropped with it."""
    index = {s: i for i, s in zip(table.index, table["source"])}
    for i in table.index[table["role"] == "slot"]:
        variable = table.at[i, "slot_of"]
        if variable not in index:
            continue
        j = index[variable]
        _follow_one(table, i, variable, table.at[j, "target"], table.at[j, "action"])


def _follow_slots(table, variable: str, old_target, new_target, action) -> None:
    for i in table.index[table["slot_of"] == variable]:
        _follow_one(table, i, variable, new_target, action)


def _follow_one(table, i, variable: str, new_variable, action) -> None:
    slot_key = table.at[i, "source"]
    if action == "drop" or _blank(new_variable):
        if table.at[i, "action"] != "drop":
            table.at[i, "action"] = "drop"
            table.at[i, "target"] = None
            table.at[i, "why"] = f"slot of {variable}, which is dropped"
        return
    if not slot_key.startswith(variable + "/"):
        return  # a TF2 slot key: its name does not carry its variable's
    followed = new_variable + slot_key[len(variable) :]
    if table.at[i, "target"] != followed and table.at[i, "action"] != "drop":
        table.at[i, "target"] = followed
        table.at[i, "action"] = "keep" if followed == slot_key else "rename"
        table.at[i, "why"] = f"slot follows {variable}"


def _init_new_optimizer(plan: RewritePlan) -> None:
    """Optimizer slots and state of the target that nothing fills start from their initial
    value (the new optimizer starts fresh), when the target knows it."""
    filled = _filled_by(plan.table)
    for v in plan.target.variables:
        if v.role in _OPTIMIZER_ROLES + ("save_counter",) and v.name not in filled and v.initial:
            plan.initialized.add(v.name)
