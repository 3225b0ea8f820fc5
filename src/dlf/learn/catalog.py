"""The exercises by name, in path order, imported only when asked for.

Each entry names the module whose ``EXERCISE`` attribute is the Exercise. Adding an exercise is
its own file and one line here.
"""

from __future__ import annotations

import importlib

from dlf.learn.exercise import Exercise

EXERCISES: dict[str, str] = {
    "svm-loss": "dlf.learn.module1.svm_loss",
    "softmax-loss": "dlf.learn.module1.softmax_loss",
    "knn-distances": "dlf.learn.module1.knn_distances",
    "perceptron": "dlf.learn.module1.perceptron",
    "linear-layer": "dlf.learn.module1.linear_layer",
    "activations": "dlf.learn.module1.activations",
    "two-layer-net": "dlf.learn.module1.two_layer_net",
    "gradient-check": "dlf.learn.module1.gradient_check",
    "sgd-momentum": "dlf.learn.module1.sgd_momentum",
    "adam": "dlf.learn.module1.adam",
    "l2-penalty": "dlf.learn.module1.l2_penalty",
    "dropout": "dlf.learn.module1.dropout",
    "batchnorm": "dlf.learn.module1.batchnorm",
    "initialization": "dlf.learn.module1.initialization",
    "conv-naive": "dlf.learn.module2.conv_naive",
    "max-pool": "dlf.learn.module2.max_pool",
    "receptive-field": "dlf.learn.module2.receptive_field",
    "cnn-pytorch": "dlf.learn.module2.cnn_pytorch",
    "rnn-step": "dlf.learn.module3.rnn_step",
    "attention": "dlf.learn.module3.attention",
    "multi-head-attention": "dlf.learn.module3.multi_head_attention",
    "positional-encoding": "dlf.learn.module3.positional_encoding",
    "encoder-block": "dlf.learn.module3.encoder_block",
    "decoder-block": "dlf.learn.module3.decoder_block",
    "bpe-merges": "dlf.learn.module4.bpe_merges",
    "bpe-tokenizer": "dlf.learn.module4.bpe_tokenizer",
    "causal-mask": "dlf.learn.module4.causal_mask",
    "causal-self-attention": "dlf.learn.module4.causal_self_attention",
    "gpt-block": "dlf.learn.module4.gpt_block",
    "gpt": "dlf.learn.module4.gpt",
    "sampling-filters": "dlf.learn.module4.sampling_filters",
    "beam-search": "dlf.learn.module4.beam_search",
    "gradient-accumulation": "dlf.learn.module4.gradient_accumulation",
}


class UnknownExercise(KeyError):
    """No exercise by that name; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_exercise(name: str) -> Exercise:
    """The Exercise called ``name``; raises UnknownExercise listing the valid names."""
    if name not in EXERCISES:
        raise UnknownExercise(
            f"no exercise named {name!r}; valid exercises: {', '.join(EXERCISES)}"
        )
    return importlib.import_module(EXERCISES[name]).EXERCISE


def exercises(modules: tuple[int, ...] | None = None) -> list[Exercise]:
    """Every exercise in path order, or those of the given path modules."""
    found = [get_exercise(name) for name in EXERCISES]
    return [e for e in found if modules is None or e.module in modules]
