"""Layers with explicit forward and backward passes (NumPy only); see ``base.Layer``."""

# ruff: noqa: F401  (re-exports)

from dlf.scratch.layers.activations import GELU, LeakyReLU, ReLU, Sigmoid, Tanh, erf, sigmoid
from dlf.scratch.layers.base import Layer
from dlf.scratch.layers.batchnorm import BatchNorm1d
from dlf.scratch.layers.batchnorm2d import BatchNorm2d
from dlf.scratch.layers.conv import Conv2d
from dlf.scratch.layers.dropout import Dropout
from dlf.scratch.layers.embedding import Embedding
from dlf.scratch.layers.flatten import Flatten
from dlf.scratch.layers.layernorm import LayerNorm
from dlf.scratch.layers.linear import Linear
from dlf.scratch.layers.named import NamedLayers
from dlf.scratch.layers.pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from dlf.scratch.layers.sequential import Sequential
