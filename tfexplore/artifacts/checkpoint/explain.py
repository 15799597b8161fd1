"""The prose of ``Checkpoint.explain()`` and ``CheckpointDir.explain()``: what the files are,
what they hold, and what a restore will need.

The functions take the artifact they describe (a ``Checkpoint``, a ``CheckpointDir``) without
importing its class: the classes import this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._files import (
    prefix_parts,
    prefix_text,
)
from ...errors import (
    TFExploreError,
)
from ..base import human_bytes
from .state import STATE_FILE


# -- prose --------------------------------------------------------------------------------------
def _explain_checkpoint(checkpoint) -> str:
    table = checkpoint.variables
    roles = table["role"].value_counts().to_dict()
    n_vars = roles.get("variable", 0)
    folder, name = prefix_parts(checkpoint.prefix)
    parts = [f"# Checkpoint `{name or prefix_text(checkpoint.prefix)}`", ""]
    if not name:
        parts += [
            f"Its prefix is **empty**: `Saver.save` was given the folder `{folder.name}/` with a "
            "trailing slash, so its files are named `.index`, `.data-*` and `.meta` inside that "
            "folder (hidden files on Unix). Give TensorFlow the folder with its slash "
            f"(`{prefix_text(checkpoint.prefix)}`) as the prefix.",
            "",
        ]
    if checkpoint.format == "v2":
        shards = checkpoint.data_files
        present = [p for p in shards if p.exists()]
        parts += [
            f"This is a **V2 checkpoint**: the prefix `{name or prefix_text(checkpoint.prefix)}` "
            "names a group of files.",
            "",
            f"- **`{name}.index`** lists the {len(table)} tensors it holds: for each, its name, "
            "dtype, shape, which data shard holds its bytes, the offset and size there, and a "
            "checksum. It is small and is all that `.variables` reads.",
            f"- **{len(shards)} data shard(s)** (`{name}.data-00000-of-{len(shards):05d}`...) hold "
            f"the tensors' raw bytes ({human_bytes(float(table['nbytes'].fillna(0).sum()))} "
            f"in all); {len(present)} of {len(shards)} are present.",
        ]
    else:
        parts += [
            f"This is a **legacy V1 checkpoint** (TensorFlow before 0.12): one file `{name}` "
            "holds both the tensor names and their bytes. TensorFlow 2 still reads it with "
            "`tf.train.load_checkpoint`.",
            "",
        ]
    if checkpoint.meta_path.is_file():
        parts.append(
            f"- **`{name}.meta`** is the MetaGraphDef: the TF1 graph that was trained, with its "
            "variables, collections and the Saver's settings (`.meta_graph`)."
        )
    else:
        parts.append(
            f"- There is no `{name}.meta`: the graph was not saved with it, so restoring needs "
            "the code that builds the model."
        )
    state = folder / STATE_FILE
    parts.append(
        f"- The folder's `checkpoint` file {'is' if state.is_file() else 'would be'} a small "
        "text file naming the latest prefix and the ones kept; `tf.train.latest_checkpoint` "
        "reads it. It is not part of the checkpoint itself."
    )
    parts.append("")
    example = next(iter(table.loc[table["role"] == "variable", "name"]), "layer1/W")
    if checkpoint.style == "name_based":
        parts.append(
            "It is **name-based** (TF1 `tf.compat.v1.train.Saver`): each key is a variable's "
            f"graph name, such as `{example}`. Restoring matches variables by these names."
        )
    else:
        parts.append(
            "It is **object-based** (TF2 `tf.train.Checkpoint`): each key is the path of "
            "attribute names from the root object to the variable, ending in "
            "`/.ATTRIBUTES/VARIABLE_VALUE`, and `_CHECKPOINTABLE_OBJECT_GRAPH` stores the "
            "object graph. Restoring matches objects by these paths, not by variable names."
        )
    parts += ["", "## What it holds", ""]
    parts.append(f"- {n_vars} model variable(s)")
    if roles.get("slot"):
        slots = checkpoint.slots
        kinds = ", ".join(sorted(set(slots["slot"].dropna())))
        optimizers = ", ".join(sorted(set(slots["optimizer"].dropna())))
        parts.append(
            f"- {roles['slot']} optimizer slot(s) ({kinds}) kept by {optimizers}: they are the "
            "optimizer's memory of each variable, e.g. Adam's running mean (m) and variance (v) "
            "of the gradient"
        )
    if roles.get("optimizer_state"):
        parts.append(
            f"- {roles['optimizer_state']} optimizer state value(s) (beta powers, "
            "iteration count, learning rate)"
        )
    if roles.get("step"):
        step_key = table.loc[table["role"] == "step", "name"].iloc[0]
        value = _safe_step_value(checkpoint, step_key)
        parts.append(
            f"- the training step (`{step_key}` = {value})"
            if value is not None
            else f"- the training step (`{step_key}`; its value is in the data, unreadable here)"
        )
    if (table["partitions"] > 1).any():
        partitioned = table.loc[table["partitions"] > 1, "name"].tolist()
        parts.append(
            f"- {len(partitioned)} partitioned variable(s) stored as slices "
            f"(e.g. `{partitioned[0]}`): a graph holds them as `{partitioned[0]}/part_0`..."
        )
    parts += ["", "## What a restore needs", ""]
    if checkpoint.style == "name_based":
        parts.append(
            f"A graph (or model) with variables of these {n_vars} names, shapes and dtypes."
        )
    else:
        parts.append(
            "Objects tracked under the same attribute paths (the same model code and "
            "`tf.train.Checkpoint(...)` keywords), with variables of the same shapes."
        )
    if roles.get("slot"):
        parts.append(
            "To *resume training*, the same optimizer must be rebuilt too, so that its slots "
            "are restored; for inference only, the slots can be ignored."
        )
    for note in checkpoint.notes:
        parts.append(f"\n**Note:** {note}.")
    return "\n".join(parts)


def _safe_step_value(checkpoint, key: str) -> int | None:
    try:
        return int(np.asarray(checkpoint.read(key)).reshape(-1)[0])
    except (TFExploreError, TypeError, ValueError, IndexError):
        return None


def _explain_dir(folder) -> str:
    table = folder.checkpoints
    present = table[~table["missing"]]
    parts = [f"# Checkpoint folder `{folder.folder.name}`", ""]
    steps = [str(s) for s in present["step"].dropna()]
    parts.append(
        f"It holds {len(present)} checkpoint(s)"
        + (f" at steps {', '.join(steps)}" if steps else "")
        + ". Each checkpoint is a prefix naming an `.index` file, one or more `.data-*` shards "
        "and, for TF1 Savers, a `.meta` graph."
    )
    parts.append("")
    if folder.state_path.is_file():
        parts.append(
            "The `checkpoint` file is the *state file*: a text CheckpointState naming the "
            "latest checkpoint (`model_checkpoint_path`) and the ones kept "
            "(`all_model_checkpoint_paths`). `tf.train.latest_checkpoint(folder)` and "
            "`CheckpointManager` read it; `Saver(max_to_keep=N)` deletes the oldest files "
            "and rewrites it."
        )
    else:
        parts.append(
            "There is no `checkpoint` state file, so `tf.train.latest_checkpoint` finds "
            "nothing here: open a prefix directly. tfexplore worked from the files present."
        )
    if len(present):
        latest = folder.latest
        parts += [
            "",
            f"The latest is `{prefix_parts(latest.prefix)[1] or prefix_text(latest.prefix)}`. "
            "To restore it, pass its prefix "
            "(not a file name) to `saver.restore(session, prefix)` or "
            "`tf.train.Checkpoint(...).restore(prefix)`.",
        ]
    graphs = folder.graphs
    orphans = graphs[~graphs["has_checkpoint"]]
    if len(orphans):
        names = ", ".join(f"`{Path(p).name}`" for p in orphans["path"][:6])
        parts += [
            "",
            "## Graphs without tensors",
            "",
            f"{len(orphans)} graph(s) ({names}) have no checkpoint beside them: the "
            "`.meta` file is the graph (ops, variables, the Saver's settings), the tensors' "
            "values were in `.index`/`.data-*` files that are not here (too big to commit, "
            "or lost). The graph can still be explored (`.meta_graph`, `GraphView(folder)`); "
            "a session of it starts from freshly initialized variables.",
        ]
    if folder.notes:
        parts += ["", "## Notes", ""] + [f"- {note}" for note in folder.notes]
    return "\n".join(parts)
