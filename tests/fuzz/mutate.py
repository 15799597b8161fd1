"""Mutations: each damages a fresh copy of a seed artifact in one way, chosen by an RNG.

A mutation is ``function(case_dir, kind, rng) -> dict`` (what it did, for the report). Byte
mutations pick any file of the case; structured ones re-write a valid container (an SSTable,
a protocol buffer, a zip, an HDF5 file) around one hostile value, so that the check that must
refuse it is reached.
"""

from __future__ import annotations

import random
import shutil
import zipfile
from pathlib import Path

from .sstable import read_entries, write_table

__all__ = ["MUTATIONS", "applicable", "apply"]

TB = 1 << 40


def _files(case: Path) -> list[Path]:
    return sorted(p for p in case.rglob("*") if p.is_file())


def _pick(case: Path, rng: random.Random, suffixes: tuple[str, ...] | None = None) -> Path:
    files = _files(case)
    if suffixes:
        files = [p for p in files if p.name.endswith(suffixes)] or files
    return rng.choice(files)


def _rel(case: Path, path: Path) -> str:
    return str(path.relative_to(case))


# -- byte mutations ------------------------------------------------------------------------------
def truncate(case: Path, kind: str, rng: random.Random) -> dict:
    target = _pick(case, rng)
    data = target.read_bytes()
    size = len(data)
    choices = [0, 1, size // 2, max(size - 1, 0), max(size - 48, 0), max(size - 8, 0)]
    offset = rng.choice(choices) if rng.random() < 0.4 else rng.randrange(size + 1)
    target.write_bytes(data[:offset])
    return {"file": _rel(case, target), "offset": offset, "size": size}


def bitflip(case: Path, kind: str, rng: random.Random) -> dict:
    target = _pick(case, rng)
    data = bytearray(target.read_bytes())
    if not data:
        return {"file": _rel(case, target), "flips": []}
    flips = []
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        position = rng.randrange(len(data))
        bit = rng.randrange(8)
        data[position] ^= 1 << bit
        flips.append((position, bit))
    target.write_bytes(bytes(data))
    return {"file": _rel(case, target), "flips": flips}


def zero_block(case: Path, kind: str, rng: random.Random) -> dict:
    target = _pick(case, rng)
    data = bytearray(target.read_bytes())
    if not data:
        return {"file": _rel(case, target)}
    start = rng.randrange(len(data))
    length = min(rng.choice([4, 16, 64, 512, 4096]), len(data) - start)
    filler = rng.choice([0x00, 0xFF])
    data[start : start + length] = bytes([filler]) * length
    target.write_bytes(bytes(data))
    return {"file": _rel(case, target), "start": start, "length": length, "byte": filler}


def delete_file(case: Path, kind: str, rng: random.Random) -> dict:
    target = _pick(case, rng)
    target.unlink()
    return {"file": _rel(case, target)}


def swap_files(case: Path, kind: str, rng: random.Random) -> dict:
    files = _files(case)
    if len(files) < 2:  # a one-file artifact: replace it with another kind's bytes
        target = files[0]
        target.write_bytes(
            rng.choice(
                [
                    b"",
                    b"\x00" * 64,
                    b"PK\x03\x04" + b"\x00" * 40,
                    b"\x89HDF\r\n\x1a\n" + b"\x00" * 200,
                    b"node {\n",
                ]
            )
        )
        return {"file": _rel(case, target), "replaced": True}
    a, b = rng.sample(files, 2)
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    return {"files": [_rel(case, a), _rel(case, b)]}


# -- the checkpoint state file --------------------------------------------------------------------
def junk_state(case: Path, kind: str, rng: random.Random) -> dict:
    state = case / "checkpoint"
    choice = rng.randrange(8)
    if choice == 0:
        data = bytes(rng.randrange(256) for _ in range(rng.choice([1, 50, 5000])))
    elif choice == 1:
        data = b'model_checkpoint_path: "/etc/passwd"\nall_model_checkpoint_paths: "/etc/passwd"\n'
    elif choice == 2:
        data = b'model_checkpoint_path: "../../../../../../tmp/nowhere/model.ckpt-1"\n'
    elif choice == 3:
        data = b'model_checkpoint_path: "' + b"A" * 100_000 + b'"\n'
    elif choice == 4:
        data = b"model_checkpoint_path: " * 2000
    elif choice == 5:
        data = b'model_checkpoint_path: "\\xff\\xfe\\x00"\nall_model_checkpoint_paths: "."\n'
    elif choice == 6:
        data = b'model_checkpoint_path: "checkpoint"\nall_model_checkpoint_paths: ""\n'
    else:
        data = b'all_model_checkpoint_paths: "' + b"x/" * 3000 + b'"\n' + b"{" * 200
    state.write_bytes(data)
    return {"variant": choice, "size": len(data)}


# -- checkpoint index entries ---------------------------------------------------------------------
def _index_files(case: Path) -> list[Path]:
    return sorted(case.rglob("*.index"))


def index_entry(case: Path, kind: str, rng: random.Random) -> dict:
    """Edit one BundleEntryProto (or the header) and re-write a valid SSTable around it."""
    from tfexplore._tf import protos

    bundle = protos().tensor_bundle_pb2
    index = rng.choice(_index_files(case))
    entries = read_entries(index.read_bytes(), index)
    keyed = [i for i, (key, _) in enumerate(entries) if key]
    variant = rng.choice(VARIANTS)
    if variant.startswith("header_"):
        position = next(i for i, (key, _) in enumerate(entries) if key == b"")
        header = bundle.BundleHeaderProto()
        header.ParseFromString(entries[position][1])
        if variant == "header_shards_zero":
            header.num_shards = 0
        elif variant == "header_shards_many":
            header.num_shards = rng.choice([2, 7, 99999])
        elif variant == "header_big_endian":
            header.endianness = bundle.BundleHeaderProto.BIG
        elif variant == "header_future_version":
            header.version.min_consumer = 10_000
            header.version.producer = 10_000
        elif variant == "header_missing":
            del entries[position]
            index.write_bytes(write_table(entries))
            return {"file": _rel(case, index), "variant": variant}
        entries[position] = (b"", header.SerializeToString())
        index.write_bytes(write_table(entries))
        return {"file": _rel(case, index), "variant": variant}
    position = rng.choice(keyed)
    key, value = entries[position]
    entry = bundle.BundleEntryProto()
    entry.ParseFromString(value)
    _edit_entry(entry, variant, rng)
    entries[position] = (key, entry.SerializeToString())
    index.write_bytes(write_table(entries))
    return {"file": _rel(case, index), "key": key.decode("utf-8", "replace"), "variant": variant}


VARIANTS = (
    "huge_shape",
    "huge_shape_and_size",
    "huge_string",
    "negative_dim",
    "many_dims",
    "bad_dtype",
    "resource_dtype",
    "variant_dtype",
    "ref_dtype",
    "other_dtype",
    "string_dtype",
    "offset_past_end",
    "offset_huge",
    "size_plus",
    "size_zero",
    "shard_out_of_range",
    "bogus_slices",
    "bad_crc",
    "header_shards_zero",
    "header_shards_many",
    "header_big_endian",
    "header_future_version",
    "header_missing",
)


def _edit_entry(entry, variant: str, rng: random.Random) -> None:
    from tfexplore._tf import protos

    types = protos().types_pb2
    if variant in ("huge_shape", "huge_shape_and_size"):
        del entry.shape.dim[:]
        for size in rng.choice([[1 << 20, 1 << 20], [1 << 40], [1 << 31, 1 << 31], [3, 1 << 42]]):
            entry.shape.dim.add().size = size
        if variant == "huge_shape_and_size":
            entry.size = 4 * TB
    elif variant == "huge_string":
        entry.dtype = types.DT_STRING
        del entry.shape.dim[:]
        entry.shape.dim.add().size = 1 << 36
    elif variant == "negative_dim":
        entry.shape.dim.add().size = -rng.choice([1, 2, 1 << 40])
    elif variant == "many_dims":
        del entry.shape.dim[:]
        for _ in range(rng.choice([255, 300, 40])):
            entry.shape.dim.add().size = 1
    elif variant == "bad_dtype":
        entry.dtype = rng.choice([0, 999, 31, 1000000])
    elif variant == "resource_dtype":
        entry.dtype = types.DT_RESOURCE
    elif variant == "variant_dtype":
        entry.dtype = types.DT_VARIANT
    elif variant == "ref_dtype":
        entry.dtype = types.DT_FLOAT_REF
    elif variant == "other_dtype":
        entry.dtype = rng.choice(
            [
                types.DT_DOUBLE,
                types.DT_HALF,
                types.DT_COMPLEX128,
                types.DT_QINT8,
                types.DT_BFLOAT16,
                types.DT_UINT8,
                types.DT_INT8,
            ]
        )
    elif variant == "string_dtype":
        entry.dtype = types.DT_STRING
    elif variant == "offset_past_end":
        entry.offset = entry.offset + 10_000
    elif variant == "offset_huge":
        entry.offset = (1 << 62) + rng.randrange(100)
    elif variant == "size_plus":
        entry.size = entry.size + rng.choice([1, 4, 8])
    elif variant == "size_zero":
        entry.size = 0
    elif variant == "shard_out_of_range":
        entry.shard_id = rng.choice([1, 5, 1 << 30])
    elif variant == "bogus_slices":
        extent = entry.slices.add().extent
        for _ in range(max(len(entry.shape.dim), 1)):
            piece = extent.add()
            piece.start = rng.choice([0, -5, 1 << 40])
            piece.length = rng.choice([1, 1 << 40, 3])
    elif variant == "bad_crc":
        entry.crc32c = (entry.crc32c + 1) & 0xFFFFFFFF


# -- legacy V1 checkpoints ------------------------------------------------------------------------
V1_VARIANTS = (
    "huge_shape",
    "bad_type",
    "ref_type",
    "resource_type",
    "variant_type",
    "negative_dim",
    "many_dims",
    "slice_outside",
    "slice_rank",
    "data_slice_other",
    "data_missing",
    "data_wrong_type",
    "data_short",
    "data_long",
    "duplicate_tensor",
    "meta_missing",
)


def v1_entry(case: Path, kind: str, rng: random.Random) -> dict:
    """Edit the ``SavedTensorSlices`` of a V1 checkpoint and re-write a valid table."""
    from tensorflow.core.util import saved_tensor_slice_pb2

    target = case / "model.ckpt"
    entries = read_entries(target.read_bytes(), target)
    messages = []
    for key, value in entries:
        message = saved_tensor_slice_pb2.SavedTensorSlices()
        message.ParseFromString(value)
        messages.append([key, message])
    meta = next(m for k, m in messages if k == b"")
    data = [(i, m) for i, (k, m) in enumerate(messages) if k]
    variant = rng.choice(V1_VARIANTS)
    tensor = rng.choice(list(meta.meta.tensor))
    if variant == "huge_shape":
        del tensor.shape.dim[:]
        for size in rng.choice([[1 << 20, 1 << 20], [1 << 40], [3, 1 << 42]]):
            tensor.shape.dim.add().size = size
    elif variant in ("bad_type", "ref_type", "resource_type", "variant_type"):
        tensor.type = {
            "bad_type": rng.choice([0, 999, 31]),
            "ref_type": 101,
            "resource_type": 20,
            "variant_type": 21,
        }[variant]
    elif variant == "negative_dim":
        tensor.shape.dim.add().size = -rng.choice([1, 7])
    elif variant == "many_dims":
        for _ in range(rng.choice([40, 70, 300])):
            tensor.shape.dim.add().size = 1
    elif variant == "slice_outside":
        for extent in tensor.slice[0].extent:
            extent.start = rng.choice([5, 1 << 40])
            extent.length = rng.choice([100, 1 << 40])
    elif variant == "slice_rank":
        tensor.slice[0].extent.add().start = 1
    elif variant == "duplicate_tensor":
        meta.meta.tensor.add().CopyFrom(tensor)
    elif variant == "meta_missing":
        messages = [m for m in messages if m[0] != b""]
    else:
        index, message = rng.choice(data)
        if variant == "data_slice_other":
            for extent in message.data.slice.extent:
                extent.start, extent.length = 1, 1
        elif variant == "data_missing":
            del messages[index]
        elif variant == "data_wrong_type":
            message.data.data.Clear()
            message.data.data.string_val.append(b"not a number")
        elif variant == "data_short":
            for field in ("float_val", "int_val", "string_val", "int64_val", "double_val"):
                values = getattr(message.data.data, field)
                if len(values):
                    del values[-1]
        else:
            message.data.data.float_val.extend([1.0] * 1000)
    target.write_bytes(write_table([(k, m.SerializeToString()) for k, m in messages]))
    return {"variant": variant, "tensor": tensor.name}


# -- protocol buffers with a hostile Const --------------------------------------------------------
def huge_const(case: Path, kind: str, rng: random.Random) -> dict:
    """Give a Const node a shape claiming terabytes (one value stored: TF would broadcast it)."""
    from google.protobuf import text_format

    from tfexplore._tf import protos

    p = protos()
    target = _pick(case, rng, (".meta", ".pb", ".pbtxt"))
    if target.name == "fingerprint.pb":
        target = target.with_name("saved_model.pb")
    if target.name.endswith(".meta"):
        message = p.meta_graph_pb2.MetaGraphDef()
        graphs = lambda m: [m.graph_def]  # noqa: E731
    elif target.name.startswith("saved_model"):
        message = p.saved_model_pb2.SavedModel()
        graphs = lambda m: [mg.graph_def for mg in m.meta_graphs]  # noqa: E731
    else:
        message = p.graph_pb2.GraphDef()
        graphs = lambda m: [m]  # noqa: E731
    text = target.name.endswith(".pbtxt")
    data = target.read_bytes()
    if text:
        text_format.Parse(data.decode(), message)
    else:
        message.ParseFromString(data)
    consts = [n for g in graphs(message) for n in g.node if n.op == "Const"]
    consts += [
        n
        for g in graphs(message)
        for f in g.library.function
        for n in f.node_def
        if n.op == "Const"
    ]
    if not consts:
        return {"file": _rel(case, target), "changed": 0}
    node = rng.choice(consts)
    tensor = node.attr["value"].tensor
    variant = rng.choice(["broadcast", "content_short", "dims_overflow"])
    dims = rng.choice([[1 << 20, 1 << 20], [1 << 40], [1 << 62, 4]])
    del tensor.tensor_shape.dim[:]
    for size in dims:
        tensor.tensor_shape.dim.add().size = size
    if variant == "content_short":
        tensor.tensor_content = b"\x00" * 8
    elif variant == "dims_overflow":
        tensor.tensor_shape.dim.add().size = 1 << 62
    for output in node.attr["_output_shapes"].list.shape:
        del output.dim[:]
    serialized = (
        text_format.MessageToString(message).encode() if text else message.SerializeToString()
    )
    target.write_bytes(serialized)
    return {"file": _rel(case, target), "node": node.name, "variant": variant, "dims": dims}


# -- Keras containers -----------------------------------------------------------------------------
def h5_hostile(case: Path, kind: str, rng: random.Random) -> dict:
    """Add a dataset claiming terabytes (chunked, never written: the file stays small), or
    replace a weight's attributes, in the HDF5 weights (inside the zip for ``.keras``)."""
    import h5py

    variant = rng.choice(["huge_dataset", "huge_weight", "string_weight", "bad_attrs"])
    if kind == "keras":
        archive = next(case.glob("*.keras"))
        work = case / "_weights.h5"
        with zipfile.ZipFile(archive) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        work.write_bytes(members["model.weights.h5"])
    else:
        work = next(case.glob("*.h5"))
    with h5py.File(work, "r+") as h5:
        datasets = []
        h5.visititems(
            lambda name, item: datasets.append(name) if isinstance(item, h5py.Dataset) else None
        )
        victim = rng.choice(datasets)
        parent = h5[victim].parent
        leaf = victim.rsplit("/", 1)[-1]
        if variant in ("huge_dataset", "huge_weight"):
            if variant == "huge_weight":
                del parent[leaf]
                name = leaf
            else:
                name = "extra_huge"
            parent.create_dataset(name, shape=(1 << 20, 1 << 20), dtype="f4", chunks=(64, 64))
        elif variant == "string_weight":
            del parent[leaf]
            parent.create_dataset(leaf, data=[b"not", b"numbers"])
        else:
            for key in list(h5.attrs):
                h5.attrs[key] = rng.choice([b"\xff\xfe", "{not json", 12345])
    if kind == "keras":
        members["model.weights.h5"] = work.read_bytes()
        work.unlink()
        with zipfile.ZipFile(archive, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    return {"variant": variant, "dataset": victim}


def zip_member(case: Path, kind: str, rng: random.Random) -> dict:
    """Re-write the ``.keras`` zip with one member damaged, removed or replaced by junk."""
    archive = next(case.glob("*.keras"))
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    name = rng.choice(sorted(members))
    variant = rng.choice(["junk", "truncate", "remove", "json_bomb", "json_types"])
    if variant == "junk":
        members[name] = bytes(rng.randrange(256) for _ in range(200))
    elif variant == "truncate":
        members[name] = members[name][: rng.randrange(len(members[name]) + 1)]
    elif variant == "remove":
        del members[name]
    elif variant == "json_bomb":
        members[name] = b"[" * 100_000 + b"]" * 100_000
    else:
        members[name] = rng.choice(
            [
                b"[]",
                b"null",
                b'{"config": 5, "class_name": []}',
                b'"s"',
                b'{"config": {"layers": 7}}',
                b"1e999999",
            ]
        )
    with zipfile.ZipFile(archive, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return {"member": name, "variant": variant}


def text_edit(case: Path, kind: str, rng: random.Random) -> dict:
    """Damage the text of a ``.pbtxt``: cut a line, duplicate a field, insert junk."""
    target = _pick(case, rng, (".pbtxt",))
    lines = target.read_text(errors="replace").splitlines()
    variant = rng.choice(["drop_line", "dup_line", "junk", "deep_nesting", "huge_int"])
    at = rng.randrange(len(lines) or 1)
    if variant == "drop_line" and lines:
        del lines[at]
    elif variant == "dup_line" and lines:
        lines.insert(at, lines[at])
    elif variant == "junk":
        lines.insert(at, '}{ ::: \x00 "unterminated')
    elif variant == "deep_nesting":
        lines.insert(0, 'node { attr { key: "x" value { list { ' * 2000)
    else:
        lines = [line.replace("size: 3", "size: 99999999999999999999") for line in lines]
    target.write_text("\n".join(lines))
    return {"file": _rel(case, target), "variant": variant, "line": at}


MUTATIONS = {
    "truncate": truncate,
    "bitflip": bitflip,
    "zero_block": zero_block,
    "delete_file": delete_file,
    "swap_files": swap_files,
    "junk_state": junk_state,
    "index_entry": index_entry,
    "huge_const": huge_const,
    "v1_entry": v1_entry,
    "h5_hostile": h5_hostile,
    "zip_member": zip_member,
    "text_edit": text_edit,
}
_ONLY = {
    "junk_state": {"tf1", "tf2", "v1"},
    "index_entry": {"tf1", "tf2", "saved_model"},
    "huge_const": {"tf1", "v1", "saved_model", "pb", "pbtxt"},
    "v1_entry": {"v1"},
    "h5_hostile": {"keras", "h5"},
    "zip_member": {"keras"},
    "text_edit": {"pbtxt"},
}


def applicable(kind: str) -> list[str]:
    """The mutations that make sense for ``kind``."""
    return [name for name in MUTATIONS if kind in _ONLY.get(name, {kind})]


def apply(seed_dir: Path, case_dir: Path, kind: str, mutation: str, rng_seed: int) -> dict:
    """Copy ``seed_dir`` to ``case_dir`` and damage it; return what was done."""
    shutil.copytree(seed_dir, case_dir)
    rng = random.Random(rng_seed)
    return MUTATIONS[mutation](case_dir, kind, rng)
