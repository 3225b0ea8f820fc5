"""The learning path as data: its four modules, their concepts, recipes and checkpoints.

A concept names the files that implement it (relative to ``src/dlf``) and the recipe that
exercises it. A module is built when its recipes and checkpoints exist; one that is not is shown as
"not built yet", never as passing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from dlf.path.checkpoint import Checkpoint


@dataclass(frozen=True)
class Concept:
    name: str
    files: tuple[str, ...] = ()
    recipe: str | None = None


@dataclass(frozen=True)
class PathModule:
    number: int
    title: str
    concepts: tuple[Concept, ...]
    recipes: tuple[str, ...]
    checkpoints: str  # module holding CHECKPOINTS, a list of Checkpoint

    def load_checkpoints(self) -> list[Checkpoint] | None:
        """The module's checkpoints, or None when the module is not built yet."""
        try:
            return list(importlib.import_module(self.checkpoints).CHECKPOINTS)
        except ModuleNotFoundError as err:
            if err.name and self.checkpoints.startswith(err.name):
                return None
            raise

    @property
    def built(self) -> bool:
        from dlf.recipes import CATALOG

        return all(r in CATALOG for r in self.recipes) and self.load_checkpoints() is not None


def _c(name: str, recipe: str | None, *files: str) -> Concept:
    return Concept(name, files, recipe)


MODULES: tuple[PathModule, ...] = (
    PathModule(
        1,
        "Neural network foundations (NumPy only)",
        (
            _c("Linear classifiers: SVM and softmax", "linear-classifiers",
               "scratch/classifiers/linear.py", "scratch/losses.py"),
            _c("k-nearest neighbours", "linear-classifiers", "scratch/classifiers/knn.py"),
            _c("The perceptron", "linear-classifiers", "scratch/classifiers/perceptron.py"),
            _c("Layers with forward and backward (backpropagation)", "mnist-mlp",
               "scratch/layers/linear.py", "scratch/layers/activations.py",
               "scratch/layers/sequential.py"),
            _c("Multi-layer perceptron and its training loop", "mnist-mlp",
               "scratch/mlp.py", "scratch/trainer.py"),
            _c("Gradient checking", "init-and-lr", "scratch/gradcheck.py"),
            _c("SGD, momentum, Nesterov, RMSProp, Adam, AdamW", "optimizers", "scratch/optim.py"),
            _c("Learning-rate schedules", "mnist-mlp", "scratch/schedules.py"),
            _c("L2 weight decay", "regularization", "scratch/losses.py"),
            _c("Dropout", "regularization", "scratch/layers/dropout.py"),
            _c("Early stopping", "regularization", "scratch/trainer.py"),
            _c("Batch and layer normalisation", "mnist-mlp",
               "scratch/layers/batchnorm.py", "scratch/layers/layernorm.py"),
            _c("Weight initialisation", "init-and-lr", "scratch/init.py"),
            _c("The bias-variance trade-off", "bias-variance", "scratch/recipes/bias_variance.py"),
            _c("Project: MNIST classification from scratch", "mnist-mlp",
               "scratch/recipes/mnist_mlp.py"),
        ),
        ("mnist-mlp", "linear-classifiers", "optimizers", "regularization", "bias-variance",
         "init-and-lr"),
        "dlf.scratch.checkpoints",
    ),
    PathModule(
        2,
        "Convolutional networks",
        (
            _c("Convolution from scratch (im2col)", "scratch-cnn",
               "scratch/layers/conv.py", "scratch/im2col.py"),
            _c("Pooling from scratch", "scratch-cnn", "scratch/layers/pooling.py"),
            _c("A CNN trained from scratch on MNIST", "scratch-cnn",
               "scratch/recipes/scratch_cnn.py"),
            _c("Batch normalisation", "batchnorm", "scratch/layers/batchnorm2d.py"),
            _c("Receptive fields", None, "cnn/receptive_field.py"),
            _c("LeNet-5 and AlexNet", "architectures",
               "cnn/models/lenet.py", "cnn/models/alexnet.py"),
            _c("VGG", "architectures", "cnn/models/vgg.py"),
            _c("ResNet and skip connections", "resnet-depth",
               "cnn/models/resnet.py", "cnn/models/resnet_cifar.py"),
            _c("Layer tables and data-flow diagrams: shapes, parameters, multiply-adds", None,
               "runs/layer_table.py", "runs/diagram.py"),
            _c("Training image classifiers: augmentation, schedules, confusion", "cnn-fashion",
               "cnn/train.py", "cnn/augment.py", "cnn/pictures.py"),
            _c("Transfer learning", "transfer", "cnn/recipes/transfer.py"),
        ),
        ("scratch-cnn", "cnn-mnist", "cnn-fashion", "resnet-depth", "batchnorm", "transfer",
         "architectures"),
        "dlf.cnn.checkpoints",
    ),
    PathModule(
        3,
        "Attention and transformers",
        (
            _c("Why RNNs struggle: RNN and LSTM cells, seq2seq with attention",
               "rnn-vs-transformer", "transformer/rnn.py", "transformer/seq2seq.py"),
            _c("Scaled dot-product attention", "transformer-copy",
               "transformer/attention.py", "scratch/attention.py"),
            _c("Multi-head attention", "transformer-copy", "transformer/multi_head.py"),
            _c("Positional encodings: sinusoidal, learned, rotary", "positional-encodings",
               "transformer/positional.py"),
            _c("The encoder-decoder transformer", "transformer-tasks",
               "transformer/blocks.py", "transformer/encoder.py", "transformer/decoder.py",
               "transformer/model.py"),
            _c("Label smoothing, warm-up schedule, padding-aware batches", "transformer-tasks",
               "transformer/training.py"),
            _c("Greedy and beam-search decoding", "transformer-tasks", "sampling/beam.py"),
        ),
        ("transformer-copy", "transformer-tasks", "rnn-vs-transformer", "positional-encodings"),
        "dlf.transformer.checkpoints",
    ),
    PathModule(
        4,
        "Language models",
        (
            _c("Byte-level BPE tokenization", "bpe", "gpt/tokenizer/bpe.py",
               "gpt/tokenizer/train.py", "gpt/tokenizer/merge.py"),
            _c("Causal self-attention and the GPT", "gpt-shakespeare-char", "gpt/model.py"),
            _c("Training: AdamW, warm-up and cosine, saved state, resume", "gpt-shakespeare-char",
               "gpt/train.py", "gpt/snapshot.py"),
            _c("Gradient accumulation: the batch's gradient in less memory", "grad-accum",
               "gpt/train.py", "gpt/recipes/grad_accum.py"),
            _c("Data parallel training (torchrun)", "gpt-shakespeare-char",
               "gpt/train.py", "gpt/distributed.py"),
            _c("A GPT with the BPE tokenizer, compared per character", "gpt-shakespeare-bpe",
               "gpt/recipes/text_lm.py"),
            _c("Greedy, temperature, top-k, top-p sampling", "sampling",
               "sampling/filters.py", "sampling/strategies.py", "sampling/generate.py"),
            _c("Beam search", "sampling", "sampling/beam.py"),
            _c("Encoder-only, decoder-only, encoder-decoder", "masked-lm", "gpt/masked_lm.py",
               "gpt/recipes/masked_lm.py"),
            _c("Your own text: fine-tuning, stop sequences, perplexity", "gpt-text",
               "gpt/text.py", "gpt/stream.py", "gpt/trained.py"),
            _c("A GPT in NumPy, every backward by hand, equal to autograd", "numpy-gpt",
               "scratch/gpt/model.py", "scratch/gpt/block.py", "scratch/gpt/attention.py",
               "gpt/numpy_train.py"),
        ),
        ("bpe", "gpt-shakespeare-char", "gpt-shakespeare-bpe", "grad-accum", "sampling",
         "masked-lm", "gpt-text", "numpy-gpt"),
        "dlf.gpt.checkpoints",
    ),
)  # fmt: skip


def module(number: int) -> PathModule:
    """The path module with that number (1..4)."""
    for m in MODULES:
        if m.number == number:
            return m
    raise ValueError(f"no path module {number}; the path has modules 1 to {len(MODULES)}")


def markdown_table() -> str:
    """The path as the README's Markdown table: module, concept, files (linked), recipe.

    The README holds this table verbatim and a test keeps the two equal, so the table cannot
    name a file that does not exist or drift from the code.
    """
    lines = ["| module | concept | implemented in | recipe |", "| --- | --- | --- | --- |"]
    for m in MODULES:
        for c in m.concepts:
            files = ", ".join(f"[`{f}`](src/dlf/{f})" for f in c.files) or "not built yet"
            recipe = f"`{c.recipe}`" if c.recipe else "—"
            lines.append(f"| {m.number}. {m.title} | {c.name} | {files} | {recipe} |")
    return "\n".join(lines)
