"""Class names Keras itself defines, for configs that do not say where a class comes from.

Keras 3 configs name each object's ``module`` and ``registered_name``; Keras 1 and 2 configs
(legacy ``.h5`` files) give only ``class_name``. A class name that is not one of Keras's own
(layers, initializers, regularizers, constraints, optimizers and schedules, losses, metrics,
models, dtype policies, of Keras 3.15 and of the Keras 1/2 releases that wrote ``.h5`` files)
is a custom class: loading the file imports and runs code that defines it.

Generated from ``keras`` 3.15 (``keras.layers`` ... ``keras.saving``, class names and their
aliases) plus a hand-kept list of Keras 1/2 names that Keras 3 dropped.
"""

from __future__ import annotations

__all__ = ["KERAS_CLASS_NAMES"]

KERAS_CLASS_NAMES: frozenset[str] = frozenset(
    """
    AUC AWQDTypePolicy AbstractRNNCell Accuracy Activation ActivityRegularization
    ActivityRegularizer Adadelta Adafactor Adagrad Adam AdamW Adamax AdaptiveAveragePooling1D
    AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D
    AdaptiveMaxPooling2D AdaptiveMaxPooling3D Add AdditiveAttention AlphaDropout
    AtrousConvolution1D AtrousConvolution2D Attention AugMix AutoContrast Average
    AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D
    BatchNormalization Bidirectional BinaryAccuracy BinaryCrossentropy BinaryFocalCrossentropy
    BinaryIoU CTC CategoricalAccuracy CategoricalCrossentropy CategoricalFocalCrossentropy
    CategoricalGeneralizedCrossEntropy CategoricalHinge CategoryEncoding CenterCrop Circle
    Concatenate ConcordanceCorrelation Constant Constraint Container
    ContrastLimitedAdaptiveHistogramEqualization Conv1D Conv1DTranspose Conv2D Conv2DTranspose
    Conv3D Conv3DTranspose ConvLSTM1D ConvLSTM2D ConvLSTM3D Convolution1D
    Convolution1DTranspose Convolution2D Convolution2DTranspose Convolution3D
    Convolution3DTranspose CosineDecay CosineDecayRestarts CosineSimilarity Cropping1D
    Cropping2D Cropping3D CuDNNGRU CuDNNLSTM CustomObjectScope CutMix DTypePolicy
    DTypePolicyMap Deconvolution2D Deconvolution3D Dense DenseFeatures DepthwiseConv1D
    DepthwiseConv2D Dice Discretization Dot Dropout ELU EinsumDense Embedding Equalization
    ExponentialDecay F1Score FBetaScore FalseNegatives FalsePositives Flatten FlaxLayer
    FloatDTypePolicy Ftrl Functional GPTQDTypePolicy GRU GRUCell GRUV2 GaussianDropout
    GaussianNoise GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D
    GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D
    GlobalMaxPool3D GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlorotNormal
    GlorotUniform GroupNormalization GroupQueryAttention GroupedQueryAttention HashedCrossing
    Hashing HeNormal HeUniform Highway Hinge Huber Identity IdentityInitializer Initializer
    Input InputLayer InputSpec Int4DTypePolicy IntegerLookup InverseTimeDecay IoU JaxLayer
    KLDivergence KerasFileEditor KerasTensor L1 L1L2 L1L2Regularizer L2 LSTM LSTMCell LSTMV2
    Lamb Lambda Layer LayerNormalization LeakyReLU LearningRateSchedule LecunNormal
    LecunUniform LinearCosineDecay LinearModel Lion LocallyConnected1D LocallyConnected2D
    LogCosh LogCoshError Loss LossScaleOptimizer LossScaleOptimizerV3 Masking MaxNorm
    MaxNumBoundingBoxes MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D
    Maximum MaxoutDense Mean MeanAbsoluteError MeanAbsolutePercentageError MeanIoU
    MeanMetricWrapper MeanSquaredError MeanSquaredLogarithmicError MelSpectrogram Merge Metric
    MinMaxNorm Minimum MixUp Model MultiHeadAttention MultiOptimizer Multiply Muon Nadam
    NoisyLinearCosineDecay NonNeg Normalization OneHotIoU OneHotMeanIoU Ones Optimizer
    OptimizerMap Orthogonal OrthogonalInitializer OrthogonalRegularizer PReLU
    ParametricSoftplus PearsonCorrelation PeepholeLSTMCell Permute PiecewiseConstantDecay
    Pipeline Poisson Policy PolicyV1 PolynomialDecay Precision PrecisionAtRecall
    QuantizedDTypePolicy QuantizedFloat8DTypePolicy R2Score RMSNormalization RMSprop RNN
    RadialConstraint RandAugment RandomBrightness RandomColorDegeneration RandomColorJitter
    RandomContrast RandomCrop RandomElasticTransform RandomErasing RandomFlip
    RandomGaussianBlur RandomGrayscale RandomHue RandomInvert RandomNormal RandomPerspective
    RandomPosterization RandomRotation RandomSaturation RandomSharpness RandomShear
    RandomTranslation RandomUniform RandomZoom ReLU Recall RecallAtPrecision Recurrent
    Regularizer RepeatVector Rescaling Reshape Resizing ReversibleEmbedding
    RootMeanSquaredError SGD SReLU STFT STFTInitializer STFTSpectrogram ScheduleFreeAdamW
    SensitivityAtSpecificity SeparableConv1D SeparableConv2D SeparableConvolution1D
    SeparableConvolution2D SequenceFeatures Sequential SharpnessAwareMinimization SimpleRNN
    SimpleRNNCell SlicingOpLambda Softmax Solarization SparseCategoricalAccuracy
    SparseCategoricalCrossentropy SparseTopKCategoricalAccuracy SpatialDropout1D
    SpatialDropout2D SpatialDropout3D SpecificityAtSensitivity SpectralNormalization
    SquaredHinge StackedRNNCells StringLookup Subtract Sum TFOpLambda TFOptimizer TFSMLayer
    TensorFlowOpLayer TensorShape TensorSpec TextVectorization ThresholdedReLU TimeDistributed
    TimeDistributedDense TopKCategoricalAccuracy TorchModuleWrapper TrueNegatives
    TruePositives TruncatedNormal Tversky UnitNorm UnitNormalization UpSampling1D UpSampling2D
    UpSampling3D VarianceScaling WeightRegularizer WideDeepModel Wrapper ZeroPadding1D
    ZeroPadding2D ZeroPadding3D Zeros __bytes__ __ellipsis__ __lambda__ __numpy__ __tensor__
    __tuple__ __typespec__ constant custom_object_scope glorot_normal glorot_uniform he_normal
    he_uniform identity l1 l1_l2 l2 lecun_normal lecun_uniform max_norm maxnorm min_max_norm
    non_neg nonneg ones orthogonal orthogonal_regularizer random_normal random_uniform stft
    truncated_normal unit_norm unitnorm variance_scaling zeros
    __keras_tensor__ __slice__ __dtype__ __operation__
    """.split()
)
