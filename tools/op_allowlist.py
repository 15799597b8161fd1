"""Keeper rules for tfexplore/safety/allowlist.py: how a TensorFlow op is first sorted into a
family. Run ``python -m tfexplore.safety.allowlist`` to diff the committed lists against the
installed TensorFlow's registry, and ``--write`` to regenerate the file from these rules (then
review the diff by hand: the committed file is the reviewed source of truth).
"""

from __future__ import annotations

#: module of the generated Python wrapper (tf.raw_ops.X.__module__ tail) -> allowed family.
ALLOWED_MODULES = {
    "gen_math_ops": "math",
    "gen_special_math_ops": "math",
    "gen_bitwise_ops": "math",
    "gen_linalg_ops": "linear algebra",
    "gen_sparse_csr_matrix_ops": "linear algebra",
    "gen_spectral_ops": "linear algebra",
    "gen_array_ops": "array",
    "gen_manip_ops": "array",
    "gen_set_ops": "array",
    "gen_sparse_ops": "sparse and ragged",
    "gen_ragged_array_ops": "sparse and ragged",
    "gen_ragged_conversion_ops": "sparse and ragged",
    "gen_ragged_math_ops": "sparse and ragged",
    "gen_count_ops": "sparse and ragged",
    "gen_composite_tensor_ops": "sparse and ragged",
    "gen_nn_ops": "neural network",
    "gen_rnn_ops": "neural network",
    "gen_cudnn_rnn_ops": "neural network",
    "gen_ctc_ops": "neural network",
    "gen_uniform_quant_ops": "neural network",
    "gen_image_ops": "image and audio",
    "gen_audio_ops": "image and audio",
    "gen_string_ops": "strings and parsing",
    "gen_parsing_ops": "strings and parsing",
    "gen_random_ops": "random",
    "gen_stateless_random_ops": "random",
    "gen_stateless_random_ops_v2": "random",
    "gen_stateful_random_ops": "random",
    "gen_random_index_shuffle_ops": "random",
    "gen_candidate_sampling_ops": "random",
    "gen_control_flow_ops": "control flow",
    "gen_functional_ops": "control flow",
    "gen_batch_ops": "control flow",
    "gen_state_ops": "variables",
    "gen_resource_variable_ops": "variables",
    "gen_training_ops": "training",
    "gen_sdca_ops": "training",
    "gen_boosted_trees_ops": "training",
    "gen_clustering_ops": "training",
    "gen_lookup_ops": "tables and containers",
    "gen_list_ops": "tables and containers",
    "gen_map_ops": "tables and containers",
    "gen_optional_ops": "tables and containers",
    "gen_data_flow_ops": "tables and containers",
    "gen_logging_ops": "assertions and summary protos",
    "gen_dataset_ops": "in-memory datasets",
    "gen_experimental_dataset_ops": "in-memory datasets",
}

#: op -> needs-trust category, checked before the module rule.
NEEDS_TRUST_OPS = {
    "checkpoint I/O": """Save SaveV2 SaveSlices MergeV2Checkpoints Restore RestoreV2 RestoreSlice
        DTensorRestoreV2""",
    "reads files": """ReadFile MatchingFiles WholeFileReader WholeFileReaderV2 TextLineReader
        TextLineReaderV2 TFRecordReader TFRecordReaderV2 FixedLengthRecordReader
        FixedLengthRecordReaderV2 LMDBReader IdentityReader IdentityReaderV2 ReaderRead
        ReaderReadV2 ReaderReadUpTo ReaderReadUpToV2 ReaderReset ReaderResetV2
        ReaderRestoreState ReaderRestoreStateV2 ReaderSerializeState ReaderSerializeStateV2
        ReaderNumRecordsProduced ReaderNumRecordsProducedV2 ReaderNumWorkUnitsCompleted
        ReaderNumWorkUnitsCompletedV2 InitializeTableFromTextFile InitializeTableFromTextFileV2
        LoadAndRemapMatrix GenerateVocabRemapping ImmutableConst RecordInput Skipgram
        FixedUnigramCandidateSampler EncodeProto DecodeProtoV2 DecodeProto""",
    "writes files": """WriteFile DumpTensor CalibrationStatisticsSaver CustomAggregator
        FileSystemSetConfiguration""",
    "writes summaries": """CreateSummaryFileWriter CreateSummaryDbWriter SummaryWriter
        WriteSummary WriteScalarSummary WriteHistogramSummary WriteImageSummary
        WriteAudioSummary WriteGraphSummary WriteRawProtoSummary FlushSummaryWriter
        CloseSummaryWriter ImportEvent StatsAggregatorSetSummaryWriter""",
    "runs Python": "PyFunc PyFuncStateless EagerPyFunc GeneratorDataset",
    "network": """Send Recv _Send _Recv _HostSend _HostRecv RemoteCall
        GetSessionHandle GetSessionHandleV2 GetSessionTensor DeleteSessionTensor
        WorkerHeartbeat DeleteRpcFutureResource""",
    "debug output (files or network)": """Copy CopyHost DebugIdentity DebugIdentityV2
        DebugIdentityV3 DebugNanCount DebugNumericSummary DebugNumericSummaryV2""",
    "kills or stalls the process": """Abort SleepOp SleepIdentityOp SyncDevice
        ExperimentalSleepDataset SleepDataset""",
    "dataset reading files": """TFRecordDataset TFRecordDatasetV2
        TextLineDataset FixedLengthRecordDataset FixedLengthRecordDatasetV2 CSVDataset
        CSVDatasetV2 ExperimentalCSVDataset LMDBDataset ExperimentalLMDBDataset SqlDataset
        ExperimentalSqlDataset MatchingFilesDataset ExperimentalMatchingFilesDataset LoadDataset
        CacheDataset CacheDatasetV2 SnapshotDataset SnapshotDatasetV2 SnapshotDatasetReader
        SnapshotChunkDataset SnapshotNestedDatasetReader ListSnapshotChunksDataset SaveDataset
        SaveDatasetV2 ExperimentalSave DistributedSave DatasetToTFRecord
        ExperimentalDatasetToTFRecord DataServiceDataset DataServiceDatasetV2
        DataServiceDatasetV3 DataServiceDatasetV4 RegisterDataset RegisterDatasetV2
        StatsAggregatorHandle StatsAggregatorHandleV2 ExperimentalStatsAggregatorHandle
        StatsAggregatorSummary ExperimentalStatsAggregatorSummary SetStatsAggregatorDataset
        ExperimentalSetStatsAggregatorDataset""",
    "unchecked embedded graphs or programs": """DatasetFromGraph DeserializeIterator
        XlaCallModule MlirPassthroughOp""",
    "can block forever": """FIFOQueue FIFOQueueV2 PaddingFIFOQueue PaddingFIFOQueueV2
        PriorityQueue PriorityQueueV2 RandomShuffleQueue RandomShuffleQueueV2 FakeQueue
        QueueClose QueueCloseV2 QueueDequeue QueueDequeueV2 QueueDequeueMany QueueDequeueManyV2
        QueueDequeueUpTo QueueDequeueUpToV2 QueueEnqueue QueueEnqueueV2 QueueEnqueueMany
        QueueEnqueueManyV2 QueueIsClosed QueueIsClosedV2 QueueSize QueueSizeV2 Barrier
        BarrierClose BarrierIncompleteSize BarrierInsertMany BarrierReadySize BarrierTakeMany
        ConditionalAccumulator SparseConditionalAccumulator ResourceConditionalAccumulator
        AccumulatorApplyGradient AccumulatorNumAccumulated AccumulatorSetGlobalStep
        AccumulatorTakeGradient ResourceAccumulatorApplyGradient
        ResourceAccumulatorNumAccumulated ResourceAccumulatorSetGlobalStep
        ResourceAccumulatorTakeGradient SparseAccumulatorApplyGradient
        SparseAccumulatorTakeGradient Stage StageClear StagePeek StageSize Unstage MapClear
        MapIncompleteSize MapPeek MapSize MapStage MapUnstage MapUnstageNoKey OrderedMapClear
        OrderedMapIncompleteSize OrderedMapPeek OrderedMapSize OrderedMapStage
        OrderedMapUnstage OrderedMapUnstageNoKey MutexLock MutexV2 ConsumeMutexLock Batch
        BatchFunction Unbatch UnbatchGrad""",
}

#: module -> needs-trust category.
NEEDS_TRUST_MODULES = {
    "gen_io_ops": "reads files",
    "gen_summary_ops": "writes summaries",
    "gen_script_ops": "runs Python",
    "gen_debug_ops": "debug output (files or network)",
    "gen_filesystem_ops": "writes files",
    "gen_checkpoint_ops": "reads files",
    "gen_encode_proto_ops": "reads files",
    "gen_decode_proto_ops": "reads files",
    "gen_collective_ops": "network",
    "gen_nccl_ops": "network",
    "gen_sendrecv_ops": "network",
    "gen_sync_ops": "kills or stalls the process",
    "gen_tpu_ops": "TPU, XLA and DTensor system ops",
    "gen_xla_ops": "TPU, XLA and DTensor system ops",
    "gen_tpu_partition_ops": "TPU, XLA and DTensor system ops",
    "gen_user_ops": "test and internal ops",
}

#: ops whose module rule says no but that are pure (reviewed).
ALLOWED_OPS = {
    "strings and parsing": "ShardedFilename ShardedFilespec",
    "control flow": """_SwitchN _If _While _ArrayToList _ListToArray _Arg _Retval _DeviceArg
        _DeviceRetval""",
    "array": """_EagerConst HostConst _HostCast _ParallelConcatStart _ParallelConcatUpdate
        QuantizedConcatV2""",
    "variables": "_ReadVariablesOp _VarHandlesOp",
    "math": """_UnaryOpsComposition _TensorToHashBucketFast StochasticCastToInt KthOrderStatistic
        TopKUnique TopKWithUnique MakeUnique""",
    "image and audio": "AudioMicrofrontend",
}

#: name prefixes of op families with no Python wrapper module.
ALLOWED_PREFIXES = {
    ("_Mkl", "__Mkl", "_Fused", "_Quantized"): "fused kernels",
}
NEEDS_TRUST_PREFIXES = {
    ("Collective", "Nccl", "_Nccl", "Rpc", "DataService", "RegisterDataset", "Socket"): "network",
    (
        "TPU",
        "_TPU",
        "Tpu",
        "Xla",
        "_Xla",
        "DTensor",
        "_ConfigureDistributed",
        "ConfigureDistributed",
        "_InitializeHost",
        "_ShutdownDistributed",
        "_WaitForDistributed",
        "_DisconnectHost",
        "_SetGlobalTPU",
        "ShutdownTPU",
        "ConfigureAndInitializeGlobalTPU",
        "Enqueue",
        "DynamicEnqueue",
        "Infeed",
        "Outfeed",
        "LoadTPU",
        "RetrieveTPU",
        "LoadAllTPU",
        "RetrieveAllTPU",
        "ConfigureTPU",
        "FinalizeTPU",
        "ConnectTPU",
        "IsTPU",
        "CollateTPU",
        "RecvTPU",
        "SendTPU",
        "ComputeDedup",
        "MergeDedup",
        "SplitDedup",
        "ExecuteTPU",
        "GetMinibatch",
        "ConvertToCoo",
        "StoreMinibatch",
        "GetTpuTaskId",
        "UpdateTaskIdAndGlobalCoreArray",
        "Relayout",
        "CopyToMesh",
    ): "TPU, XLA and DTensor system ops",
    ("Risc",): "test and internal ops",
}

#: the reason shown for each family / category.
FAMILY_REASONS = {
    "math": "elementwise, reduction and matrix arithmetic on tensors in memory",
    "linear algebra": "decompositions, solvers, FFTs on tensors in memory",
    "array": "shape, slicing, concatenation, constants, placeholders, identity",
    "sparse and ragged": "sparse and ragged tensor arithmetic in memory",
    "neural network": "convolutions, pooling, activations, losses, RNN cells",
    "image and audio": "decoding, encoding and transforming image/audio bytes held in tensors",
    "strings and parsing": (
        "string manipulation and parsing of serialized tf.Example held in tensors"
    ),
    "random": "random numbers (stateful or stateless) and candidate samplers without files",
    "control flow": "TF1 loops/conds and functional calls; every function they call is checked too",
    "variables": "create, read and assign variables in the session's own memory",
    "training": "optimizer update kernels and in-memory model state",
    "tables and containers": "hash tables, TensorArrays, lists and maps initialized from tensors",
    "assertions and summary protos": (
        "Assert, Print to stderr, summaries serialized into tensors (not written)"
    ),
    "in-memory datasets": "tf.data transformations of tensors; functions they apply are checked",
    "fused kernels": "oneDNN/grappler rewrites of math and nn kernels",
    "checkpoint I/O": (
        "reads or writes checkpoint files; allowed only as the Saver's own I/O with the file name"
        " tfexplore feeds"
    ),
    "reads files": (
        "reads files (or names files through an attr such as vocab_file or descriptor_source)"
    ),
    "writes files": "writes files",
    "writes summaries": "writes event files or summary databases",
    "runs Python": "calls Python code in the process",
    "network": "talks to other devices, processes or machines",
    "debug output (files or network)": "sends tensors to debugger URLs (file:// or grpc://)",
    "kills or stalls the process": "aborts, sleeps or synchronizes the process",
    "dataset reading files": (
        "dataset that reads, caches or saves files, or reaches a tf.data service"
    ),
    "unchecked embedded graphs or programs": (
        "runs a serialized graph or compiled program that the check cannot see into"
    ),
    "can block forever": (
        "queues, barriers, staging areas, accumulators, mutexes and batching ops can wait forever"
        " (or for a timeout the file chooses) for input"
    ),
    "TPU, XLA and DTensor system ops": (
        "accelerator system, host-transfer or compiled-program ops (not reviewed)"
    ),
    "test and internal ops": "ops registered for TensorFlow's tests or internal rewrites",
}


def words(text: str) -> list[str]:
    return text.split()


def classify_by_rules(name: str, module: str | None) -> tuple[bool, str]:
    """(allowed, family or category) for a registry op, by the rules above."""
    for category, text in NEEDS_TRUST_OPS.items():
        if name in words(text):
            return False, category
    for family, text in ALLOWED_OPS.items():
        if name in words(text):
            return True, family
    for prefixes, category in NEEDS_TRUST_PREFIXES.items():
        if name.startswith(prefixes):
            return False, category
    for prefixes, family in ALLOWED_PREFIXES.items():
        if name.startswith(prefixes):
            return True, family
    tail = (module or "").rsplit(".", 1)[-1]
    if tail in NEEDS_TRUST_MODULES:
        return False, NEEDS_TRUST_MODULES[tail]
    if tail in ALLOWED_MODULES:
        return True, ALLOWED_MODULES[tail]
    return False, "test and internal ops"


# -- the keeper ------------------------------------------------------------------------------
def registry() -> dict[str, str | None]:
    """{op name: module of its generated wrapper} for every op in this TensorFlow's registry."""
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    buffer = pywrap_tf_session.TF_GetAllOpList()
    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(buffer))
    return {
        op.name: getattr(getattr(tf.raw_ops, op.name, None), "__module__", None) for op in ops.op
    }


def render(ops: dict[str, str | None], version: str) -> str:
    """The text of tfexplore/safety/allowlist.py's data section for ``ops``."""
    import textwrap

    groups: dict[tuple[bool, str], list[str]] = {}
    for name, module in ops.items():
        groups.setdefault(classify_by_rules(name, module), []).append(name)

    def block(allowed: bool) -> str:
        parts = []
        for (is_allowed, family), names in sorted(groups.items()):
            if is_allowed != allowed:
                continue
            body = textwrap.fill(
                " ".join(sorted(names)),
                width=94,
                initial_indent="        ",
                subsequent_indent="        ",
                break_on_hyphens=False,
            )
            parts.append(f'    {_q(family)}: _ops(\n        """\n{body}\n        """\n    ),')
        return "\n".join(parts)

    reasons = "\n".join(_dict_item(k, v) for k, v in FAMILY_REASONS.items())
    return (
        f"#: The TensorFlow whose registry these lists were made from and reviewed against.\n"
        f"REGISTRY_VERSION = {_q(version)}\n\n"
        f"#: family -> ops known to be pure computation (see FAMILY_REASONS for why).\n"
        f"ALLOWED: dict[str, frozenset[str]] = {{\n{block(True)}\n}}\n\n"
        f"#: category -> registry ops that need trust=True, and why (FAMILY_REASONS).\n"
        f"NEEDS_TRUST: dict[str, frozenset[str]] = {{\n{block(False)}\n}}\n\n"
        f"FAMILY_REASONS: dict[str, str] = {{\n{reasons}\n}}\n"
    )


def _q(text: str) -> str:
    """``text`` as a double-quoted Python literal (as ``ruff format`` writes it)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def _dict_item(key: str, value: str, width: int = 100) -> str:
    """One ``key: value,`` line of a dict literal, or, when longer than ``width``, the value as
    adjacent string literals in parentheses (the way ``ruff format`` leaves them)."""
    import textwrap

    line = f"    {_q(key)}: {_q(value)},"
    if len(line) <= width:
        return line
    chunks = textwrap.wrap(value, width=width - 12, drop_whitespace=False, break_on_hyphens=False)
    body = "\n".join(f"        {_q(chunk)}" for chunk in chunks)
    return f"    {_q(key)}: (\n{body}\n    ),"


BEGIN, END = "# -- BEGIN GENERATED LISTS", "# -- END GENERATED LISTS"


def main(argv=None) -> int:
    import argparse
    import pathlib
    import sys

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the lists from the rules")
    args = parser.parse_args(argv)
    root = pathlib.Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    import tensorflow as tf

    from tfexplore.safety import allowlist as committed

    ops = registry()
    known = set(committed.ALLOWED_OPS) | set(committed.NEEDS_TRUST_OPS)
    new = sorted(set(ops) - known)
    gone = sorted(known - set(ops))
    changed = []
    for name, module in sorted(ops.items()):
        verdict = committed.verdict(name)
        if name in known and classify_by_rules(name, module) != (verdict.allowed, verdict.family):
            changed.append(
                f"{name}: committed {verdict.family!r}, rules say "
                f"{classify_by_rules(name, module)[1]!r}"
            )
    print(
        f"TensorFlow {tf.__version__}: {len(ops)} registry ops; committed lists from "
        f"{committed.REGISTRY_VERSION}: {len(committed.ALLOWED_OPS)} allowed, "
        f"{len(committed.NEEDS_TRUST_OPS)} need trust"
    )
    for name in new:
        allowed, family = classify_by_rules(name, ops[name])
        print(
            f"  new op {name} ({ops[name]}): rules propose {'allowed' if allowed else 'trust'}"
            f" / {family}"
        )
    for name in gone:
        print(f"  gone from the registry: {name}")
    for line in changed:
        print(f"  differs: {line}")
    if args.write:
        path = root / "tfexplore" / "safety" / "allowlist.py"
        text = path.read_text()
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        path.write_text(head + BEGIN + "\n" + render(ops, tf.__version__) + END + tail)
        print(f"wrote {path}: review the diff before committing")
    return 1 if (new or gone or changed) and not args.write else 0


if __name__ == "__main__":
    raise SystemExit(main())
