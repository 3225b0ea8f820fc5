"""Exercise ``gpt``: the whole GPT, its modules (weight tying included) and its forward step.

Reference: :class:`dlf.gpt.model.GPT`. The learner's class subclasses it and writes
``__init__`` (the modules, with dlf's names) and ``step`` (the data flow of ``forward`` and of
generation with a KV cache); ``forward``, ``step_fn`` and the rest stay dlf's and call the
learner's ``step``. The solution is dlf's two bodies, the constructor's first line changed from
``super().__init__()`` (which in the subclass would be dlf's GPT) to ``nn.Module.__init__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, LearnerError, Mistake
from dlf.learn.source import Reference, fill_bodies

if TYPE_CHECKING:  # torch is imported when grading, not when the exercises are listed
    import torch
    from torch import nn

    from dlf.gpt import model

STUB = '''"""Exercise gpt: the whole GPT-2 model, its modules and its forward step with a KV cache.

Check with `dlf learn check gpt` after each save. dlf's forward(idx, targets), step_fn (for
generation) and configure_optimizer stay as they are and call your step.
"""

import math

import torch
from torch import nn

from dlf.gpt import model
from dlf.gpt.model import init_gpt2_weights
from dlf.transformer.positional import positional_encoding


class GPT(model.GPT):
    """The GPT language model: token ids (B, T) -> next-token logits (B, T, vocab_size).

        h_0    = W_te[idx] + W_pe[past .. past + T - 1]    token embeddings + their positions
        h_l    = Block_l(h_{l-1}),  l = 1 .. n_layer         (self.block is the class: dlf's)
        logits = LN_f(h_L) W_te^T                            lm_head tied to the token embedding

    The positions come from Module 3's registry (config.positional: GPT-2's "learned" table W_pe
    by default; "rope" rotates each block's queries and keys instead of being added to h_0).
    """

    def __init__(self, config):
        """Build the modules, with GPT-2's names (checkpoints load weights by name):

            self.config       the GPTConfig (C = config.n_embd)
            self.transformer  nn.ModuleDict(dict(wte=..., wpe=..., drop=..., h=..., ln_f=...)):
                wte           nn.Embedding(vocab_size, C): the token embedding
                wpe           positional_encoding(config.positional, C, config.n_head,
                              config.block_size): the positional encoding the config names
                              (GPT-2's "learned": a (block_size, C) table, wpe.weight)
                drop          nn.Dropout(config.dropout)
                h             nn.ModuleList of n_layer blocks, each self.block(config, rotary)
                              with rotary = wpe if wpe.inside_attention (RoPE: every block's
                              attention rotates its queries and keys with it), else None
                ln_f          nn.LayerNorm(C, bias=config.bias)
            self.lm_head      nn.Linear(C, vocab_size, bias=False) whose weight IS
                              self.transformer.wte's weight (weight tying: one matrix,
                              counted and trained once)

        Start with nn.Module.__init__(self): super().__init__(config) would run dlf's GPT
        constructor, the piece you write. End with GPT-2's initialisation:
        self.apply(init_gpt2_weights) (every Linear and Embedding weight and the learned position
        table ~ N(0, 0.02^2), biases 0), then N(0, (0.02 / sqrt(2 n_layer))^2) for each block's
        attn.c_proj.weight and mlp.c_proj.weight, the layers that end a residual branch.
        Checked: the number of parameters of GPT-2 small, GPT(GPTConfig()) built on the meta
        device (124,439,808), the modules' names, lm_head.weight is transformer.wte.weight, the mean
        and standard deviation of each group of weights against dlf's GPT (within 15%); with
        config.positional "rope", that every block's attention holds wpe as its rotary.
        """
        raise NotImplementedError

    def step(self, idx, kv_cache=None):
        """Logits of the T tokens idx that follow the kv_cache's tokens, and the grown cache.

            past = the number of cached positions (the size of dim 2 of any cached k), else 0
            x = wte(idx)
            x = wpe(x, offset=past)                adds the positions past .. past + T - 1; skip
                                                   it if wpe.inside_attention (RoPE: the blocks'
                                                   attention applies it to q and k)
            x = Dropout(x)
            x, (k_l, v_l) = h[l](x, kv_cache[l])   for each block l (None without a cache)
            logits = lm_head(ln_f(x))              (wte, wpe, h, ln_f: self.transformer's)

        Raise ValueError if past + T > block_size (the model knows no positions beyond).
        Shapes: idx int64 (B, T); kv_cache None or a tuple of n_layer pairs (k, v), each
        (B, n_head, past, C / n_head) -> (logits (B, T, vocab_size), the tuple of the n_layer
        (k, v) the blocks returned, each (B, n_head, past + T, C / n_head)).
        Checked: logits and cache against dlf's GPT with the same weights (float64, relative
        error <= 1e-7) on several shapes, with a cache (T = 1 included), a whole block, with
        config.positional "rope", the gradient of the loss with respect to the tied embedding,
        ValueError past block_size.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "GPT.__init__": Reference("dlf.gpt.model", "GPT.__init__"),
        "GPT.step": Reference("dlf.gpt.model", "GPT.step"),
    },
)
assert SOLUTION.count("        super().__init__()\n") == 1
SOLUTION = SOLUTION.replace(
    "        super().__init__()\n", "        nn.Module.__init__(self)  # super() is dlf's GPT\n"
)

SMALL = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)
# (B, T, seed) without a cache; then (B, past, T, seed)
CASES = ((2, 5, 0), (1, 8, 1), (3, 1, 2))
CACHED = ((1, 5, 3, 3), (1, 7, 1, 4), (2, 2, 4, 5))


def _build(g: Grader, cls: type, config: model.GPTConfig) -> nn.Module:
    from dlf.gpt import model

    model_ = g.call(cls, config)
    if not isinstance(model_, model.GPT):
        raise LearnerError(f"GPT(config) gave a {type(model_).__name__}, expected a GPT")
    return model_


def check_count(g: Grader, cls: type) -> None:
    """The number of distinct parameters of GPT-2 small, built on the meta device (no memory)."""
    import torch

    from dlf.gpt import model

    config = model.GPTConfig()
    with torch.device("meta"):
        want = sum(p.numel() for p in model.GPT(config).parameters())
        theirs = _build(g, cls, config)
    got = sum(p.numel() for p in theirs.parameters())
    V, C, L, N = config.vocab_size, config.n_embd, config.n_layer, config.block_size
    per_block = sum(p.numel() for p in model.Block(config).to("meta").parameters())
    named = {
        V * C: "lm_head has its own weight: tie it, self.lm_head.weight = "
        "self.transformer.wte.weight (one matrix for the embedding and the output layer)",
        V * C + V: "lm_head has its own weight and a bias: nn.Linear(C, vocab_size, bias=False), "
        "then self.lm_head.weight = self.transformer.wte.weight",
        V: "lm_head has a bias: nn.Linear(C, vocab_size, bias=False)",
        -2 * C: "ln_f, the final layer norm, is missing",
        -C: "ln_f has no bias: nn.LayerNorm(C, bias=config.bias)",
        -N * C: "the position embedding wpe is missing",
        -V * C: "the token embedding wte is missing",
    }
    for k in range(1, L):
        named[-k * per_block] = f"{L - k} blocks instead of n_layer = {L}"
    g.check(
        f"parameters of GPT-2 small (GPTConfig()): {want:,}",
        got == want,
        f"got {got:,} (difference {got - want:+,})",
        named.get(got - want, ""),
    )


INIT = dict(block_size=64, vocab_size=256, n_layer=4, n_head=4, n_embd=64)
GROUPS = (  # (name, which parameters: a suffix of their names)
    ("wte.weight", ("wte.weight",)),
    ("wpe.weight", ("wpe.weight",)),
    ("attn.c_attn.weight", ("attn.c_attn.weight",)),
    ("mlp.c_fc.weight", ("mlp.c_fc.weight",)),
    ("attn.c_proj.weight and mlp.c_proj.weight", ("attn.c_proj.weight", "mlp.c_proj.weight")),
    ("the biases", ("bias",)),
)


def _stats(gpt: nn.Module, suffixes: tuple[str, ...]) -> tuple[float, float]:
    """Mean and standard deviation of the parameters whose names end with one of ``suffixes``."""
    import torch

    values = [
        p.detach().flatten()
        for name, p in gpt.named_parameters()
        if name.endswith(suffixes) and not name.startswith("ln") and ".ln_" not in name
    ]
    if not values:
        return float("nan"), float("nan")
    flat = torch.cat(values).double()
    return float(flat.mean()), float(flat.std()) if flat.numel() > 1 else 0.0


def check_init(g: Grader, cls: type) -> None:
    """Each group of weights has the mean and std of dlf's GPT-2 initialisation (15%)."""
    import torch

    from dlf.gpt import model

    config = model.GPTConfig(**INIT)
    torch.manual_seed(0)
    ref = model.GPT(config)
    torch.manual_seed(0)
    theirs = _build(g, cls, config)
    residual_std = 0.02 / (2 * config.n_layer) ** 0.5
    for group, suffixes in GROUPS:
        want_mean, want_std = _stats(ref, suffixes)
        mean, std = _stats(theirs, suffixes)
        if want_std == 0:  # the biases: exactly 0
            ok = mean == 0 and std == 0
        else:
            ok = abs(mean) <= 0.15 * want_std and abs(std / want_std - 1) <= 0.15
        diagnosis = ""
        residual = "c_proj" in group
        if want_std and abs(mean) > 0.15 * max(want_std, std):
            diagnosis = "the weights must be centred: mean=0.0"
        elif residual and abs(std / 0.02 - 1) <= 0.05:
            diagnosis = (
                "the residual projections are not scaled: after self.apply(init_gpt2_weights), "
                "re-draw attn.c_proj.weight and mlp.c_proj.weight with std 0.02 / sqrt(2 n_layer) "
                f"= {residual_std:.4g}"
            )
        elif residual:
            diagnosis = (
                f"the residual projections get std 0.02 / sqrt(2 n_layer) = {residual_std:.4g}"
            )
        elif want_std and std > 2 * want_std:
            diagnosis = (
                "the modules keep their own initialisation: call self.apply(init_gpt2_weights) "
                "once every module exists (weights ~ N(0, 0.02^2), biases 0)"
            )
        g.check(
            f"initialisation: {group} ~ N(0, {want_std:.4g}^2)",
            ok,
            f"mean {mean:.3g}, std {std:.3g}",
            diagnosis,
        )


def check_modules(g: Grader, ref: nn.Module, theirs: nn.Module) -> bool:
    """The same parameter names as dlf's GPT, and lm_head tied to transformer.wte."""
    want, got = set(ref.state_dict()), set(theirs.state_dict())
    missing, unexpected = sorted(want - got), sorted(got - want)
    ok = g.check(
        "the modules have dlf's names (transformer.wte, wpe, drop, h, ln_f, lm_head)",
        not missing and not unexpected,
        f"missing {missing[:4]}, unexpected {unexpected[:4]}",
        "name the attributes as the docstring does: weights are loaded by name",
    )
    wpe = getattr(getattr(theirs, "transformer", None), "wpe", None)
    want = type(ref.transformer.wpe)
    ok = (
        g.check(
            f"transformer.wpe is the {ref.config.positional!r} encoding ({want.__name__})",
            type(wpe) is want,
            f"got {type(wpe).__name__}",
            "build it from the registry: positional_encoding(config.positional, C, config.n_head, "
            "config.block_size); its forward(x, offset) adds the positions to x",
        )
        and ok
    )
    lm_head = getattr(theirs, "lm_head", None)
    wte = getattr(getattr(theirs, "transformer", None), "wte", None)
    g.check(
        "lm_head.weight is transformer.wte.weight (weight tying)",
        lm_head is not None and wte is not None and lm_head.weight is wte.weight,
        "two different tensors",
        "tie them after creating both: self.lm_head.weight = self.transformer.wte.weight",
    )
    return ok


def variant(
    gpt: nn.Module,
    idx: torch.Tensor,
    cache: tuple | None = None,
    *,
    offset: bool = True,
    positions: bool = True,
    ln_f: bool = True,
    chain: bool = True,
    caches: str = "each",
    softmax: bool = False,
) -> torch.Tensor:
    """The logits of a step with one known mistake, built from ``gpt``'s own modules.

    ``offset``: False numbers the new tokens from 0 despite the cache; ``positions``: False
    adds no positions to the embeddings (an encoding inside attention is never added);
    ``ln_f``: False leaves out the final norm; ``chain``: False feeds every block the
    embeddings; ``caches``: "each" (layer l gets kv_cache[l]), "none" or "first" (every layer
    gets kv_cache[0]); ``softmax``: returns probabilities.
    """

    t = gpt.transformer
    past = 0 if cache is None else cache[0][0].size(2)
    x = t.wte(idx)
    if positions and not t.wpe.inside_attention:
        x = t.wpe(x, offset=past if offset else 0)
    x = t.drop(x)
    h = x
    for i, block in enumerate(t.h):
        layer_cache = (
            None if cache is None or caches == "none" else cache[0 if caches == "first" else i]
        )
        h, _ = block(h if chain else x, layer_cache)
    logits = gpt.lm_head(t.ln_f(h) if ln_f else h)
    return logits.softmax(-1) if softmax else logits


POSITIONS = {"offset", "positions"}  # the mistakes about positions added to the embeddings


def mistakes(gpt: nn.Module, idx: torch.Tensor, cache: tuple | None) -> list[Mistake]:
    """Known wrong logits of ``gpt`` on ``idx`` (after ``cache``), each named (those about the
    added positions only when ``gpt``'s encoding is added to the embeddings)."""
    added = not gpt.transformer.wpe.inside_attention
    named = [
        (
            "the positions start at 0 despite the cache: the new tokens are at positions "
            "past .. past + T - 1, x = wpe(x, offset=past)",
            {"offset": False},
            True,
        ),
        (
            "no positions: x = wpe(x, offset=past) after x = wte(idx)",
            {"positions": False},
            False,
        ),
        ("ln_f is missing: logits = self.lm_head(ln_f(x))", {"ln_f": False}, False),
        (
            "every block reads the embeddings: each block must read the previous block's "
            "output, x, kv = block(x, ...)",
            {"chain": False},
            False,
        ),
        (
            "the cache is not passed to the blocks: block l gets kv_cache[l]",
            {"caches": "none"},
            True,
        ),
        ("every block gets layer 0's cache: block l gets kv_cache[l]", {"caches": "first"}, True),
        (
            "the kv_cache is not used: the new tokens sit at positions past .. past + T - 1 "
            "(x = wpe(x, offset=past)), and block l gets kv_cache[l]",
            {"offset": False, "caches": "none"},
            True,
        ),
        (
            "probabilities instead of logits: no softmax in step (the loss and the samplers "
            "take logits)",
            {"softmax": True},
            False,
        ),
    ]
    return [
        Mistake(message, variant(gpt, idx, cache, **change))
        for message, change, needs_cache in named
        if (cache is not None or not needs_cache) and (added or not POSITIONS & set(change))
    ]


def check_step(
    g: Grader, ref: nn.Module, theirs: nn.Module, idx: torch.Tensor, cache: tuple | None
) -> None:
    """Logits and the returned cache of the learner's step against dlf's."""
    import torch

    with torch.no_grad():
        want_logits, want_cache = ref.step(idx, cache)
        logits, got_cache = g.returns(g.call(theirs.step, idx, cache), 2, "(logits, kv_cache)")
        named = mistakes(ref, idx, cache)
    g.close("logits", logits, want_logits, mistakes=named)
    L = len(want_cache)
    if not g.check(
        f"the returned cache holds n_layer = {L} pairs (k, v)",
        isinstance(got_cache, tuple | list)
        and len(got_cache) == L
        and all(isinstance(p, tuple | list) and len(p) == 2 for p in got_cache),
        f"got {type(got_cache).__name__}"
        + (f" of {len(got_cache)}" if isinstance(got_cache, tuple | list) else ""),
        "collect the (k, v) each block returns: one pair per layer, in order",
    ):
        return
    for layer, ((k, v), (want_k, want_v)) in enumerate(zip(got_cache, want_cache, strict=True)):
        for name, got, want in (("k", k, want_k), ("v", v, want_v)):
            g.close(f"cache: layer {layer}'s {name}", got, want)


def check_gradient(g: Grader, ref: nn.Module, theirs: nn.Module, idx: torch.Tensor) -> None:
    """The gradient of the cross-entropy loss with respect to the tied embedding matrix."""
    import torch
    import torch.nn.functional as F

    targets = torch.roll(idx, -1, dims=1)
    grads = []
    for module in (ref, theirs):
        module.zero_grad(set_to_none=True)
        logits = g.call(module.step, idx)[0]
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        loss.backward()
        grads.append(module.transformer.wte.weight.grad)
    if not g.check(
        "the gradient reaches the token embedding",
        grads[1] is not None,
        "transformer.wte.weight.grad is None after backward",
        "the logits were computed outside autograd (.detach(), torch.no_grad, .data)",
    ):
        return
    g.close("dL/dW_te (the tied matrix: embedding and output layer)", grads[1], grads[0])


def check_too_long(g: Grader, theirs: nn.Module, block_size: int) -> None:
    """past + T > block_size is refused with a ValueError."""
    import torch

    idx = torch.zeros(1, block_size + 1, dtype=torch.long)
    try:
        with torch.no_grad():
            theirs.step(idx)
    except ValueError:
        g.check("a sequence longer than block_size raises ValueError", True)
        return
    except Exception as err:
        g.check(
            "a sequence longer than block_size raises ValueError",
            False,
            f"raised {type(err).__name__}: {err}".splitlines()[0],
            "check past + T <= block_size first and raise ValueError saying so",
        )
        return
    g.check(
        "a sequence longer than block_size raises ValueError",
        False,
        "no error",
        "check past + T <= block_size first and raise ValueError saying so",
    )


def _pair(cls: type, g: Grader, positional: str = "learned") -> tuple[nn.Module, nn.Module] | None:
    import torch

    from dlf.gpt import model

    config = model.GPTConfig(**SMALL, positional=positional)
    torch.manual_seed(0)
    ref = model.GPT(config).double().eval()
    with torch.no_grad():
        for p in ref.parameters():  # the tied matrix once; gains and shifts random too
            p.add_(torch.randn_like(p) * 0.3)
    theirs = _build(g, cls, config).double().eval()
    if not check_modules(g, ref, theirs):
        return None
    if ref.transformer.wpe.inside_attention:
        wpe = theirs.transformer.wpe
        if not g.check(
            "every block's attention applies transformer.wpe to q and k (RoPE)",
            all(block.attn.rotary is wpe for block in theirs.transformer.h),
            "a block's attn.rotary is not transformer.wpe",
            "pass it to the blocks: rotary = wpe if wpe.inside_attention else None, "
            "self.block(config, rotary)",
        ):
            return None
    theirs.load_state_dict(ref.state_dict())
    return ref, theirs


def grade(g: Grader) -> None:
    import torch

    from dlf.gpt import model

    cls = g.subclass("GPT", model.GPT, "forward and step_fn are dlf's")
    with g.case("GPTConfig() on the meta device"):
        check_count(g, cls)
    on = ", ".join(f"{k} {v}" for k, v in INIT.items())
    with g.case(f"GPTConfig({on}), seed 0"):
        check_init(g, cls)
    on = ", ".join(f"{k} {v}" for k, v in SMALL.items())
    with g.case(f"GPTConfig({on})"):
        pair = _pair(cls, g)
    if pair is None:
        return
    ref, theirs = pair
    V, size = SMALL["vocab_size"], SMALL["block_size"]
    for B, T, seed in CASES:
        idx = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))
        with g.case(f"idx ({B}, {T}), seed {seed}"):
            check_step(g, ref, theirs, idx, None)
    for B, past, T, seed in CACHED:
        idx = torch.randint(0, V, (B, past + T), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            cache = ref.step(idx[:, :past])[1]
        with g.case(f"{T} new token(s) idx ({B}, {T}) after {past} cached"):
            check_step(g, ref, theirs, idx[:, past:], cache)
    with g.case("GPTConfig(..., positional 'rope'): RoPE inside attention"):
        pair = _pair(cls, g, "rope")
    if pair is not None:
        rope, theirs_rope = pair
        idx = torch.randint(0, V, (2, 6), generator=torch.Generator().manual_seed(7))
        with torch.no_grad():
            cache = rope.step(idx[:, :4])[1]
        with g.case("positional 'rope': idx (2, 6) whole, then 2 new tokens after 4 cached"):
            check_step(g, rope, theirs_rope, idx, None)
            check_step(g, rope, theirs_rope, idx[:, 4:], cache)
    idx = torch.randint(0, V, (2, 6), generator=torch.Generator().manual_seed(6))
    with g.case("idx (2, 6), loss = cross-entropy of the next tokens"):
        check_gradient(g, ref, theirs, idx)
    with g.case(f"idx (1, {size + 1}), block_size {size}"):
        check_too_long(g, theirs, size)


EXERCISE = Exercise(
    name="gpt",
    module=4,
    number=6,
    title="The whole GPT: embeddings, blocks, tied output layer, KV-cache step",
    concept="Causal self-attention and the GPT",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "__init__ creates modules and stores them as attributes; step only uses them. Write "
        "__init__ first and print(sum(p.numel() for p in GPT(GPTConfig()).parameters())).",
        "Weight tying is one line after both exist: self.lm_head.weight = "
        "self.transformer.wte.weight. model.parameters() then yields the matrix once, and the "
        "count is 124,439,808.",
        "In step, past = 0 if kv_cache is None else kv_cache[0][0].size(2): the new tokens sit "
        "at positions past .. past + T - 1, and t.wpe(x, offset=past) adds exactly those.",
        "RoPE (wpe.inside_attention) is not added to the embeddings: the blocks' attention "
        "rotates q and k with it, so __init__ hands it to every block, self.block(config, "
        "rotary), and step skips the addition.",
        "With t = self.transformer: x = t.wte(idx); if not t.wpe.inside_attention: x = "
        "t.wpe(x, offset=past); x = t.drop(x); for i, block in enumerate(t.h): x, kv = "
        "block(x, None if kv_cache is None else kv_cache[i]); keep each kv; return "
        "self.lm_head(t.ln_f(x)), tuple(the kvs).",
    ),
)
