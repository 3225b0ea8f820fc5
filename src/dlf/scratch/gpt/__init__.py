"""A GPT in NumPy with every backward written by hand: the twin of ``dlf.gpt.GPT``.

``GPT`` (model.py) stacks ``Block``s (block.py: pre-norm ``CausalSelfAttention`` from
attention.py and a GELU ``MLP``) between tied token embeddings and the output layer, all built
from Module 1's layers. Train it with ``dlf.scratch.optim.AdamW(decay=is_decayed)`` and
``clip_grad_norm``; its gradients equal PyTorch autograd's (tests/scratch/test_gpt.py).
"""

# ruff: noqa: F401  (re-exports)

from dlf.scratch.gpt.attention import CausalSelfAttention
from dlf.scratch.gpt.block import MLP, Block
from dlf.scratch.gpt.model import GPT, init_gpt2
