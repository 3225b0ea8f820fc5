"""Classic classifiers before neural networks: k-NN, linear SVM, softmax, perceptron."""

from dlf.scratch.classifiers.knn import (
    CrossValidation,
    KNearestNeighbors,
    cross_validate_k,
    majority_vote,
    pairwise_sq_distances,
)
from dlf.scratch.classifiers.linear import LinearClassifier, LinearSVM, SoftmaxClassifier
from dlf.scratch.classifiers.perceptron import Perceptron, perceptron_step

__all__ = [
    "CrossValidation",
    "KNearestNeighbors",
    "LinearClassifier",
    "LinearSVM",
    "Perceptron",
    "SoftmaxClassifier",
    "cross_validate_k",
    "majority_vote",
    "pairwise_sq_distances",
    "perceptron_step",
]
