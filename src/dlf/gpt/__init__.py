"""Module 4: language models: tokenizers, the GPT, and its training (one process or DDP).

Read in this order: tokenizer -> model (-> pretrained: GPT-2's own weights) -> data -> train
(-> snapshot: the saved training state, distributed); then, for your own text: text -> trained
(load a run, loss and perplexity) -> stream -> generation.
The training loop is ``dlf.gpt.train.train``. The torch-based names are imported on first use
(PEP 562), so ``dlf.gpt.tokenizer`` stays free of torch.
"""

from importlib import import_module

from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer

_LAZY = {
    "GPT": "dlf.gpt.model",
    "GPTConfig": "dlf.gpt.model",
    "TokenDataset": "dlf.gpt.data",
    "EpochSampler": "dlf.gpt.data",
    "split_tokens": "dlf.gpt.data",
    "TrainConfig": "dlf.gpt.train",
    "TrainResult": "dlf.gpt.train",
    "NonFiniteLossError": "dlf.gpt.train",
    "load_gpt": "dlf.gpt.snapshot",
    "TrainedGPT": "dlf.gpt.trained",
    "TextEval": "dlf.gpt.trained",
    "CheckpointNotFound": "dlf.gpt.trained",
    "load_trained": "dlf.gpt.trained",
    "evaluate_text": "dlf.gpt.trained",
    "evaluate_tokens": "dlf.gpt.trained",
    "TextStream": "dlf.gpt.stream",
    "SampleSettings": "dlf.gpt.generation",
    "complete": "dlf.gpt.generation",
    "read_text": "dlf.gpt.text",
    "TextDataError": "dlf.gpt.text",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dlf.gpt' has no attribute {name!r}")


__all__ = ["BPETokenizer", "CharTokenizer", *_LAZY]
