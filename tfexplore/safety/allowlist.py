"""The ops tfexplore lets a graph from a file run without ``trust=True``: an allowlist.

Every op type TensorFlow registers is listed here once, either in a family of ops known to be
pure computation (``ALLOWED``: they work on tensors and on state kept in the session's own
memory) or in a category that needs ``trust=True`` (``NEEDS_TRUST``: files, the network,
Python, debugger URLs, blocking queues, accelerator systems, tests). An op type in neither list
(a custom op, an op of a newer TensorFlow, a made-up name) needs trust too: :func:`verdict`
never allows what nobody reviewed.

The lists were generated from TensorFlow's op registry by ``tools/op_allowlist.py`` (which
sorts each op by the module of its generated Python wrapper, ``gen_math_ops`` and so on, with
explicit exceptions for the ops that touch files or block) and then reviewed by hand. Run
``python tools/op_allowlist.py`` after a TensorFlow upgrade: it lists registry ops not
classified here and ops that changed family; ``--write`` regenerates the lists from the rules.

The module is long because it is data: the names of all 1,908 registry ops, grouped, with the
reason for each group; the code is :func:`verdict` and a few lines around it.

Checkpoint I/O (``SaveV2``, ``RestoreV2``, ...) needs trust like any file op; the one exception,
the Saver's own reads and writes with the file name tfexplore feeds, is proven by structure in
:mod:`tfexplore.safety`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALLOWED", "NEEDS_TRUST", "FAMILY_REASONS", "Verdict", "verdict"]


def _ops(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- BEGIN GENERATED LISTS
#: The TensorFlow whose registry these lists were made from and reviewed against.
REGISTRY_VERSION = "2.21.0"

#: family -> ops known to be pure computation (see FAMILY_REASONS for why).
ALLOWED: dict[str, frozenset[str]] = {
    "array": _ops(
        """
        BatchMatrixBandPart BatchMatrixDiag BatchMatrixDiagPart BatchMatrixSetDiag
        BatchToSpace BatchToSpaceND Bitcast BroadcastArgs BroadcastGradientArgs BroadcastTo
        CheckNumerics CheckNumericsV2 Concat ConcatOffset ConcatV2 ConjugateTranspose Const
        DebugGradientIdentity DebugGradientRefIdentity DeepCopy DenseToDenseSetOperation
        DenseToSparseSetOperation DepthToSpace Dequantize Diag DiagPart EditDistance Empty
        EnsureShape ExpandDims ExtractImagePatches ExtractVolumePatches
        FakeQuantWithMinMaxArgs FakeQuantWithMinMaxArgsGradient FakeQuantWithMinMaxVars
        FakeQuantWithMinMaxVarsGradient FakeQuantWithMinMaxVarsPerChannel
        FakeQuantWithMinMaxVarsPerChannelGradient Fill Fingerprint Gather GatherNd GatherV2
        GuaranteeConst HostConst Identity IdentityN InplaceAdd InplaceSub InplaceUpdate
        InvertPermutation ListDiff LowerBound MatrixBandPart MatrixDiag MatrixDiagPart
        MatrixDiagPartV2 MatrixDiagPartV3 MatrixDiagV2 MatrixDiagV3 MatrixSetDiag
        MatrixSetDiagV2 MatrixSetDiagV3 MirrorPad MirrorPadGrad OneHot OnesLike Pack Pad PadV2
        ParallelConcat Placeholder PlaceholderV2 PlaceholderWithDefault PreventGradient
        QuantizeAndDequantize QuantizeAndDequantizeV2 QuantizeAndDequantizeV3
        QuantizeAndDequantizeV4 QuantizeAndDequantizeV4Grad QuantizeV2 QuantizedConcat
        QuantizedConcatV2 QuantizedInstanceNorm QuantizedReshape Rank RefIdentity Reshape
        ResourceStridedSliceAssign Reverse ReverseSequence ReverseV2 Roll ScatterNd
        ScatterNdNonAliasingAdd SetSize Shape ShapeN Size Slice Snapshot SpaceToBatch
        SpaceToBatchND SpaceToDepth SparseToSparseSetOperation Split SplitV Squeeze
        StopGradient StridedSlice StridedSliceAssign StridedSliceGrad TensorScatterAdd
        TensorScatterMax TensorScatterMin TensorScatterSub TensorScatterUpdate
        TensorStridedSliceUpdate Tile TileGrad Transpose Unique UniqueV2 UniqueWithCounts
        UniqueWithCountsV2 Unpack UnravelIndex UpperBound Where ZerosLike _EagerConst
        _HostCast _ParallelConcatStart _ParallelConcatUpdate
        """
    ),
    "assertions and summary protos": _ops(
        """
        Assert AudioSummary AudioSummaryV2 HistogramSummary ImageSummary MergeSummary Print
        PrintV2 ScalarSummary TensorSummary TensorSummaryV2 Timestamp
        """
    ),
    "control flow": _ops(
        """
        Case ControlTrigger DeviceIndex Enter Exit FakeParam For If LoopCond Merge
        NextIteration NoOp PartitionedCall RefEnter RefExit RefMerge RefNextIteration
        RefSelect RefSwitch StatefulPartitionedCall StatelessCase StatelessIf StatelessWhile
        Switch SymbolicGradient ToBool While _Arg _ArrayToList _DeviceArg _DeviceRetval _If
        _ListToArray _Retval _SwitchN _While
        """
    ),
    "fused kernels": _ops(
        """
        _FusedBatchNormEx _FusedBatchNormGradEx _FusedConv2D _FusedConv3D
        _FusedDepthwiseConv2dNative _FusedMatMul _FusedQuantizedConv2D
        _FusedQuantizedDepthwiseConv2D _MklAvgPool _MklAvgPool3D _MklAvgPool3DGrad
        _MklAvgPoolGrad _MklBatchMatMul _MklBatchMatMulV2 _MklConcat _MklConcatV2
        _MklConjugateTranspose _MklConv2D _MklConv2DBackpropFilter
        _MklConv2DBackpropFilterWithBias _MklConv2DBackpropInput _MklConv2DWithBias _MklConv3D
        _MklConv3DBackpropFilterV2 _MklConv3DBackpropInputV2 _MklDepthwiseConv2dNative
        _MklDepthwiseConv2dNativeBackpropFilter _MklDepthwiseConv2dNativeBackpropInput
        _MklDequantize _MklEinsum _MklElu _MklEluGrad _MklFusedBatchMatMulV2
        _MklFusedBatchNorm _MklFusedBatchNormEx _MklFusedBatchNormGrad
        _MklFusedBatchNormGradV2 _MklFusedBatchNormGradV3 _MklFusedBatchNormV2
        _MklFusedBatchNormV3 _MklFusedConv2D _MklFusedDepthwiseConv2dNative
        _MklFusedInstanceNorm _MklFusedMatMul _MklFusedMish _MklLayerNorm _MklLeakyRelu
        _MklLeakyReluGrad _MklMatMul _MklMaxPool _MklMaxPool3D _MklMaxPool3DGrad
        _MklMaxPoolGrad _MklNativeAvgPool _MklNativeAvgPool3D _MklNativeAvgPool3DGrad
        _MklNativeAvgPoolGrad _MklNativeConv2D _MklNativeConv2DBackpropFilter
        _MklNativeConv2DBackpropFilterWithBias _MklNativeConv2DBackpropInput
        _MklNativeConv2DWithBias _MklNativeConv3D _MklNativeConv3DBackpropFilterV2
        _MklNativeConv3DBackpropInputV2 _MklNativeDepthwiseConv2dNative
        _MklNativeDepthwiseConv2dNativeBackpropFilter
        _MklNativeDepthwiseConv2dNativeBackpropInput _MklNativeFusedBatchNorm
        _MklNativeFusedBatchNormEx _MklNativeFusedBatchNormGrad _MklNativeFusedBatchNormGradV2
        _MklNativeFusedBatchNormGradV3 _MklNativeFusedBatchNormV2 _MklNativeFusedBatchNormV3
        _MklNativeFusedConv2D _MklNativeFusedConv3D _MklNativeFusedDepthwiseConv2dNative
        _MklNativeFusedMatMul _MklNativeMaxPool _MklNativeMaxPool3D _MklNativeMaxPool3DGrad
        _MklNativeMaxPoolGrad _MklNativePadWithConv2D _MklNativePadWithFusedConv2D
        _MklNativeSparseMatrixMatMul _MklPadWithConv2D _MklPadWithFusedConv2D _MklQuantizeV2
        _MklQuantizedAvgPool _MklQuantizedConcatV2 _MklQuantizedConv2D
        _MklQuantizedConv2DAndRelu _MklQuantizedConv2DAndReluAndRequantize
        _MklQuantizedConv2DAndRequantize _MklQuantizedConv2DPerChannel
        _MklQuantizedConv2DWithBias _MklQuantizedConv2DWithBiasAndRelu
        _MklQuantizedConv2DWithBiasAndReluAndRequantize
        _MklQuantizedConv2DWithBiasAndRequantize
        _MklQuantizedConv2DWithBiasSignedSumAndReluAndRequantize
        _MklQuantizedConv2DWithBiasSumAndRelu
        _MklQuantizedConv2DWithBiasSumAndReluAndRequantize _MklQuantizedDepthwiseConv2D
        _MklQuantizedDepthwiseConv2DWithBias _MklQuantizedDepthwiseConv2DWithBiasAndRelu
        _MklQuantizedDepthwiseConv2DWithBiasAndReluAndRequantize _MklQuantizedMatMulWithBias
        _MklQuantizedMatMulWithBiasAndDequantize _MklQuantizedMatMulWithBiasAndRelu
        _MklQuantizedMatMulWithBiasAndReluAndRequantize
        _MklQuantizedMatMulWithBiasAndRequantize _MklQuantizedMaxPool _MklRelu _MklRelu6
        _MklRelu6Grad _MklReluGrad _MklSoftmax _MklSwish _MklTanh _MklTanhGrad _MklTranspose
        _QuantizedMatMul _QuantizedMaxPool3D __MklDummyConv2DBackpropFilterWithBias
        __MklDummyConv2DWithBias __MklDummyPadWithConv2D __MklDummyPadWithFusedConv2D
        """
    ),
    "image and audio": _ops(
        """
        AdjustContrast AdjustContrastv2 AdjustHue AdjustSaturation AudioMicrofrontend
        AudioSpectrogram CombinedNonMaxSuppression CropAndResize CropAndResizeGradBoxes
        CropAndResizeGradImage DecodeAndCropJpeg DecodeBmp DecodeGif DecodeImage DecodeJpeg
        DecodeJxl DecodePng DecodeWav DecodeWebP DrawBoundingBoxes DrawBoundingBoxesV2
        EncodeJpeg EncodeJpegVariableQuality EncodePng EncodeWav ExtractGlimpse
        ExtractGlimpseV2 ExtractJpegShape GenerateBoundingBoxProposals HSVToRGB
        ImageProjectiveTransformV2 ImageProjectiveTransformV3 Mfcc NonMaxSuppression
        NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5
        NonMaxSuppressionWithOverlaps QuantizedResizeBilinear RGBToHSV RandomCrop ResizeArea
        ResizeBicubic ResizeBicubicGrad ResizeBilinear ResizeBilinearGrad
        ResizeNearestNeighbor ResizeNearestNeighborGrad SampleDistortedBoundingBox
        SampleDistortedBoundingBoxV2 ScaleAndTranslate ScaleAndTranslateGrad
        StatelessSampleDistortedBoundingBox
        """
    ),
    "in-memory datasets": _ops(
        """
        AnonymousIterator AnonymousIteratorV2 AnonymousIteratorV3 AnonymousMemoryCache
        AnonymousMultiDeviceIterator AnonymousMultiDeviceIteratorV3
        AnonymousRandomSeedGenerator AnonymousSeedGenerator AssertCardinalityDataset
        AssertNextDataset AssertPrevDataset AutoShardDataset BatchDataset BatchDatasetV2
        BytesProducedStatsDataset CheckPinned ChooseFastestBranchDataset ChooseFastestDataset
        CompressElement ComputeBatchSize ConcatenateDataset DatasetCardinality
        DatasetFingerprint DatasetToGraph DatasetToGraphV2 DatasetToSingleElement
        DeleteIterator DeleteMemoryCache DeleteMultiDeviceIterator DeleteRandomSeedGenerator
        DeleteSeedGenerator DenseToSparseBatchDataset DirectedInterleaveDataset
        DummyIterationCounter DummyMemoryCache DummySeedGenerator
        ExperimentalAssertNextDataset ExperimentalAutoShardDataset
        ExperimentalBytesProducedStatsDataset ExperimentalChooseFastestDataset
        ExperimentalDatasetCardinality ExperimentalDenseToSparseBatchDataset
        ExperimentalDirectedInterleaveDataset ExperimentalGroupByReducerDataset
        ExperimentalGroupByWindowDataset ExperimentalIgnoreErrorsDataset
        ExperimentalIteratorGetDevice ExperimentalLatencyStatsDataset
        ExperimentalMapAndBatchDataset ExperimentalMapDataset
        ExperimentalMaxIntraOpParallelismDataset ExperimentalNonSerializableDataset
        ExperimentalParallelInterleaveDataset ExperimentalParseExampleDataset
        ExperimentalPrivateThreadPoolDataset ExperimentalRandomDataset
        ExperimentalRebatchDataset ExperimentalScanDataset ExperimentalSlidingWindowDataset
        ExperimentalTakeWhileDataset ExperimentalThreadPoolDataset
        ExperimentalThreadPoolHandle ExperimentalUnbatchDataset ExperimentalUniqueDataset
        FilterByLastComponentDataset FilterDataset FinalizeDataset FlatMapDataset
        GetElementAtIndex GetOptions GlobalShuffleDataset GroupByReducerDataset
        GroupByWindowDataset IgnoreErrorsDataset IndexFlatMapDataset
        InitializeTableFromDataset InterleaveDataset Iterator IteratorFromStringHandle
        IteratorFromStringHandleV2 IteratorGetDevice IteratorGetModelProto IteratorGetNext
        IteratorGetNextAsOptional IteratorGetNextSync IteratorToStringHandle IteratorV2
        LatencyStatsDataset LegacyParallelInterleaveDatasetV2 ListDataset MakeIterator
        MapAndBatchDataset MapDataset MapDefun MaxIntraOpParallelismDataset ModelDataset
        MultiDeviceIterator MultiDeviceIteratorFromStringHandle
        MultiDeviceIteratorGetNextFromShard MultiDeviceIteratorInit
        MultiDeviceIteratorToStringHandle NonSerializableDataset OneShotIterator
        OptimizeDataset OptimizeDatasetV2 OptionsDataset PaddedBatchDataset
        PaddedBatchDatasetV2 ParallelBatchDataset ParallelFilterDataset
        ParallelInterleaveDataset ParallelInterleaveDatasetV2 ParallelInterleaveDatasetV3
        ParallelInterleaveDatasetV4 ParallelMapDataset ParallelMapDatasetV2
        ParseExampleDataset ParseExampleDatasetV2 PrefetchDataset PrivateThreadPoolDataset
        RandomDataset RandomDatasetV2 RangeDataset RebatchDataset RebatchDatasetV2
        ReduceDataset RepeatDataset RewriteDataset SamplingDataset ScanDataset
        SerializeIterator ShardDataset ShuffleAndRepeatDataset ShuffleAndRepeatDatasetV2
        ShuffleDataset ShuffleDatasetV2 ShuffleDatasetV3 SkipDataset SlidingWindowDataset
        SparseTensorSliceDataset TakeDataset TakeWhileDataset TensorDataset TensorSliceDataset
        ThreadPoolDataset ThreadPoolHandle UnbatchDataset UncompressElement UniqueDataset
        UnwrapDatasetVariant WeightedFlatMapDataset WindowDataset WindowOp WrapDatasetVariant
        ZipDataset
        """
    ),
    "linear algebra": _ops(
        """
        BandedTriangularSolve BatchCholesky BatchCholeskyGrad BatchFFT BatchFFT2D BatchFFT3D
        BatchIFFT BatchIFFT2D BatchIFFT3D BatchMatrixDeterminant BatchMatrixInverse
        BatchMatrixSolve BatchMatrixSolveLs BatchMatrixTriangularSolve BatchSelfAdjointEig
        BatchSelfAdjointEigV2 BatchSvd CSRSparseMatrixComponents CSRSparseMatrixToDense
        CSRSparseMatrixToSparseTensor Cholesky CholeskyGrad DenseToCSRSparseMatrix Eig Einsum
        FFT FFT2D FFT3D FFTND IFFT IFFT2D IFFT3D IFFTND IRFFT IRFFT2D IRFFT3D IRFFTND
        LogMatrixDeterminant Lu MatrixDeterminant MatrixExponential MatrixInverse
        MatrixLogarithm MatrixSolve MatrixSolveLs MatrixSquareRoot MatrixTriangularSolve Qr
        RFFT RFFT2D RFFT3D RFFTND SelfAdjointEig SelfAdjointEigV2 SparseMatrixAdd
        SparseMatrixMatMul SparseMatrixMul SparseMatrixNNZ SparseMatrixOrderingAMD
        SparseMatrixSoftmax SparseMatrixSoftmaxGrad SparseMatrixSparseCholesky
        SparseMatrixSparseMatMul SparseMatrixTranspose SparseMatrixZeros
        SparseTensorToCSRSparseMatrix Svd TridiagonalMatMul TridiagonalSolve
        """
    ),
    "math": _ops(
        """
        Abs AccumulateNV2 Acos Acosh Add AddN AddV2 All Angle Any ApproximateEqual ArgMax
        ArgMin Asin Asinh Atan Atan2 Atanh BatchMatMul BatchMatMulV2 BatchMatMulV3 BesselI0
        BesselI0e BesselI1 BesselI1e BesselJ0 BesselJ1 BesselK0 BesselK0e BesselK1 BesselK1e
        BesselY0 BesselY1 Betainc Bincount BitwiseAnd BitwiseOr BitwiseXor Bucketize Cast Ceil
        ClipByValue Complex ComplexAbs Conj Cos Cosh Cross Cumprod Cumsum CumulativeLogsumexp
        Dawsn DenseBincount Digamma Div DivNoNan Equal Erf Erfc Erfinv EuclideanNorm Exp
        Expint Expm1 Floor FloorDiv FloorMod FresnelCos FresnelSin Greater GreaterEqual
        HistogramFixedWidth Igamma IgammaGradA Igammac Imag Inv InvGrad Invert IsFinite IsInf
        IsNan KthOrderStatistic LeftShift Less LessEqual Lgamma LinSpace Log Log1p LogicalAnd
        LogicalNot LogicalOr MakeUnique MatMul Max Maximum Mean Min Minimum Mod Mul MulNoNan
        Ndtri Neg NextAfter NotEqual Polygamma PopulationCount Pow Prod
        QuantizeDownAndShrinkRange QuantizedAdd QuantizedMatMul QuantizedMul RaggedBincount
        Range Real RealDiv Reciprocal ReciprocalGrad RequantizationRange
        RequantizationRangePerChannel Requantize RequantizePerChannel RightShift Rint Round
        Rsqrt RsqrtGrad SegmentMax SegmentMaxV2 SegmentMean SegmentMin SegmentMinV2
        SegmentProd SegmentProdV2 SegmentSum SegmentSumV2 Select SelectV2 Sigmoid SigmoidGrad
        Sign Sin Sinh SobolSample SparseBincount SparseMatMul SparseSegmentMean
        SparseSegmentMeanGrad SparseSegmentMeanGradV2 SparseSegmentMeanWithNumSegments
        SparseSegmentSqrtN SparseSegmentSqrtNGrad SparseSegmentSqrtNGradV2
        SparseSegmentSqrtNWithNumSegments SparseSegmentSum SparseSegmentSumGrad
        SparseSegmentSumGradV2 SparseSegmentSumWithNumSegments Spence Sqrt SqrtGrad Square
        SquaredDifference StochasticCastToInt Sub Sum Tan Tanh TanhGrad TopKUnique
        TopKWithUnique TruncateDiv TruncateMod UnsortedSegmentMax UnsortedSegmentMin
        UnsortedSegmentProd UnsortedSegmentSum Xdivy Xlog1py Xlogy Zeta
        _TensorToHashBucketFast _UnaryOpsComposition
        """
    ),
    "neural network": _ops(
        """
        ApproxTopK AvgPool AvgPool3D AvgPool3DGrad AvgPoolGrad
        BatchNormWithGlobalNormalization BatchNormWithGlobalNormalizationGrad BiasAdd
        BiasAddGrad BiasAddV1 BlockLSTM BlockLSTMGrad BlockLSTMGradV2 BlockLSTMV2
        CTCBeamSearchDecoder CTCGreedyDecoder CTCLoss CTCLossV2 Conv Conv2D
        Conv2DBackpropFilter Conv2DBackpropFilterV2 Conv2DBackpropInput Conv2DBackpropInputV2
        Conv3D Conv3DBackpropFilter Conv3DBackpropFilterV2 Conv3DBackpropInput
        Conv3DBackpropInputV2 CudnnRNN CudnnRNNBackprop CudnnRNNBackpropV2 CudnnRNNBackpropV3
        CudnnRNNCanonicalToParams CudnnRNNCanonicalToParamsV2 CudnnRNNParamsSize
        CudnnRNNParamsToCanonical CudnnRNNParamsToCanonicalV2 CudnnRNNV2 CudnnRNNV3
        DataFormatDimMap DataFormatVecPermute DepthwiseConv2dNative
        DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput Dilation2D
        Dilation2DBackpropFilter Dilation2DBackpropInput Elu EluGrad FractionalAvgPool
        FractionalAvgPoolGrad FractionalMaxPool FractionalMaxPoolGrad FusedBatchNorm
        FusedBatchNormGrad FusedBatchNormGradV2 FusedBatchNormGradV3 FusedBatchNormV2
        FusedBatchNormV3 FusedPadConv2D FusedResizeAndPadConv2D GRUBlockCell GRUBlockCellGrad
        InTopK InTopKV2 IsotonicRegression L2Loss LRN LRNGrad LSTMBlockCell LSTMBlockCellGrad
        LeakyRelu LeakyReluGrad LogSoftmax MaxPool MaxPool3D MaxPool3DGrad MaxPool3DGradGrad
        MaxPoolGrad MaxPoolGradGrad MaxPoolGradGradV2 MaxPoolGradGradWithArgmax MaxPoolGradV2
        MaxPoolGradWithArgmax MaxPoolV2 MaxPoolWithArgmax NthElement QuantizedAvgPool
        QuantizedBatchNormWithGlobalNormalization QuantizedBiasAdd QuantizedConv2D
        QuantizedConv2DAndRelu QuantizedConv2DAndReluAndRequantize
        QuantizedConv2DAndRequantize QuantizedConv2DPerChannel QuantizedConv2DWithBias
        QuantizedConv2DWithBiasAndRelu QuantizedConv2DWithBiasAndReluAndRequantize
        QuantizedConv2DWithBiasAndRequantize
        QuantizedConv2DWithBiasSignedSumAndReluAndRequantize QuantizedConv2DWithBiasSumAndRelu
        QuantizedConv2DWithBiasSumAndReluAndRequantize QuantizedDepthwiseConv2D
        QuantizedDepthwiseConv2DWithBias QuantizedDepthwiseConv2DWithBiasAndRelu
        QuantizedDepthwiseConv2DWithBiasAndReluAndRequantize QuantizedMatMulWithBias
        QuantizedMatMulWithBiasAndDequantize QuantizedMatMulWithBiasAndRelu
        QuantizedMatMulWithBiasAndReluAndRequantize QuantizedMatMulWithBiasAndRequantize
        QuantizedMaxPool QuantizedRelu QuantizedRelu6 QuantizedReluX Relu Relu6 Relu6Grad
        ReluGrad Selu SeluGrad Softmax SoftmaxCrossEntropyWithLogits Softplus SoftplusGrad
        Softsign SoftsignGrad SparseSoftmaxCrossEntropyWithLogits TopK TopKV2
        UniformDequantize UniformQuantize UniformQuantizedAdd UniformQuantizedClipByValue
        UniformQuantizedConvolution UniformQuantizedConvolutionHybrid UniformQuantizedDot
        UniformQuantizedDotHybrid UniformRequantize
        """
    ),
    "random": _ops(
        """
        AllCandidateSampler ComputeAccidentalHits LearnedUnigramCandidateSampler
        LogUniformCandidateSampler Multinomial NonDeterministicInts
        ParameterizedTruncatedNormal RandomGamma RandomGammaGrad RandomIndexShuffle
        RandomPoisson RandomPoissonV2 RandomShuffle RandomStandardNormal RandomUniform
        RandomUniformInt RngReadAndSkip RngSkip StatefulRandomBinomial StatefulStandardNormal
        StatefulStandardNormalV2 StatefulTruncatedNormal StatefulUniform
        StatefulUniformFullInt StatefulUniformInt StatelessMultinomial
        StatelessParameterizedTruncatedNormal StatelessRandomBinomial StatelessRandomGammaV2
        StatelessRandomGammaV3 StatelessRandomGetAlg StatelessRandomGetKeyCounter
        StatelessRandomGetKeyCounterAlg StatelessRandomNormal StatelessRandomNormalV2
        StatelessRandomPoisson StatelessRandomUniform StatelessRandomUniformFullInt
        StatelessRandomUniformFullIntV2 StatelessRandomUniformInt StatelessRandomUniformIntV2
        StatelessRandomUniformV2 StatelessShuffle StatelessTruncatedNormal
        StatelessTruncatedNormalV2 ThreadUnsafeUnigramCandidateSampler TruncatedNormal
        UniformCandidateSampler
        """
    ),
    "sparse and ragged": _ops(
        """
        AddManySparseToTensorsMap AddSparseToTensorsMap CompositeTensorVariantFromComponents
        CompositeTensorVariantToComponents DenseCountSparseOutput DeserializeManySparse
        DeserializeSparse RaggedCountSparseOutput RaggedCross RaggedFillEmptyRows
        RaggedFillEmptyRowsGrad RaggedGather RaggedRange RaggedTensorFromVariant
        RaggedTensorToSparse RaggedTensorToTensor RaggedTensorToVariant
        RaggedTensorToVariantGradient SerializeManySparse SerializeSparse SparseAdd
        SparseAddGrad SparseConcat SparseCountSparseOutput SparseCross SparseCrossHashed
        SparseCrossV2 SparseDenseCwiseAdd SparseDenseCwiseDiv SparseDenseCwiseMul
        SparseFillEmptyRows SparseFillEmptyRowsGrad SparseReduceMax SparseReduceMaxSparse
        SparseReduceSum SparseReduceSumSparse SparseReorder SparseReshape SparseSlice
        SparseSliceGrad SparseSoftmax SparseSparseMaximum SparseSparseMinimum SparseSplit
        SparseTensorDenseAdd SparseTensorDenseMatMul SparseToDense
        TakeManySparseFromTensorsMap
        """
    ),
    "strings and parsing": _ops(
        """
        AsString DecodeBase64 DecodeCSV DecodeCompressed DecodeJSONExample DecodePaddedRaw
        DecodeRaw EncodeBase64 ParseExample ParseExampleV2 ParseSequenceExample
        ParseSequenceExampleV2 ParseSingleExample ParseSingleSequenceExample ParseTensor
        ReduceJoin RegexFullMatch RegexReplace SerializeTensor ShardedFilename ShardedFilespec
        StaticRegexFullMatch StaticRegexReplace StringFormat StringJoin StringLength
        StringLower StringNGrams StringSplit StringSplitV2 StringStrip StringToHashBucket
        StringToHashBucketFast StringToHashBucketStrong StringToNumber StringUpper Substr
        UnicodeDecode UnicodeDecodeWithOffsets UnicodeEncode UnicodeScript UnicodeTranscode
        UnsortedSegmentJoin
        """
    ),
    "tables and containers": _ops(
        """
        AnonymousHashTable AnonymousMutableDenseHashTable AnonymousMutableHashTable
        AnonymousMutableHashTableOfTensors DynamicPartition DynamicStitch EmptyTensorList
        EmptyTensorMap HashTable HashTableV2 InitializeTable InitializeTableV2
        LookupTableExport LookupTableExportV2 LookupTableFind LookupTableFindV2
        LookupTableImport LookupTableImportV2 LookupTableInsert LookupTableInsertV2
        LookupTableRemoveV2 LookupTableSize LookupTableSizeV2 MutableDenseHashTable
        MutableDenseHashTableV2 MutableHashTable MutableHashTableOfTensors
        MutableHashTableOfTensorsV2 MutableHashTableV2 OptionalFromValue OptionalGetValue
        OptionalHasValue OptionalNone ParallelDynamicStitch Stack StackClose StackCloseV2
        StackPop StackPopV2 StackPush StackPushV2 StackV2 TensorArray TensorArrayClose
        TensorArrayCloseV2 TensorArrayCloseV3 TensorArrayConcat TensorArrayConcatV2
        TensorArrayConcatV3 TensorArrayGather TensorArrayGatherV2 TensorArrayGatherV3
        TensorArrayGrad TensorArrayGradV2 TensorArrayGradV3 TensorArrayGradWithShape
        TensorArrayPack TensorArrayRead TensorArrayReadV2 TensorArrayReadV3 TensorArrayScatter
        TensorArrayScatterV2 TensorArrayScatterV3 TensorArraySize TensorArraySizeV2
        TensorArraySizeV3 TensorArraySplit TensorArraySplitV2 TensorArraySplitV3
        TensorArrayUnpack TensorArrayV2 TensorArrayV3 TensorArrayWrite TensorArrayWriteV2
        TensorArrayWriteV3 TensorListConcat TensorListConcatLists TensorListConcatV2
        TensorListElementShape TensorListFromTensor TensorListGather TensorListGetItem
        TensorListLength TensorListPopBack TensorListPushBack TensorListPushBackBatch
        TensorListReserve TensorListResize TensorListScatter TensorListScatterIntoExistingList
        TensorListScatterV2 TensorListSetItem TensorListSplit TensorListStack TensorMapErase
        TensorMapHasKey TensorMapInsert TensorMapLookup TensorMapSize TensorMapStackKeys
        """
    ),
    "training": _ops(
        """
        ApplyAdaMax ApplyAdadelta ApplyAdagrad ApplyAdagradDA ApplyAdagradV2 ApplyAdam
        ApplyAddSign ApplyCenteredRMSProp ApplyFtrl ApplyFtrlV2 ApplyGradientDescent
        ApplyMomentum ApplyPowerSign ApplyProximalAdagrad ApplyProximalGradientDescent
        ApplyRMSProp BoostedTreesAggregateStats BoostedTreesBucketize
        BoostedTreesCalculateBestFeatureSplit BoostedTreesCalculateBestFeatureSplitV2
        BoostedTreesCalculateBestGainsPerFeature BoostedTreesCenterBias
        BoostedTreesCreateEnsemble BoostedTreesCreateQuantileStreamResource
        BoostedTreesDeserializeEnsemble BoostedTreesEnsembleResourceHandleOp
        BoostedTreesExampleDebugOutputs BoostedTreesFlushQuantileSummaries
        BoostedTreesGetEnsembleStates BoostedTreesMakeQuantileSummaries
        BoostedTreesMakeStatsSummary BoostedTreesPredict
        BoostedTreesQuantileStreamResourceAddSummaries
        BoostedTreesQuantileStreamResourceDeserialize BoostedTreesQuantileStreamResourceFlush
        BoostedTreesQuantileStreamResourceGetBucketBoundaries
        BoostedTreesQuantileStreamResourceHandleOp BoostedTreesSerializeEnsemble
        BoostedTreesSparseAggregateStats BoostedTreesSparseCalculateBestFeatureSplit
        BoostedTreesTrainingPredict BoostedTreesUpdateEnsemble BoostedTreesUpdateEnsembleV2
        IsBoostedTreesEnsembleInitialized IsBoostedTreesQuantileStreamResourceInitialized
        KMC2ChainInitialization KmeansPlusPlusInitialization NearestNeighbors
        ResourceApplyAdaMax ResourceApplyAdadelta ResourceApplyAdagrad ResourceApplyAdagradDA
        ResourceApplyAdagradV2 ResourceApplyAdam ResourceApplyAdamWithAmsgrad
        ResourceApplyAddSign ResourceApplyCenteredRMSProp ResourceApplyFtrl
        ResourceApplyFtrlV2 ResourceApplyGradientDescent ResourceApplyKerasMomentum
        ResourceApplyMomentum ResourceApplyPowerSign ResourceApplyProximalAdagrad
        ResourceApplyProximalGradientDescent ResourceApplyRMSProp ResourceSparseApplyAdadelta
        ResourceSparseApplyAdagrad ResourceSparseApplyAdagradDA ResourceSparseApplyAdagradV2
        ResourceSparseApplyCenteredRMSProp ResourceSparseApplyFtrl ResourceSparseApplyFtrlV2
        ResourceSparseApplyKerasMomentum ResourceSparseApplyMomentum
        ResourceSparseApplyProximalAdagrad ResourceSparseApplyProximalGradientDescent
        ResourceSparseApplyRMSProp SdcaFprint SdcaOptimizer SdcaOptimizerV2 SdcaShrinkL1
        SparseApplyAdadelta SparseApplyAdagrad SparseApplyAdagradDA SparseApplyAdagradV2
        SparseApplyCenteredRMSProp SparseApplyFtrl SparseApplyFtrlV2 SparseApplyMomentum
        SparseApplyProximalAdagrad SparseApplyProximalGradientDescent SparseApplyRMSProp
        """
    ),
    "variables": _ops(
        """
        Assign AssignAdd AssignAddVariableOp AssignSub AssignSubVariableOp AssignVariableOp
        CountUpTo DestroyResourceOp DestroyTemporaryVariable DisableCopyOnRead
        IsVariableInitialized ReadVariableOp ResourceCountUpTo ResourceGather ResourceGatherNd
        ResourceScatterAdd ResourceScatterDiv ResourceScatterMax ResourceScatterMin
        ResourceScatterMul ResourceScatterNdAdd ResourceScatterNdMax ResourceScatterNdMin
        ResourceScatterNdSub ResourceScatterNdUpdate ResourceScatterSub ResourceScatterUpdate
        ScatterAdd ScatterDiv ScatterMax ScatterMin ScatterMul ScatterNdAdd ScatterNdMax
        ScatterNdMin ScatterNdSub ScatterNdUpdate ScatterSub ScatterUpdate TemporaryVariable
        VarHandleOp VarIsInitializedOp Variable VariableShape VariableV2 _ReadVariablesOp
        _VarHandlesOp
        """
    ),
}

#: category -> registry ops that need trust=True, and why (FAMILY_REASONS).
NEEDS_TRUST: dict[str, frozenset[str]] = {
    "TPU, XLA and DTensor system ops": _ops(
        """
        AllToAll AssignVariableXlaConcatND CollateTPUEmbeddingMemory ComputeDedupDataSize
        ComputeDedupDataSizeV2 ComputeDedupDataTupleMask ComputeDedupDataTupleMaskV2
        ConfigureAndInitializeGlobalTPU ConfigureDistributedTPU ConfigureTPUEmbedding
        ConfigureTPUEmbeddingHost ConfigureTPUEmbeddingMemory ConnectTPUEmbeddingHosts
        ConvertToCooTensor ConvertToListOfSparseCoreCooTensors
        ConvertToSparseCoreCsrWrappedCooTensor CopyToMesh CopyToMeshGrad CrossReplicaSum
        DTensorAllGather DTensorAllReduce DTensorAllScatter DTensorAllToAll
        DTensorReduceScatter DTensorSetGlobalTPUArray
        DynamicEnqueueTPUEmbeddingArbitraryTensorBatch
        DynamicEnqueueTPUEmbeddingRaggedTensorBatch EnqueueTPUEmbeddingArbitraryTensorBatch
        EnqueueTPUEmbeddingBatch EnqueueTPUEmbeddingIntegerBatch
        EnqueueTPUEmbeddingRaggedTensorBatch EnqueueTPUEmbeddingSparseBatch
        EnqueueTPUEmbeddingSparseTensorBatch ExecuteTPUEmbeddingPartitioner
        FinalizeTPUEmbedding FinalizeTPUEmbeddingV2 GetMinibatchSplitsWithPhysicalReplica
        GetMinibatchesInCsrWithPhysicalReplica GetStatsFromListOfSparseCoreCooTensors
        GetTpuTaskId GlobalIterId InfeedDequeue InfeedDequeueTuple InfeedEnqueue
        InfeedEnqueuePrelinearizedBuffer InfeedEnqueueTuple IsTPUEmbeddingInitialized
        LoadAllTPUEmbeddingParameters LoadTPUEmbeddingADAMParameters
        LoadTPUEmbeddingAdadeltaParameters LoadTPUEmbeddingAdagradMomentumParameters
        LoadTPUEmbeddingAdagradParameters LoadTPUEmbeddingCenteredRMSPropParameters
        LoadTPUEmbeddingFTRLParameters LoadTPUEmbeddingFrequencyEstimatorParameters
        LoadTPUEmbeddingMDLAdagradLightParameters LoadTPUEmbeddingMomentumParameters
        LoadTPUEmbeddingProximalAdagradParameters LoadTPUEmbeddingProximalYogiParameters
        LoadTPUEmbeddingRMSPropParameters LoadTPUEmbeddingStochasticGradientDescentParameters
        MergeDedupData OutfeedDequeue OutfeedDequeueTuple OutfeedDequeueTupleV2
        OutfeedDequeueV2 OutfeedEnqueue OutfeedEnqueueTuple Prelinearize PrelinearizeTuple
        ReadVariableXlaSplitND RecvTPUEmbeddingActivations Relayout RelayoutLike
        RetrieveAllTPUEmbeddingParameters RetrieveTPUEmbeddingADAMParameters
        RetrieveTPUEmbeddingAdadeltaParameters RetrieveTPUEmbeddingAdagradMomentumParameters
        RetrieveTPUEmbeddingAdagradParameters RetrieveTPUEmbeddingCenteredRMSPropParameters
        RetrieveTPUEmbeddingFTRLParameters RetrieveTPUEmbeddingFrequencyEstimatorParameters
        RetrieveTPUEmbeddingMDLAdagradLightParameters RetrieveTPUEmbeddingMomentumParameters
        RetrieveTPUEmbeddingProximalAdagradParameters
        RetrieveTPUEmbeddingProximalYogiParameters RetrieveTPUEmbeddingRMSPropParameters
        RetrieveTPUEmbeddingStochasticGradientDescentParameters SendTPUEmbeddingGradients
        ShutdownDistributedTPU ShutdownTPUSystem SortListOfSparseCoreCooTensors SplitDedupData
        StoreMinibatchStatisticsInFdo TPUAnnotateTensorsWithDynamicShape TPUCompilationResult
        TPUCompile TPUCompileSucceededAssert TPUCopyWithDynamicShape TPUDummyInput
        TPUEmbeddingActivations TPUExecute TPUExecuteAndUpdateVariables TPUOrdinalSelector
        TPUPartitionedCall TPUPartitionedInput TPUPartitionedInputV2 TPUPartitionedOutput
        TPUPartitionedOutputV2 TPUReplicateMetadata TPUReplicatedInput TPUReplicatedOutput
        TPUReshardVariables TPURoundRobin TpuHandleToProtoKey UpdateTaskIdAndGlobalCoreArray
        XlaAllReduce XlaBroadcastHelper XlaClusterOutput XlaConcatND XlaConv XlaConvV2
        XlaCustomCall XlaCustomCallV2 XlaDequantize XlaDot XlaDotV2 XlaDynamicSlice
        XlaDynamicUpdateSlice XlaEinsum XlaGather XlaHostCompute XlaIf XlaKeyValueSort
        XlaLaunch XlaLaunchV2 XlaOptimizationBarrier XlaPad XlaRecv XlaRecvFromHost
        XlaRecvTPUEmbeddingActivations XlaRecvTPUEmbeddingActivationsV2
        XlaRecvTPUEmbeddingDeduplicationData XlaRecvTPUEmbeddingDeduplicationDataV2 XlaReduce
        XlaReducePrecision XlaReduceScatter XlaReduceWindow XlaRemoveDynamicDimensionSize
        XlaReplicaId XlaRngBitGenerator XlaScatter XlaSelectAndScatter XlaSelfAdjointEig
        XlaSend XlaSendTPUEmbeddingGradients XlaSendTPUEmbeddingGradientsV2 XlaSendToHost
        XlaSetBound XlaSetDynamicDimensionSize XlaSharding XlaSort XlaSparseActivationsUnstack
        XlaSparseCoreAdagrad XlaSparseCoreAdagradMomentum XlaSparseCoreAdam XlaSparseCoreFtrl
        XlaSparseCoreSgd XlaSparseDenseMatmul
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithAdagradAndCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithAdagradMomentumAndCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithAdamAndCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithFtrlAndCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcGradWithSgdAndCsrInput
        XlaSparseDenseMatmulCustomCombinerOnTcWithCsrInput
        XlaSparseDenseMatmulGradWithAdagradAndCsrInput
        XlaSparseDenseMatmulGradWithAdagradAndStaticBufferSize
        XlaSparseDenseMatmulGradWithAdagradMomentumAndCsrInput
        XlaSparseDenseMatmulGradWithAdagradMomentumAndStaticBufferSize
        XlaSparseDenseMatmulGradWithAdamAndCsrInput
        XlaSparseDenseMatmulGradWithAdamAndStaticBufferSize
        XlaSparseDenseMatmulGradWithCsrInput XlaSparseDenseMatmulGradWithFtrlAndCsrInput
        XlaSparseDenseMatmulGradWithFtrlAndStaticBufferSize
        XlaSparseDenseMatmulGradWithSgdAndCsrInput
        XlaSparseDenseMatmulGradWithSgdAndStaticBufferSize XlaSparseDenseMatmulWithCsrInput
        XlaSparseDenseMatmulWithStaticBufferSize XlaSparseGradientsStack XlaSplitND
        XlaSpmdFullToShardShape XlaSpmdShardToFullShape XlaSvd XlaVariadicReduce
        XlaVariadicReduceV2 XlaVariadicSort XlaWhile _ConfigureDistributedTPU
        _DisconnectHostFromDistributedTPUSystem _InitializeHostForDistributedTPU
        _SetGlobalTPUArray _ShutdownDistributedTPU _TPUCompileMlir _TPUReplicate
        _WaitForDistributedTPU _XlaAotOnlyVarHandleOp _XlaCompile
        _XlaCompileMlirPlaceholderProgramKey _XlaHostComputeMlir _XlaMerge _XlaRecvAtHost
        _XlaRecvAtHostV2 _XlaRun _XlaSendFromHost _XlaSendFromHostV2
        """
    ),
    "can block forever": _ops(
        """
        AccumulatorApplyGradient AccumulatorNumAccumulated AccumulatorSetGlobalStep
        AccumulatorTakeGradient Barrier BarrierClose BarrierIncompleteSize BarrierInsertMany
        BarrierReadySize BarrierTakeMany Batch BatchFunction ConditionalAccumulator
        ConsumeMutexLock FIFOQueue FIFOQueueV2 FakeQueue MapClear MapIncompleteSize MapPeek
        MapSize MapStage MapUnstage MapUnstageNoKey MutexLock MutexV2 OrderedMapClear
        OrderedMapIncompleteSize OrderedMapPeek OrderedMapSize OrderedMapStage
        OrderedMapUnstage OrderedMapUnstageNoKey PaddingFIFOQueue PaddingFIFOQueueV2
        PriorityQueue PriorityQueueV2 QueueClose QueueCloseV2 QueueDequeue QueueDequeueMany
        QueueDequeueManyV2 QueueDequeueUpTo QueueDequeueUpToV2 QueueDequeueV2 QueueEnqueue
        QueueEnqueueMany QueueEnqueueManyV2 QueueEnqueueV2 QueueIsClosed QueueIsClosedV2
        QueueSize QueueSizeV2 RandomShuffleQueue RandomShuffleQueueV2
        ResourceAccumulatorApplyGradient ResourceAccumulatorNumAccumulated
        ResourceAccumulatorSetGlobalStep ResourceAccumulatorTakeGradient
        ResourceConditionalAccumulator SparseAccumulatorApplyGradient
        SparseAccumulatorTakeGradient SparseConditionalAccumulator Stage StageClear StagePeek
        StageSize Unbatch UnbatchGrad Unstage
        """
    ),
    "checkpoint I/O": _ops(
        """
        DTensorRestoreV2 MergeV2Checkpoints Restore RestoreSlice RestoreV2 Save SaveSlices
        SaveV2
        """
    ),
    "dataset reading files": _ops(
        """
        CSVDataset CSVDatasetV2 CacheDataset CacheDatasetV2 DataServiceDataset
        DataServiceDatasetV2 DataServiceDatasetV3 DataServiceDatasetV4 DatasetToTFRecord
        DistributedSave ExperimentalCSVDataset ExperimentalDatasetToTFRecord
        ExperimentalLMDBDataset ExperimentalMatchingFilesDataset
        ExperimentalSetStatsAggregatorDataset ExperimentalSqlDataset
        ExperimentalStatsAggregatorHandle ExperimentalStatsAggregatorSummary
        FixedLengthRecordDataset FixedLengthRecordDatasetV2 LMDBDataset
        ListSnapshotChunksDataset LoadDataset MatchingFilesDataset RegisterDataset
        RegisterDatasetV2 SaveDataset SaveDatasetV2 SetStatsAggregatorDataset
        SnapshotChunkDataset SnapshotDataset SnapshotDatasetReader SnapshotDatasetV2
        SnapshotNestedDatasetReader SqlDataset StatsAggregatorHandle StatsAggregatorHandleV2
        StatsAggregatorSummary TFRecordDataset TFRecordDatasetV2 TextLineDataset
        """
    ),
    "debug output (files or network)": _ops(
        """
        Copy CopyHost DebugIdentity DebugIdentityV2 DebugIdentityV3 DebugNanCount
        DebugNumericSummary DebugNumericSummaryV2
        """
    ),
    "kills or stalls the process": _ops(
        """
        Abort ExperimentalSleepDataset SleepDataset SleepIdentityOp SleepOp SyncDevice
        """
    ),
    "network": _ops(
        """
        CollectiveAllToAllV2 CollectiveAllToAllV3 CollectiveAssignGroupV2 CollectiveBcastRecv
        CollectiveBcastRecvV2 CollectiveBcastSend CollectiveBcastSendV2 CollectiveGather
        CollectiveGatherV2 CollectiveInitializeCommunicator CollectivePermute CollectiveReduce
        CollectiveReduceScatterV2 CollectiveReduceV2 CollectiveReduceV3
        DeleteRpcFutureResource DeleteSessionTensor GetSessionHandle GetSessionHandleV2
        GetSessionTensor NcclAllReduce NcclBroadcast NcclReduce Recv RemoteCall RpcCall
        RpcCheckStatus RpcClient RpcGetValue RpcServer RpcServerRegister RpcServerStart Send
        WorkerHeartbeat _HostRecv _HostSend _NcclBroadcastRecv _NcclBroadcastSend
        _NcclReduceRecv _NcclReduceSend _Recv _Send
        """
    ),
    "reads files": _ops(
        """
        DecodeProtoV2 EncodeProto FixedLengthRecordReader FixedLengthRecordReaderV2
        FixedUnigramCandidateSampler GenerateVocabRemapping IdentityReader IdentityReaderV2
        ImmutableConst InitializeTableFromTextFile InitializeTableFromTextFileV2 LMDBReader
        LoadAndRemapMatrix MatchingFiles ReadFile ReaderNumRecordsProduced
        ReaderNumRecordsProducedV2 ReaderNumWorkUnitsCompleted ReaderNumWorkUnitsCompletedV2
        ReaderRead ReaderReadUpTo ReaderReadUpToV2 ReaderReadV2 ReaderReset ReaderResetV2
        ReaderRestoreState ReaderRestoreStateV2 ReaderSerializeState ReaderSerializeStateV2
        RecordInput Skipgram TFRecordReader TFRecordReaderV2 TextLineReader TextLineReaderV2
        WholeFileReader WholeFileReaderV2
        """
    ),
    "runs Python": _ops(
        """
        EagerPyFunc GeneratorDataset PyFunc PyFuncStateless
        """
    ),
    "test and internal ops": _ops(
        """
        A Attr AttrBool AttrBoolList AttrDefault AttrEmptyListDefault AttrEnum AttrEnumList
        AttrFloat AttrListDefault AttrListMin AttrListTypeDefault AttrMin AttrPartialShape
        AttrPartialShapeList AttrShape AttrShapeList AttrTypeDefault B Binary ComplexStruct
        ConstructionFails CopyOp DefaultAttrs DevicePlacementOp DtypeWithDefaultOp Fact
        FiveFloatOutputs FloatInput FloatOutput FloatOutputStringOutput Foo1 Foo2 Foo3
        FuncAttr FuncListAttr GetDeadline GraphDefVersion InPolymorphicTwice Int64Output
        IntAttr IntInput IntInputFloatInput IntInputIntOutput IntOutput IntOutputFloatOutput
        IsResourceHandleRefCounting IsTensorFloat32Enabled KernelLabel KernelLabelRequired
        ListInput ListOutput MakeWeakResourceHandle MixedStruct NInPolymorphicTwice NInTwice
        NInTwoTypeVariables NIntsIn NIntsOut NIntsOutDefault NPolymorphicIn NPolymorphicOut
        NPolymorphicOutDefault NPolymorphicRestrictIn NPolymorphicRestrictOut
        Namespace>TestStringOutput NegTrain None Old OpWithDefaultAttr OpWithFutureDefaultAttr
        OutT OutTypeList OutTypeListRestrict Polymorphic PolymorphicDefaultOut PolymorphicOut
        RefIn RefInputFloatInput RefInputFloatInputIntOutput RefInputIntInput RefOut RefOutput
        RefOutputFloatOutput RequiresOlderGraphVersion ReservedAttr ReservedInput
        ResourceCreateOp ResourceInitializedOp ResourceUsingOp Restrict RiscAbs RiscAdd
        RiscBinaryArithmetic RiscBinaryComparison RiscBitcast RiscBroadcast RiscCast RiscCeil
        RiscCholesky RiscConcat RiscCondition RiscConv RiscCos RiscDiv RiscDot RiscExp RiscFft
        RiscFloor RiscGather RiscImag RiscIsFinite RiscLog RiscLogicalAnd RiscLogicalNot
        RiscLogicalOr RiscMax RiscMin RiscMul RiscNeg RiscPad RiscPool RiscPow
        RiscRandomUniform RiscReal RiscReduce RiscRem RiscReshape RiscReverse RiscScatter
        RiscShape RiscSign RiscSlice RiscSort RiscSqueeze RiscSub RiscTranspose
        RiscTriangularSolve RiscUnary RiscWhile Simple SimpleStruct StringListAttr
        StubResourceHandleOp TestAttr TestStringOutput TwoFloatInputs
        TwoFloatInputsFloatOutput TwoFloatInputsIntOutput TwoFloatOutputs TwoIntInputs
        TwoIntOutputs TwoRefsIn TypeList TypeListRestrict TypeListTwice Unary _ScopedAllocator
        _ScopedAllocatorConcat _ScopedAllocatorSplit
        """
    ),
    "unchecked embedded graphs or programs": _ops(
        """
        DatasetFromGraph DeserializeIterator MlirPassthroughOp XlaCallModule
        """
    ),
    "writes files": _ops(
        """
        CalibrationStatisticsSaver CustomAggregator DumpTensor FileSystemSetConfiguration
        WriteFile
        """
    ),
    "writes summaries": _ops(
        """
        CloseSummaryWriter CreateSummaryDbWriter CreateSummaryFileWriter FlushSummaryWriter
        ImportEvent StatsAggregatorSetSummaryWriter SummaryWriter WriteAudioSummary
        WriteGraphSummary WriteHistogramSummary WriteImageSummary WriteRawProtoSummary
        WriteScalarSummary WriteSummary
        """
    ),
}

FAMILY_REASONS: dict[str, str] = {
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
# -- END GENERATED LISTS

#: op type -> allowed family / needs-trust category.
ALLOWED_OPS: dict[str, str] = {op: family for family, ops in ALLOWED.items() for op in ops}
NEEDS_TRUST_OPS: dict[str, str] = {op: family for family, ops in NEEDS_TRUST.items() for op in ops}
#: PrintV2 output streams that do not name a file.
_PRINT_STREAMS = frozenset({"stderr", "stdout", "log(info)", "log(warning)", "log(error)"})
UNKNOWN = "custom op"


@dataclass(frozen=True)
class Verdict:
    """Whether an op may run without trust, its family (or needs-trust category), and why."""

    allowed: bool
    family: str
    reason: str


def verdict(op_type: str, node=None) -> Verdict:
    """The verdict on one op type (with ``node``, a NodeDef, attrs that matter are looked at:
    a ``PrintV2`` whose ``output_stream`` is a file needs trust).

    Example::

        >>> verdict("MatMul").allowed, verdict("WriteFile").family
        (True, 'writes files')
        >>> verdict("MyCustomOp").allowed
        False
    """
    family = ALLOWED_OPS.get(op_type)
    if family is not None:
        if op_type == "PrintV2" and getattr(node, "attrs_unknown", False):
            # named by a func attr: where it would print is set by attrs nobody can see here
            return Verdict(
                False,
                "writes files",
                "PrintV2 named by a func attr: its output_stream (maybe a file) is not known",
            )
        if op_type == "PrintV2" and node is not None and "output_stream" in node.attr:
            stream = node.attr["output_stream"].s.decode("utf-8", "replace")
            if stream not in _PRINT_STREAMS:
                return Verdict(False, "writes files", f"PrintV2 writes to {stream!r}")
        return Verdict(True, family, FAMILY_REASONS[family])
    category = NEEDS_TRUST_OPS.get(op_type)
    if category is not None:
        return Verdict(False, category, f"{op_type}: {FAMILY_REASONS[category]}")
    return Verdict(
        False,
        UNKNOWN,
        f"{op_type} is not on the reviewed list of TensorFlow {REGISTRY_VERSION} ops (a custom "
        "op, an op of another TensorFlow version, or an unknown name)",
    )
