"""The GPT takes its positions from Module 3's registry: every encoding trains, caches and
generates; "learned" keeps GPT-2's names and seeded weights; a new encoding needs no GPT change."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import Tensor, nn

from dlf.bench.gpt import generate_tokens
from dlf.gpt import GPT, GPTConfig
from dlf.gpt.pretrained import PretrainedError, gpt_config
from dlf.transformer.positional import (
    POSITIONAL_ENCODINGS,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
)

from .helpers import tiny_config, tiny_gpt, token_stream

NAMES = list(POSITIONAL_ENCODINGS)


def gpt2_keys(n_layer: int) -> set[str]:
    """GPT-2's state_dict names (this GPT's tied lm_head included)."""
    block = [
        "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
        "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
        "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
    ]  # fmt: skip
    keys = {"transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight"}
    keys |= {"transformer.ln_f.weight", "transformer.ln_f.bias"}
    return keys | {f"transformer.h.{i}.{name}" for i in range(n_layer) for name in block}


@pytest.mark.parametrize("name", NAMES)
def test_the_gpt_builds_the_encoding_its_config_names(name):
    model = tiny_gpt(positional=name)
    wpe = model.transformer.wpe
    assert isinstance(wpe, POSITIONAL_ENCODINGS[name])
    rotary = wpe if wpe.inside_attention else None
    assert all(block.attn.rotary is rotary for block in model.transformer.h)


@pytest.mark.parametrize("name", NAMES)
def test_each_encoding_trains(name):
    torch.manual_seed(0)
    model = GPT(tiny_config(positional=name))
    stream = torch.from_numpy(token_stream(2000))
    optimizer = model.configure_optimizer(weight_decay=0.0, learning_rate=3e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        starts = torch.randint(0, len(stream) - 13, (16,), generator=g)
        windows = torch.stack([stream[s : s + 13] for s in starts.tolist()])
        _, loss = model(windows[:, :-1], windows[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


@pytest.mark.parametrize("name", NAMES)
def test_a_step_after_the_cache_equals_the_whole_sequence(name):
    model = tiny_gpt(seed=1, positional=name).eval()
    idx = torch.randint(0, 13, (2, 10), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole, _ = model.step(idx)
        _, cache = model.step(idx[:, :6])
        _, cache = model.step(idx[:, 6:9], cache)
        last, cache = model.step(idx[:, 9:], cache)
    torch.testing.assert_close(last, whole[:, 9:], rtol=1e-10, atol=1e-10)
    assert cache[0][0].shape == (2, 4, 10, 8)


@pytest.mark.parametrize("name", NAMES)
def test_cached_generation_equals_uncached_past_the_block_size(name):
    model = tiny_gpt(seed=2, positional=name)  # block_size 12: 30 tokens crop the window
    assert generate_tokens(model, 30, use_cache=True) == generate_tokens(model, 30, False)


def test_learned_keeps_gpt2s_names_and_the_others_add_no_weights():
    assert set(tiny_gpt().state_dict()) == gpt2_keys(2)
    assert isinstance(tiny_gpt().transformer.wpe, LearnedPositionalEmbedding)
    for name in ("sinusoidal", "rope", "none"):
        assert set(tiny_gpt(positional=name).state_dict()) == gpt2_keys(2) - {
            "transformer.wpe.weight"
        }


@pytest.mark.parametrize(("name", "table"), [("learned", 12 * 32), ("rope", 0), ("none", 0)])
def test_non_embedding_count_leaves_out_the_encodings_parameters(name, table):
    model = tiny_gpt(positional=name)
    assert model.num_params(non_embedding=False) - model.num_params() == table


def test_the_learned_table_gets_gpt2s_initialisation():
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=256, vocab_size=64, n_layer=1, n_head=4, n_embd=128))
    assert model.transformer.wpe.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert abs(model.transformer.wpe.weight.mean().item()) < 0.002


def test_unknown_encodings_and_odd_rope_heads_are_refused():
    with pytest.raises(ValueError, match="positional must be one of none, sinusoidal"):
        tiny_config(positional="alibi")
    with pytest.raises(ValueError, match="head dimension must be even"):
        tiny_config(n_embd=12, n_head=4, positional="rope")


def test_gpt2s_layout_takes_learned_positions_only(tmp_path):
    hf = {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 8, "n_positions": 4,
          "vocab_size": 5}  # fmt: skip
    with pytest.raises(PretrainedError, match="only positional='learned'.*'rope'"):
        gpt_config(hf, positional="rope")
    with pytest.raises(ValueError, match="only positional='learned'.*'sinusoidal'"):
        tiny_gpt(positional="sinusoidal").save_pretrained(tmp_path / "out")
    assert not (tmp_path / "out").exists()


class _Recorded(nn.Module):
    """A made-up encoding: adds 0.1 sin(position + feature index), records the offsets."""

    inside_attention: ClassVar[bool] = False
    offsets: ClassVar[list[int]] = []

    @classmethod
    def build(cls, d_model: int, n_heads: int, max_len: int) -> _Recorded:
        return cls()

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        self.offsets.append(offset)
        positions = torch.arange(offset, offset + x.size(-2), dtype=x.dtype)
        return x + 0.1 * torch.sin(positions[:, None] + torch.arange(x.size(-1)))


class _RecordedInside(_Recorded):
    """The same, applied inside attention: leaves q and k as they are, records the offsets."""

    inside_attention: ClassVar[bool] = True
    offsets: ClassVar[list[int]] = []

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        self.offsets.append(offset)
        return x


def test_a_new_registered_encoding_is_used_by_the_gpt(monkeypatch):
    monkeypatch.setitem(POSITIONAL_ENCODINGS, "recorded", _Recorded)
    model = tiny_gpt(positional="recorded").eval()
    assert isinstance(model.transformer.wpe, _Recorded)
    _Recorded.offsets.clear()
    idx = torch.randint(0, 13, (1, 7), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        whole, _ = model.step(idx)
        _, cache = model.step(idx[:, :5])
        last, _ = model.step(idx[:, 5:], cache)
    assert _Recorded.offsets == [0, 0, 5]
    torch.testing.assert_close(last, whole[:, 5:])
    plain = tiny_gpt(positional="none").eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(plain.step(idx)[0], whole)  # the encoding did something


def test_a_new_encoding_inside_attention_gets_the_cached_length(monkeypatch):
    monkeypatch.setitem(POSITIONAL_ENCODINGS, "inside", _RecordedInside)
    model = tiny_gpt(positional="inside").eval()  # 2 layers: q and k in each
    _RecordedInside.offsets.clear()
    idx = torch.randint(0, 13, (1, 7), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _, cache = model.step(idx[:, :5])
        model.step(idx[:, 5:], cache)
    assert _RecordedInside.offsets == [0] * 4 + [5] * 4


def test_rope_in_the_gpt_is_module_3s_rotary_embedding():
    model = tiny_gpt(positional="rope")
    rotary = model.transformer.wpe
    assert isinstance(rotary, RotaryEmbedding)
    assert (rotary.head_dim, rotary.max_len) == (8, 12)


@pytest.mark.parametrize("name", NAMES)
def test_checking_a_config_draws_no_random_numbers(name):
    """GPTConfig checks its encoding by building it (on the meta device): a seeded model's
    weights must not depend on how many configs were made before it."""
    torch.manual_seed(0)
    want = torch.rand(4)
    torch.manual_seed(0)
    tiny_config(positional=name)
    assert torch.equal(torch.rand(4), want)
