"""The prose of ``KerasFile.explain()``: what the file is, what it holds, what loading it with
Keras would run. Takes the file without importing its class (the class imports this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .container import FORMATS

if TYPE_CHECKING:
    pass


def explain_keras_file(keras_file) -> str:
    facts = keras_file.summary()
    lines = [f"# `{keras_file.path.name}`: {FORMATS[keras_file.format]}", ""]
    if keras_file.format == "keras_v3":
        lines += [
            "A `.keras` file is a zip archive with three members:",
            "",
            "- `metadata.json`: the Keras version that saved it and the date;",
            "- `config.json`: the **architecture** as JSON: every layer's class and settings "
            "and how layers connect, plus `compile_config` (loss, metrics, optimizer settings);",
            "- `model.weights.h5`: the **weights** in HDF5, one group per layer "
            "(`layers/<layer>/vars/0`, `vars/1`... in the order the layer created them) and the "
            "**optimizer state** under `optimizer/vars`.",
        ]
    elif keras_file.format == "weights_h5_v3":
        lines += [
            "A Keras 3 `.weights.h5` (from `model.save_weights`) holds only **weights**, one HDF5 "
            "group per layer (`layers/<layer>/vars/<i>`), and the optimizer state if the model "
            "was trained (`optimizer/vars`). It has **no architecture**.",
        ]
    elif keras_file.format == "h5_model":
        lines += [
            "A legacy Keras HDF5 model file holds the **architecture** (root attribute "
            "`model_config`, JSON), how it was compiled (`training_config`), the **weights** "
            "(`model_weights/<layer>/...`, listed by the attributes `layer_names` and "
            "`weight_names`) and, if saved after training, the **optimizer state** "
            "(`optimizer_weights`).",
        ]
    else:
        lines += [
            "A legacy Keras weights file (from `save_weights`) holds only the **weights**: one "
            "HDF5 group per layer, named by the root attribute `layer_names`, each listing its "
            "tensors in `weight_names`. It has **no architecture**.",
        ]
    lines += [
        "",
        f"This one has {facts['layers']} layers and {facts['weights']} weight tensors "
        f"({facts['params']:,} parameters)"
        + (f"; optimizer: {facts['optimizer']}" if "optimizer" in facts else "")
        + ".",
        "",
        "## What loading it needs",
        "",
    ]
    if keras_file.config is None:
        lines.append(
            "- The **same architecture built in code** first, then `model.load_weights(path)`: "
            "layer order and shapes must match what `.layers` and `.weights` show."
        )
    else:
        lines.append(
            "- `keras.models.load_model(path)` rebuilds the model from the config; every class "
            "in it must be importable."
        )
    if keras_file.custom_classes:
        lines.append(
            f"- Custom classes {keras_file.custom_classes}: pass them as `custom_objects=` or "
            "register them with `@keras.saving.register_keras_serializable`."
        )
    if keras_file.lambda_layers:
        lines.append(
            f"- `Lambda` layers {keras_file.lambda_layers} store Python bytecode. Keras refuses "
            "to deserialize them unless `safe_mode=False`, which runs that code: only do it for "
            "files you trust. tfexplore read the config as JSON and ran nothing."
        )
    if keras_file.format in ("h5_model", "h5_weights") and keras_file.keras_version is None:
        lines.append(
            "- It was written by Keras 1: its weight names (`dense_1_W`) and layouts predate "
            "Keras 2; Keras 3 cannot load it directly, but the arrays can be read here and "
            "assigned with `layer.set_weights`."
        )
    if keras_file.optimizer is not None:
        lines.append(
            "- To resume training with the saved optimizer state, compile with the same "
            "optimizer; the state is matched to variables by position."
        )
    lines += ["", "Nothing was run to produce this: the file was read with zipfile, json and h5py."]
    if keras_file._source.remote:
        from .probe import REMOTE_NOTE

        lines += ["", f"**Note:** {REMOTE_NOTE[0].upper()}{REMOTE_NOTE[1:]}."]
    return "\n".join(lines)
