"""Module 1, neural network foundations from scratch: NumPy only (this package never imports torch).

Every public name of the module is importable from here, e.g.
``from dlf.scratch import Linear, softmax_cross_entropy, numerical_gradient``.
"""

# ruff: noqa: F401  (re-exports: keep this a plain list of imports, one block per module)

from dlf.scratch.attention import (
    MultiHeadSelfAttention,
    causal_mask,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    split_heads,
)
from dlf.scratch.classifiers import (
    CrossValidation,
    KNearestNeighbors,
    LinearClassifier,
    LinearSVM,
    Perceptron,
    SoftmaxClassifier,
    cross_validate_k,
    majority_vote,
    pairwise_sq_distances,
    perceptron_step,
)
from dlf.scratch.gpt import GPT, Block, CausalSelfAttention
from dlf.scratch.gradcheck import (
    check_layer,
    check_loss,
    format_gradcheck_table,
    gradcheck_table,
    numerical_gradient,
    relative_error,
)
from dlf.scratch.im2col import col2im, im2col
from dlf.scratch.init import (
    he_normal,
    he_uniform,
    init_weight,
    small_normal,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from dlf.scratch.layers import (
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    NamedLayers,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    erf,
    sigmoid,
)
from dlf.scratch.losses import is_decayed, l2_penalty, mse, softmax_cross_entropy, svm_loss
from dlf.scratch.mlp import architecture_rows, mlp
from dlf.scratch.optim import (
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    clip_grad_norm,
)
from dlf.scratch.schedules import Constant, CosineAnnealing, LinearWarmup, StepDecay
from dlf.scratch.softmax import softmax, softmax_backward
from dlf.scratch.state import eval_mode, load_state_dict, state_dict
from dlf.scratch.trainer import History, accuracy, evaluate, fit, predict, steps_per_epoch
