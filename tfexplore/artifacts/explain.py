"""The prose of ``explain()`` for a meta graph (:func:`explain_meta_graph`) and a SavedModel
(:func:`explain_saved_model`): what the files are, what they hold, what a restore or a load
will need. The functions take the artifact without importing its class (the classes import
this module).
"""

from __future__ import annotations

from .._files import (
    prefix_parts,
    prefix_text,
)
from .objectgraph import FINGERPRINT_NAME, WRITERS


def explain_meta_graph(meta) -> str:
    graph = meta.graph
    summary = meta.summary()
    lines = [
        f"# `{meta.path.name}`: a MetaGraphDef",
        "",
        "A **MetaGraphDef** is the description of a TensorFlow graph that TF1's "
        "`tf.compat.v1.train.Saver` writes next to each checkpoint (the `.meta` file), and that "
        "each SavedModel stores for each of its tag sets. It holds:",
        "",
        "- the **GraphDef**: every op (*node*) with its type (`op`), its inputs, its attributes "
        "(dtype, shape, ...) and the device it was placed on;",
        "- **collections**: named lists (`train_op`, `variables`, `trainable_variables`, "
        "`summaries`, ...) that let code find important ops again after loading;",
        "- the **SaverDef**: which ops save and restore the variables. Restoring runs the op it "
        "names, so it is worth checking that it is what you expect;",
        "- **signatures** (SavedModels): the named inputs and outputs of each entry point;",
        "- meta info: the TensorFlow version that wrote it and the signatures of the ops used.",
        "",
        "Tensor names are `op_name:output_index`: `layer1/MatMul:0` is the first output of the op "
        "`layer1/MatMul`. In graphs written by TF 2.x (resource variables), a variable's op is a "
        "`VarHandleOp` and `W:0` is a *handle*; its value comes from a `ReadVariableOp` "
        "(`W/Read/ReadVariableOp:0`). In older graphs (`VariableV2`, dtype `float32_ref`), `W:0` "
        "is the variable itself and `W/read:0` an Identity of it.",
        "",
        "## This file",
        "",
        f"- written by TensorFlow {summary['tensorflow_version']}",
        f"- {len(graph)} ops of {summary['op_types']} types; most common: "
        + ", ".join(f"{op} ({n})" for op, n in graph.op_types().most_common(5)),
        f"- {len(graph.functions)} library functions",
        f"- collections: {', '.join(meta.collections) or 'none'}",
        f"- {summary['variables']} variables",
    ]
    if meta.saver_def:
        saver = meta.saver_def
        lines.append(
            f"- saver: format {saver['version']}, restore op `{saver['restore_op']}`"
            + ("" if saver["restore_op_in_graph"] else " (**not in the graph**)")
        )
    if summary.get("signatures"):
        lines.append(f"- signatures: {', '.join(summary['signatures'])}")
    lines += ["", "## What a restore needs", ""]
    prefix = meta.checkpoint_prefix
    if prefix is not None:
        stem = prefix_parts(prefix)[1]
        lines.append(
            f"This graph plus the checkpoint with prefix `{stem or prefix_text(prefix)}`: "
            f"`{stem}.index` and its `{stem}.data-*` shards"
            + (f" (or a single V1 file `{stem}`). " if stem else " (an empty prefix). ")
            + (
                "That checkpoint is here."
                if meta.checkpoint is not None
                else "**No such checkpoint is next to this file.**"
            )
        )
    else:
        lines.append(
            "This graph plus the SavedModel's `variables/variables.index` and `.data-*` files."
        )
    from ..safety.scan import explain_lines

    lines += explain_lines(meta.safety)
    if meta.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in meta.notes]
    return "\n".join(lines)


def explain_saved_model_without_graph(model) -> str:
    error = model.graph_error
    lines = [
        f"# SavedModel `{model.path.name}` (its graph is not readable)",
        "",
        f"`{model.proto_path.name}` should hold the model's graphs, signatures and (TF2) object "
        f"graph, but it cannot be read: {error.message}",
        "",
    ]
    if model.checkpoint is not None:
        variables = model.checkpoint.variables
        lines += [
            f"`variables/variables.index` and its `.data-*` files are an ordinary TensorFlow "
            f"checkpoint and are read on their own: {len(variables)} tensors "
            "(`.variables`, `.read(name)`, `.stats()`). Their names are checkpoint keys; the "
            "object paths and signatures that the graph would add are unknown.",
        ]
    else:
        lines.append("There is no `variables/` checkpoint either.")
    if error.hint:
        lines += ["", f"To get the graph back: {error.hint}."]
    return "\n".join(lines)


def explain_saved_model(model) -> str:
    facts = model.summary()
    mg = model._main
    lines = [
        f"# SavedModel `{model.path.name}`",
        "",
        f"Written by {WRITERS[model.writer]}; TensorFlow {facts['tensorflow_version']}.",
        "",
        "## What each file holds",
        "",
        f"- `{model.proto_path.name}` holds one **MetaGraphDef per tag set** "
        f"(here {len(model.tags)}: {', '.join('{' + ','.join(t) + '}' for t in model.tags)}). "
        f"Each has a graph ({facts['ops']} ops in the `serve` one, plus {facts['functions']} "
        "library functions) and its **signatures**: named entry points, each listing its "
        "inputs and outputs by graph tensor name, dtype and shape.",
    ]
    if model.checkpoint is not None:
        lines.append(
            "- `variables/variables.index` and `variables.data-*` are an **ordinary TF "
            f"checkpoint** with the weights ({facts['variables']}): open "
            "`variables/variables` as a checkpoint and you see the same tensors."
        )
    else:
        lines.append("- There is no `variables/` checkpoint: the graph holds no variables, or "
                     "its weights were folded into constants.")  # fmt: skip
    if model.writer != "tf1_builder":
        lines.append(
            f"- TF2 adds an **object graph** (`SavedObjectGraph`, {len(model.object_graph)} "
            "nodes): the Python objects (modules, layers, variables, tf.functions) that "
            "`tf.saved_model.load` rebuilds. Variable keys in the checkpoint "
            "(`.../.ATTRIBUTES/VARIABLE_VALUE`) are paths through this graph."
        )
    else:
        lines.append(
            "- There is **no object graph** (TF1 builder): variables are found by name through "
            "the graph's `variables` collection and its Saver (`saver_def`)."
        )
    lines.append(
        "- `assets/` holds files the graph reads at load time (vocabularies); `assets.extra/` "
        "files for serving that TensorFlow never reads"
        + (
            f" (here {len(model.assets)} asset files)."
            if not model.assets.empty
            else " (none here)."
        )
    )
    if (model.path / FINGERPRINT_NAME).is_file():
        lines.append("- `fingerprint.pb` holds hashes that identify this export (TF 2.11+).")
    lines += ["", "## Signatures", ""]
    for key, signature in mg.signature_def.items():
        if key == "__saved_model_init_op":
            lines.append(f"- `{key}`: not an entry point; the op that loading runs once "
                         "to initialize tables and resources")  # fmt: skip
            continue
        inputs = ", ".join(f"`{k}`" for k in signature.inputs) or "nothing"
        outputs = ", ".join(f"`{k}`" for k in signature.outputs) or "nothing"
        lines.append(f"- `{key}` ({signature.method_name or 'no method'}): {inputs} -> {outputs}")
    lines += ["", "## What loading it needs", ""]
    if model.writer == "tf1_builder":
        lines.append(
            "- `tf.compat.v1.saved_model.load(session, tags, path)` imports the graph of the "
            "matching tag set and runs its Saver's restore op to fill the variables from "
            "`variables/`; `tf.saved_model.load` wraps it and exposes the signatures."
        )
    else:
        lines.append(
            "- `tf.saved_model.load(path)` rebuilds the object graph and restores the "
            "variables from `variables/`; the signatures are under `.signatures`. No Python "
            "class is needed: functions are stored as graphs."
        )
    lines.append(
        "- Loading runs the graph's restore and initializer ops; tfexplore only parsed the "
        "protos and read the checkpoint index, and ran nothing."
    )
    for note in model.notes:
        lines.append(f"- Note: {note}.")
    from ..safety.scan import explain_lines

    lines += explain_lines(model.safety)
    return "\n".join(lines)
