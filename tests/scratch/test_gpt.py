"""The NumPy GPT (dlf.scratch.gpt) against dlf.gpt.GPT and autograd, in float64.

Float64 round-off over these small sums is about 1e-15 relative; the issue's bound, 1e-8, sits
far above it and far below any real mistake (a dropped term moves a gradient by 1e-3 or more,
see test_a_planted_mistake_breaks_the_parity).
"""

import inspect
import textwrap

import numpy as np
import pytest
import torch

from dlf.gpt.model import GPT as TorchGPT
from dlf.gpt.model import GPTConfig
from dlf.gpt.numpy_twin import gradient_parity, numpy_twin, torch_twin, with_random_vectors
from dlf.gpt.train import TrainConfig, lr_schedule, set_lr
from dlf.scratch import attention as scratch_attention
from dlf.scratch.gpt import GPT
from dlf.scratch.gradcheck import TOLERANCE, numerical_gradient, relative_error
from dlf.scratch.layers import GELU, LayerNorm
from dlf.scratch.losses import is_decayed
from dlf.scratch.optim import AdamW, clip_grad_norm

PARITY = 1e-8
SHAPES = {  # GPTConfig fields, and the batch (B, T)
    "2 layers, 4 heads": (
        dict(n_layer=2, n_head=4, n_embd=32, block_size=16, vocab_size=23),
        (3, 16),
    ),
    "T < block_size": (dict(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=11), (2, 5)),
    "1 head, no bias": (
        dict(n_layer=2, n_head=1, n_embd=24, block_size=12, vocab_size=7, bias=False),
        (4, 12),
    ),
}


def torch_gpt(shape: dict, seed: int = 0) -> TorchGPT:
    torch.manual_seed(seed)
    return with_random_vectors(TorchGPT(GPTConfig(**shape)).double(), seed)


def batch(vocab_size: int, B: int, T: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randint(0, vocab_size, (B, T), generator=g) for _ in range(2))


@pytest.mark.parametrize("name", SHAPES)
def test_logits_loss_and_every_gradient_equal_autograd(name):
    shape, (B, T) = SHAPES[name]
    model = torch_gpt(shape)
    errors = gradient_parity(model, *batch(shape["vocab_size"], B, T))
    names = {n for n, _ in model.named_parameters()}
    assert set(errors) == {"logits", "loss"} | names
    assert max(errors.values()) <= PARITY, errors


def test_the_names_and_shapes_are_torchs():
    shape, (B, T) = SHAPES["2 layers, 4 heads"]
    model = torch_gpt(shape)
    twin = numpy_twin(model)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in twin.state_dict().items()} == expected
    twin.loss(*(t.numpy() for t in batch(shape["vocab_size"], B, T)))
    assert {k: v.shape for k, v in twin.backward().items()} == expected
    assert all(
        np.array_equal(twin.state_dict()[k], v.numpy()) for k, v in model.state_dict().items()
    )
    back = torch_twin(twin)
    assert all(torch.equal(back.state_dict()[k], v) for k, v in model.state_dict().items())
    assert twin.num_parameters() == model.num_params(non_embedding=False)


@pytest.mark.parametrize("name", ["2 layers, 4 heads", "1 head, no bias"])
def test_ten_adamw_steps_with_clipping_end_at_the_same_weights(name):
    shape, (B, T) = SHAPES[name]
    model = torch_gpt(shape, seed=2)
    twin = numpy_twin(model)
    # nanoGPT's optimizer: AdamW, decay on the matrices only, warm-up and cosine, clipping
    settings = TrainConfig(max_steps=10, warmup_steps=3, learning_rate=1e-2, min_lr=1e-3,
                           weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=0.8)  # fmt: skip
    schedule = lr_schedule(settings)
    betas = (settings.beta1, settings.beta2)
    torch_opt = model.configure_optimizer(settings.weight_decay, settings.learning_rate, betas)
    opt = AdamW(settings.learning_rate, betas, weight_decay=settings.weight_decay, decay=is_decayed)
    params, grads = twin.params, twin.grads
    clipped = []
    for step in range(10):
        x, y = batch(shape["vocab_size"], B, T, seed=10 + step)
        set_lr(torch_opt, schedule(step))
        opt.lr = schedule(step)
        _, loss = model(x, y)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip))
        torch_opt.step()
        torch_opt.zero_grad(set_to_none=True)
        ours = twin.loss(x.numpy(), y.numpy())
        twin.backward()
        assert clip_grad_norm(grads, settings.grad_clip) == pytest.approx(norm, rel=PARITY)
        opt.step(params, grads)
        assert ours == pytest.approx(loss.item(), rel=PARITY)
        clipped.append(norm > settings.grad_clip)
    assert any(clipped) and not all(clipped), clipped  # both branches of the clipping ran
    state = twin.state_dict()
    errors = {
        k: relative_error(state[k], v.detach().numpy()) for k, v in model.state_dict().items()
    }
    assert max(errors.values()) <= PARITY, errors


@pytest.mark.parametrize("t", [0, 3, 7])
def test_a_change_at_position_t_changes_no_output_before_t(t):
    model = GPT(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16,
                dtype=np.float64, rng=np.random.default_rng(0))  # fmt: skip
    idx = np.random.default_rng(1).integers(0, 13, (3, 8))
    changed = idx.copy()
    changed[:, t] = (idx[:, t] + 1) % 13
    before, after = model.forward(idx), model.forward(changed)
    np.testing.assert_array_equal(after[:, :t], before[:, :t])
    assert np.all(np.abs(after[:, t] - before[:, t]).max(axis=-1) > 0)


def test_the_tied_matrix_gets_the_sum_of_both_gradient_paths():
    shape, (B, T) = SHAPES["2 layers, 4 heads"]
    model = torch_gpt(shape)
    twin = numpy_twin(model)
    assert np.shares_memory(twin.lm_head.params["W"], twin.wte.params["W"])
    state = twin.state_dict()
    assert state["lm_head.weight"] is state["transformer.wte.weight"]
    # autograd on an untied copy: the embedding and the output layer as two matrices
    wte = model.transformer.wte
    model.lm_head.weight = torch.nn.Parameter(wte.weight.detach().clone())
    x, y = batch(shape["vocab_size"], B, T)
    model(x, y)[1].backward()
    embedding_path, output_path = wte.weight.grad.numpy(), model.lm_head.weight.grad.numpy()
    twin.loss(x.numpy(), y.numpy())
    grads = twin.backward()
    assert relative_error(grads["transformer.wte.weight"], embedding_path + output_path) <= PARITY
    assert relative_error(grads["transformer.wte.weight"], output_path) > 1e-3  # both paths count
    assert grads["lm_head.weight"] is grads["transformer.wte.weight"]
    AdamW(1e-2).step(twin.params, twin.grads)
    assert np.array_equal(twin.lm_head.params["W"], twin.wte.params["W"].T)


def test_every_gradient_passes_a_numerical_gradient_check():
    model = GPT(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8,
                dtype=np.float64, rng=np.random.default_rng(3))  # fmt: skip
    rng = np.random.default_rng(4)
    for name, p in model.params.items():  # away from GPT-2's 1 and 0, and larger weights
        p[...] = (
            rng.uniform(0.5, 1.5, p.shape)
            if name.endswith("gamma")
            else 0.3 * rng.standard_normal(p.shape)
        )
    idx, targets = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    model.loss(idx, targets)
    model.backward()
    analytic = {k: g.copy() for k, g in model.grads.items()}
    errors = {
        k: relative_error(analytic[k], numerical_gradient(lambda _: model.loss(idx, targets), p))
        for k, p in model.params.items()
    }
    assert max(errors.values()) <= TOLERANCE, errors


def test_float32_follows_float64():
    shape, (B, T) = SHAPES["2 layers, 4 heads"]
    model = torch_gpt(shape)
    x, y = (t.numpy() for t in batch(shape["vocab_size"], B, T))
    exact, single = numpy_twin(model), numpy_twin(model, dtype=np.float32)
    assert single.dtype == np.float32
    loss64, loss32 = exact.loss(x, y), single.loss(x, y)
    grads64, grads32 = exact.backward(), single.backward()
    assert all(g.dtype == np.float32 for g in grads32.values())
    # float32 rounds each of a few hundred sums (eps 1.2e-7); 1e-4 is ~1000 eps
    assert loss32 == pytest.approx(loss64, rel=1e-4)
    assert max(relative_error(grads32[k], grads64[k]) for k in grads64) <= 1e-4


def planted(function, old: str, new: str):
    """A copy of ``function`` (a function or method) with the source text ``old`` replaced by
    ``new`` once: a planted mistake."""
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count(old) == 1, f"{old!r} not found once in {function.__qualname__}"
    scope = dict(function.__globals__)
    exec(compile(source.replace(old, new), inspect.getsourcefile(function), "exec"), scope)
    return scope[function.__name__]


PLANTED = {  # (owner, attribute, source text -> replacement), a gradient that must break
    "LayerNorm drops -xhat mean(g xhat)": (
        (LayerNorm, "backward", "g - mean_g - xhat * mean_gx", "g - mean_g"),
        "transformer.h.0.ln_1.weight",
    ),
    "GELU drops x phi(x)": (
        (GELU, "backward", "dout * (s + x * pdf)", "dout * s"), "transformer.h.0.mlp.c_fc.weight"
    ),
    "softmax drops the row sum": (
        (scratch_attention, "softmax_backward", "dp - np.sum(dp * p, axis=axis, keepdims=True)",
         "dp"), "transformer.h.0.attn.c_attn.weight",
    ),
    "tied matrix: the output path only": (
        (GPT, "backward", "self.wte.backward(d)", "pass"), "transformer.wte.weight"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_mistake_breaks_the_parity(name, monkeypatch):
    (owner, attribute, old, new), broken = PLANTED[name]
    monkeypatch.setattr(owner, attribute, planted(getattr(owner, attribute), old, new))
    shape, (B, T) = SHAPES["2 layers, 4 heads"]
    errors = gradient_parity(torch_gpt(shape), *batch(shape["vocab_size"], B, T))
    assert errors["logits"] <= PARITY and errors["loss"] <= PARITY  # the forward is intact
    assert errors[broken] > 1e-4
    assert max(errors.values()) > 1e4 * PARITY


def test_bad_states_and_inputs_are_refused():
    shape, _ = SHAPES["2 layers, 4 heads"]
    state = {k: v.numpy() for k, v in torch_gpt(shape).state_dict().items()}
    with pytest.raises(KeyError, match="missing"):
        GPT.from_state_dict(
            {k: v for k, v in state.items() if k != "transformer.ln_f.bias"}, n_head=4
        )
    with pytest.raises(ValueError, match="ties"):
        GPT.from_state_dict(
            {**state, "lm_head.weight": state["transformer.wte.weight"] + 1}, n_head=4
        )
    with pytest.raises(ValueError, match="shape"):
        GPT.from_state_dict({**state, "transformer.ln_f.bias": np.zeros(5)}, n_head=4)
    model = GPT.from_state_dict(state, n_head=4)
    with pytest.raises(ValueError, match="block_size"):
        model.forward(np.zeros((1, 17), dtype=np.int64))
    with pytest.raises(RuntimeError, match="before loss"):
        model.backward()


def test_clip_grad_norm_is_torchs():
    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    for max_norm in (0.5, 100.0):
        ours = {k: v.copy() for k, v in arrays.items()}
        tensors = [torch.tensor(v, requires_grad=True) for v in arrays.values()]
        for t, v in zip(tensors, arrays.values(), strict=True):
            t.grad = torch.tensor(v)
        norm = float(torch.nn.utils.clip_grad_norm_(tensors, max_norm))
        assert clip_grad_norm(ours, max_norm) == pytest.approx(norm, rel=1e-14)
        for t, v in zip(tensors, ours.values(), strict=True):
            np.testing.assert_allclose(v, t.grad.numpy(), rtol=1e-14)
    shared = arrays["a"].copy()  # one array under two keys counts once
    assert clip_grad_norm({"x": shared, "y": shared}, 1e9) == pytest.approx(np.linalg.norm(shared))


def test_astype_keeps_the_tie():
    model = GPT(11, 8, 1, 2, 16, rng=np.random.default_rng(3)).astype(np.float64)
    assert all(p.dtype == np.float64 for p in model.params.values())
    assert np.shares_memory(model.lm_head.params["W"], model.wte.params["W"])
    idx = np.zeros((1, 8), dtype=np.int64)
    model.loss(idx, idx)
    assert model.backward()["transformer.wte.weight"].dtype == np.float64
