"""TensorFlow's checkpoint protos and dtype names, without TensorFlow.

Listing a checkpoint needs a few protocol buffers (the ``.index`` header and entries, the TF2
object graph, the ``checkpoint`` state file) and the names of dtypes. TensorFlow's generated
``*_pb2`` modules import the whole ``tensorflow`` package (seconds, and not installed on every
machine that lists checkpoints on object storage), so the same messages are built here from
descriptors written out by hand, field for field as in TensorFlow 2.21's ``.proto`` files:

- ``tensorflow/core/protobuf/tensor_bundle.proto``: :data:`BundleHeaderProto` (and its
  ``Endianness``), :data:`BundleEntryProto`
- ``tensorflow/core/framework/tensor_shape.proto``, ``tensor_slice.proto``, ``versions.proto``,
  ``types.proto``: :data:`TensorShapeProto`, :data:`TensorSliceProto`, :data:`VersionDef`, the
  ``DataType`` enum
- ``tensorflow/core/protobuf/trackable_object_graph.proto``: :data:`TrackableObjectGraph`
- ``tensorflow/python/training/checkpoint_state.proto``: :data:`CheckpointState`

They live in a :class:`~google.protobuf.descriptor_pool.DescriptorPool` of their own under the
package ``tfexplore_wire.tensorflow``, so they never meet TensorFlow's registrations in the
default pool; :func:`tf_name` gives the name TensorFlow uses (``tensorflow.BundleEntryProto``)
for messages. ``tests/test_wire.py`` compares every descriptor with TensorFlow's and the dtype
table with ``tf.dtypes.as_dtype(value).name``.

Example::

    >>> from tfexplore import _wire
    >>> _wire.dtype_name(1), _wire.dtype_name(19), _wire.dtype_name(101)
    ('float32', 'float16', 'float32_ref')
    >>> _wire.tf_name(_wire.BundleEntryProto.DESCRIPTOR)
    'tensorflow.BundleEntryProto'
"""

from __future__ import annotations

import os

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

from .errors import CorruptArtifactError

__all__ = [
    "PACKAGE",
    "POOL",
    "FILES",
    "BundleHeaderProto",
    "BundleEntryProto",
    "TensorShapeProto",
    "TensorSliceProto",
    "VersionDef",
    "SerializedDType",
    "TrackableObjectGraph",
    "RegisteredSaver",
    "CheckpointState",
    "DATA_TYPES",
    "DTYPE_NAMES",
    "dtype_name",
    "parse_proto",
    "tf_name",
    "tf_names_in",
]

#: the protobuf package of every message here: TensorFlow's ``tensorflow`` under a private root
PACKAGE = "tfexplore_wire.tensorflow"
_PRIVATE_ROOT = "tfexplore_wire."

# -- the DataType enum (types.proto) and dtype names -----------------------------------------
#: ``(value, enum name without DT_, tf.dtypes name)`` of every ``DataType`` but ``DT_INVALID``,
#: in the order of types.proto; each has a reference twin at value + 100 (``DT_FLOAT_REF``,
#: ``float32_ref``)
_DATA_TYPES = (
    (1, "FLOAT", "float32"),
    (2, "DOUBLE", "float64"),
    (3, "INT32", "int32"),
    (4, "UINT8", "uint8"),
    (5, "INT16", "int16"),
    (6, "INT8", "int8"),
    (7, "STRING", "string"),
    (8, "COMPLEX64", "complex64"),
    (9, "INT64", "int64"),
    (10, "BOOL", "bool"),
    (11, "QINT8", "qint8"),
    (12, "QUINT8", "quint8"),
    (13, "QINT32", "qint32"),
    (14, "BFLOAT16", "bfloat16"),
    (15, "QINT16", "qint16"),
    (16, "QUINT16", "quint16"),
    (17, "UINT16", "uint16"),
    (18, "COMPLEX128", "complex128"),
    (19, "HALF", "float16"),
    (20, "RESOURCE", "resource"),
    (21, "VARIANT", "variant"),
    (22, "UINT32", "uint32"),
    (23, "UINT64", "uint64"),
    (24, "FLOAT8_E5M2", "float8_e5m2"),
    (25, "FLOAT8_E4M3FN", "float8_e4m3fn"),
    (26, "FLOAT8_E4M3FNUZ", "float8_e4m3fnuz"),
    (27, "FLOAT8_E4M3B11FNUZ", "float8_e4m3b11fnuz"),
    (28, "FLOAT8_E5M2FNUZ", "float8_e5m2fnuz"),
    (29, "INT4", "int4"),
    (30, "UINT4", "uint4"),
    (31, "INT2", "int2"),
    (32, "UINT2", "uint2"),
    (33, "FLOAT4_E2M1FN", "float4_e2m1fn"),
)
_REF = 100  # DT_FLOAT_REF = DT_FLOAT + 100

#: ``DataType`` value -> the name ``tf.dtypes.as_dtype(value).name`` gives (``_ref`` kept)
DTYPE_NAMES: dict[int, str] = {
    **{value: name for value, _, name in _DATA_TYPES},
    **{value + _REF: f"{name}_ref" for value, _, name in _DATA_TYPES},
}
#: every value of the ``DataType`` enum, ``DT_INVALID`` (0) included
DATA_TYPES: frozenset[int] = frozenset({0, *DTYPE_NAMES})


def dtype_name(enum_value: int) -> str:
    """``DT_FLOAT`` (1) -> ``"float32"``; reference dtypes keep their ``_ref``; a value that is
    no dtype (``DT_INVALID``, unknown numbers) -> ``"dtype(N)"``."""
    return DTYPE_NAMES.get(enum_value) or f"dtype({enum_value})"


# -- descriptors, written out as in TensorFlow's .proto files --------------------------------
_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_INT32, _INT64, _FIXED32, _BOOL = _F.TYPE_INT32, _F.TYPE_INT64, _F.TYPE_FIXED32, _F.TYPE_BOOL
_STRING, _DOUBLE, _ENUM, _MESSAGE = _F.TYPE_STRING, _F.TYPE_DOUBLE, _F.TYPE_ENUM, _F.TYPE_MESSAGE


def _field(name, number, kind, type_name="", *, repeated=False, oneof=None):
    """One field; ``type_name`` of a message or enum is relative to ``tensorflow`` unless it
    starts with a dot (``.google.protobuf.BoolValue``)."""
    field = _F(name=name, number=number, type=kind, label=_REPEATED if repeated else _OPTIONAL)
    if type_name:
        field.type_name = type_name if type_name.startswith(".") else f".{PACKAGE}.{type_name}"
    if oneof is not None:
        field.oneof_index = oneof
    return field


def _enum(name, values):
    return descriptor_pb2.EnumDescriptorProto(
        name=name,
        value=[descriptor_pb2.EnumValueDescriptorProto(name=n, number=v) for n, v in values],
    )


def _message(name, fields, *, nested=(), enums=(), oneofs=(), reserved=(), reserved_names=()):
    return descriptor_pb2.DescriptorProto(
        name=name,
        field=fields,
        nested_type=nested,
        enum_type=enums,
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name=n) for n in oneofs],
        reserved_range=[
            descriptor_pb2.DescriptorProto.ReservedRange(start=start, end=end)
            for start, end in reserved
        ],
        reserved_name=reserved_names,
    )


def _file(name, messages=(), *, enums=(), dependencies=()):
    return descriptor_pb2.FileDescriptorProto(
        name=name,
        package=PACKAGE,
        dependency=dependencies,
        message_type=messages,
        enum_type=enums,
        syntax="proto3",  # open enums: an unknown dtype number stays in the field
    )


_TYPES = "tensorflow/core/framework/types.proto"
_SHAPE = "tensorflow/core/framework/tensor_shape.proto"
_SLICE = "tensorflow/core/framework/tensor_slice.proto"
_VERSIONS = "tensorflow/core/framework/versions.proto"
_BUNDLE = "tensorflow/core/protobuf/tensor_bundle.proto"
_OBJECT_GRAPH = "tensorflow/core/protobuf/trackable_object_graph.proto"
_STATE = "tensorflow/python/training/checkpoint_state.proto"
_WRAPPERS = "google/protobuf/wrappers.proto"

#: the files, each as TensorFlow 2.21 has it (options such as ``java_package`` left out)
FILES: tuple[descriptor_pb2.FileDescriptorProto, ...] = (
    _file(
        _TYPES,
        [_message("SerializedDType", [_field("datatype", 1, _ENUM, "DataType")])],
        enums=[
            _enum(
                "DataType",
                [
                    ("DT_INVALID", 0),
                    *((f"DT_{name}", value) for value, name, _ in _DATA_TYPES),
                    *((f"DT_{name}_REF", value + _REF) for value, name, _ in _DATA_TYPES),
                ],
            )
        ],
    ),
    _file(
        _SHAPE,
        [
            _message(
                "TensorShapeProto",
                [
                    _field("dim", 2, _MESSAGE, "TensorShapeProto.Dim", repeated=True),
                    _field("unknown_rank", 3, _BOOL),
                ],
                nested=[_message("Dim", [_field("size", 1, _INT64), _field("name", 2, _STRING)])],
            )
        ],
    ),
    _file(
        _SLICE,
        [
            _message(
                "TensorSliceProto",
                [_field("extent", 1, _MESSAGE, "TensorSliceProto.Extent", repeated=True)],
                nested=[
                    _message(
                        "Extent",
                        [_field("start", 1, _INT64), _field("length", 2, _INT64, oneof=0)],
                        oneofs=["has_length_hack"],  # so that HasField("length") says if set
                    )
                ],
            )
        ],
    ),
    _file(
        _VERSIONS,
        [
            _message(
                "VersionDef",
                [
                    _field("producer", 1, _INT32),
                    _field("min_consumer", 2, _INT32),
                    _field("bad_consumers", 3, _INT32, repeated=True),
                ],
            )
        ],
    ),
    _file(
        _BUNDLE,
        [
            _message(
                "BundleHeaderProto",
                [
                    _field("num_shards", 1, _INT32),
                    _field("endianness", 2, _ENUM, "BundleHeaderProto.Endianness"),
                    _field("version", 3, _MESSAGE, "VersionDef"),
                ],
                enums=[_enum("Endianness", [("LITTLE", 0), ("BIG", 1)])],
            ),
            _message(
                "BundleEntryProto",
                [
                    _field("dtype", 1, _ENUM, "DataType"),
                    _field("shape", 2, _MESSAGE, "TensorShapeProto"),
                    _field("shard_id", 3, _INT32),
                    _field("offset", 4, _INT64),
                    _field("size", 5, _INT64),
                    _field("crc32c", 6, _FIXED32),
                    _field("slices", 7, _MESSAGE, "TensorSliceProto", repeated=True),
                ],
            ),
        ],
        dependencies=[_SHAPE, _SLICE, _TYPES, _VERSIONS],
    ),
    _file(
        _OBJECT_GRAPH,
        [
            _message(
                "TrackableObjectGraph",
                [
                    _field(
                        "nodes", 1, _MESSAGE, "TrackableObjectGraph.TrackableObject", repeated=True
                    )
                ],
                nested=[
                    _message(
                        "TrackableObject",
                        [
                            _field(
                                "children",
                                1,
                                _MESSAGE,
                                "TrackableObjectGraph.TrackableObject.ObjectReference",
                                repeated=True,
                            ),
                            _field(
                                "attributes",
                                2,
                                _MESSAGE,
                                "TrackableObjectGraph.TrackableObject.SerializedTensor",
                                repeated=True,
                            ),
                            _field(
                                "slot_variables",
                                3,
                                _MESSAGE,
                                "TrackableObjectGraph.TrackableObject.SlotVariableReference",
                                repeated=True,
                            ),
                            _field("registered_saver", 4, _MESSAGE, "RegisteredSaver"),
                            _field(
                                "has_checkpoint_values", 5, _MESSAGE, ".google.protobuf.BoolValue"
                            ),
                        ],
                        nested=[
                            _message(
                                "ObjectReference",
                                [_field("node_id", 1, _INT32), _field("local_name", 2, _STRING)],
                            ),
                            _message(
                                "SerializedTensor",
                                [
                                    _field("name", 1, _STRING),
                                    _field("full_name", 2, _STRING),
                                    _field("checkpoint_key", 3, _STRING),
                                ],
                                reserved=[(4, 5)],
                                reserved_names=["optional_restore"],
                            ),
                            _message(
                                "SlotVariableReference",
                                [
                                    _field("original_variable_node_id", 1, _INT32),
                                    _field("slot_name", 2, _STRING),
                                    _field("slot_variable_node_id", 3, _INT32),
                                ],
                            ),
                        ],
                    )
                ],
            ),
            _message(
                "RegisteredSaver",
                [_field("name", 1, _STRING), _field("object_name", 2, _STRING)],
            ),
        ],
        dependencies=[_WRAPPERS],
    ),
    _file(
        _STATE,
        [
            _message(
                "CheckpointState",
                [
                    _field("model_checkpoint_path", 1, _STRING),
                    _field("all_model_checkpoint_paths", 2, _STRING, repeated=True),
                    _field("all_model_checkpoint_timestamps", 3, _DOUBLE, repeated=True),
                    _field("last_preserved_timestamp", 4, _DOUBLE),
                ],
            )
        ],
    ),
)

#: the pool of these messages alone (and ``google/protobuf/wrappers.proto``, which the object
#: graph uses), apart from the default pool where TensorFlow registers its own
POOL = descriptor_pool.DescriptorPool()
POOL.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
for _proto in FILES:
    POOL.AddSerializedFile(_proto.SerializeToString())
del _proto


def _class(name: str):
    message_cls = message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))
    _add_nested(message_cls)
    return message_cls


def _add_nested(message_cls) -> None:
    """Nested messages as class attributes (``TensorShapeProto.Dim``), as in generated modules:
    upb's classes come with them, those of the pure-Python implementation do not."""
    for nested in message_cls.DESCRIPTOR.nested_types:
        nested_cls = message_factory.GetMessageClass(nested)
        if not hasattr(message_cls, nested.name):
            setattr(message_cls, nested.name, nested_cls)
        _add_nested(nested_cls)


BundleHeaderProto = _class("BundleHeaderProto")
BundleEntryProto = _class("BundleEntryProto")
TensorShapeProto = _class("TensorShapeProto")
TensorSliceProto = _class("TensorSliceProto")
VersionDef = _class("VersionDef")
SerializedDType = _class("SerializedDType")
TrackableObjectGraph = _class("TrackableObjectGraph")
RegisteredSaver = _class("RegisteredSaver")
CheckpointState = _class("CheckpointState")


def tf_name(descriptor) -> str:
    """The full name TensorFlow gives a message or enum (``tensorflow.BundleEntryProto``) of
    this module's or any other descriptor."""
    return descriptor.full_name.removeprefix(_PRIVATE_ROOT)


def tf_names_in(text: str) -> str:
    """``text`` (a protobuf error message) with this module's message names spelt as
    TensorFlow spells them: ``Message type "tensorflow.CheckpointState" has no field ...``."""
    return text.replace(f'"{PACKAGE}.', '"tensorflow.')


# -- parsing ---------------------------------------------------------------------------------
def parse_proto(message_cls, data: bytes, path, what: str, hint: str | None = None):
    """Parse binary protobuf ``data`` into a new ``message_cls``; damage becomes
    :class:`CorruptArtifactError` naming ``path`` (never a raw ``DecodeError`` or
    ``UnicodeDecodeError``)."""
    message = message_cls()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # DecodeError, UnicodeDecodeError, RuntimeWarning-as-error...
        looks_text = _looks_like_text(data)
        raise CorruptArtifactError(
            f"{os.fspath(path)!r} is not a readable {what}"
            + (" (it holds text)" if looks_text else " (its bytes are damaged or truncated)")
            + ".",
            path=path,
            expected=f"a binary {tf_name(message_cls.DESCRIPTOR)} protocol buffer",
            hint=hint or "re-export or re-copy the file; compare its size with the original",
        ) from exc
    return message


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    if not head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) > 0.95
