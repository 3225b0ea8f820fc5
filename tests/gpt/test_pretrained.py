"""GPT-2 in Hugging Face's layout: transformers' GPT-2 loads into dlf's GPT and back with the
same logits and the same greedy generations; every GPT-2 size maps weight for weight."""

from __future__ import annotations

import json

import pytest
import torch

from dlf.cli import main
from dlf.gpt import BPETokenizer
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.pretrained import PretrainedError, gpt_config, gpt_state, load_gpt2
from dlf.sampling import generate, greedy

SMALL = dict(n_layer=2, n_head=2, n_embd=32, n_positions=24, vocab_size=61)
ACTIVATIONS = {"tanh": "gelu_new", "exact": "gelu"}
# float32 logits of |z| ~ 2 summed over <= 128 products in another order: a few ulps of 2
# (2.4e-7 each) apart; 1e-5 leaves room and still tells the tanh GELU from the exact (~1e-3).
TOLERANCE = dict(rtol=1e-5, atol=1e-5)
# (n_layer, n_head, n_embd) of gpt2, gpt2-medium, gpt2-large, gpt2-xl.
SIZES = {
    "gpt2": (12, 12, 768),
    "gpt2-medium": (24, 16, 1024),
    "gpt2-large": (36, 20, 1280),
    "gpt2-xl": (48, 25, 1600),
}


@torch.no_grad()
def spread(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter plus N(0, 0.1^2) noise (LayerNorm gains and biases too), so that the
    logits are O(1) and a wrong activation, transpose or missing bias shows."""
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


def hf_gpt2(activation: str = "gelu_new", seed: int = 0, **shape) -> torch.nn.Module:
    """A random GPT-2 of transformers (imported here: not every test of tests/gpt needs it)."""
    import transformers

    torch.manual_seed(seed)
    shape = {**SMALL, **shape}
    eos = 50256 if shape["vocab_size"] > 50256 else None  # GPT-2's <|endoftext|>, if it exists
    config = transformers.GPT2Config(
        **shape, activation_function=activation, bos_token_id=eos, eos_token_id=eos
    )
    return spread(transformers.GPT2LMHeadModel(config), seed).eval()


def ids(vocab_size: int, B: int, T: int, seed: int) -> torch.Tensor:
    return torch.randint(0, vocab_size, (B, T), generator=torch.Generator().manual_seed(seed))


def hf_greedy(model: torch.nn.Module, prompt: torch.Tensor, n: int) -> list[int]:
    out = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=n,
        min_new_tokens=n,
        do_sample=False,
        pad_token_id=0,
        eos_token_id=None,
    )
    return out[0, prompt.size(1) :].tolist()


@pytest.mark.parametrize("gelu", ACTIVATIONS)
def test_transformers_gpt2_loads_with_the_same_logits_and_greedy_tokens(gelu, tmp_path):
    theirs = hf_gpt2(ACTIVATIONS[gelu])
    theirs.save_pretrained(tmp_path)
    ours = GPT.from_pretrained(tmp_path)
    assert ours.config.gelu == gelu and not ours.training
    assert ours.lm_head.weight is ours.transformer.wte.weight
    idx = ids(SMALL["vocab_size"], 3, SMALL["n_positions"], seed=1)
    with torch.no_grad():
        want = theirs(idx).logits
        torch.testing.assert_close(ours(idx)[0], want, **TOLERANCE)
        other = GPT.from_pretrained(tmp_path, gelu="tanh" if gelu == "exact" else "exact")
        assert (other(idx)[0] - want).abs().max() > 10 * TOLERANCE["atol"]  # the test can fail
        prompt = idx[:1, :4]
        n = SMALL["n_positions"] - 4
        assert list(generate(ours.step_fn(), prompt, n, greedy)) == hf_greedy(theirs, prompt, n)


@pytest.mark.parametrize("gelu", ACTIVATIONS)
def test_a_saved_dlf_gpt_loads_into_transformers_with_the_same_logits(gelu, tmp_path):
    import transformers

    torch.manual_seed(0)
    config = GPTConfig(block_size=24, vocab_size=61, n_layer=2, n_head=2, n_embd=32, gelu=gelu)
    ours = spread(GPT(config), seed=2).eval()
    ours.save_pretrained(tmp_path)
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    assert theirs.config.activation_function == ACTIVATIONS[gelu]
    idx = ids(61, 2, 24, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(theirs(idx).logits, ours(idx)[0], **TOLERANCE)
    again = GPT.from_pretrained(tmp_path)
    assert again.config == config
    for name, value in ours.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name


@pytest.mark.parametrize("size", SIZES)
def test_every_gpt2_size_maps_weight_for_weight(size):
    import transformers

    n_layer, n_head, n_embd = SIZES[size]
    hf = {"model_type": "gpt2", "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
          "n_positions": 1024, "vocab_size": 50257, "activation_function": "gelu_new"}  # fmt: skip
    with torch.device("meta"):  # shapes only, no memory
        theirs = transformers.GPT2LMHeadModel(transformers.GPT2Config(**hf))
        ours = GPT(gpt_config(hf))
    want = {k: v.shape for k, v in ours.state_dict().items() if k != "lm_head.weight"}
    got = {k: v.shape for k, v in gpt_state(theirs.state_dict()).items()}
    assert got == want
    assert ours.num_params(non_embedding=False) == theirs.num_parameters()


def test_openai_names_and_mask_buffers_are_read():
    C = 4
    hf = {"h.0.attn.c_attn.weight": torch.zeros(C, 3 * C), "h.0.attn.bias": torch.ones(1, 1, 8, 8),
          "wte.weight": torch.zeros(10, C), "lm_head.weight": torch.zeros(10, C)}  # fmt: skip
    state = gpt_state(hf)
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "transformer.h.0.attn.c_attn.weight": (3 * C, C),
        "transformer.wte.weight": (10, C),
    }


def write_folder(folder, config: dict, weights: dict | None = None):
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if weights is not None:
        from safetensors.torch import save_file

        save_file(weights, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "llama"}, "only 'gpt2'"),
        ({"n_inner": 100}, "MLP is 4"),
        ({"activation_function": "relu"}, "GELU"),
        ({"layer_norm_epsilon": 1e-6}, "layer_norm_epsilon"),
        ({"scale_attn_by_inverse_layer_idx": True}, "scale_attn_by_inverse_layer_idx"),
    ],
)
def test_configs_this_gpt_cannot_hold_are_refused(change, message):
    hf = {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 8, "n_positions": 4,
          "vocab_size": 5}  # fmt: skip
    with pytest.raises(PretrainedError, match=message):
        gpt_config({**hf, **change})


def test_folders_without_a_gpt2_are_refused(tmp_path):
    with pytest.raises(PretrainedError, match="no such folder"):
        GPT.from_pretrained(tmp_path / "absent")
    with pytest.raises(PretrainedError, match="no config.json"):
        GPT.from_pretrained(tmp_path)
    hf = {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 8, "n_positions": 4,
          "vocab_size": 5}  # fmt: skip
    write_folder(tmp_path, hf)
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(PretrainedError, match="pickle"):
        GPT.from_pretrained(tmp_path)
    write_folder(tmp_path, hf, {"wte.weight": torch.zeros(5, 8)})
    with pytest.raises(PretrainedError, match="do not fit"):
        GPT.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00")
    with pytest.raises(PretrainedError, match="not a complete safetensors file"):
        GPT.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(PretrainedError, match="not JSON"):
        GPT.from_pretrained(tmp_path)
    write_folder(tmp_path, {"model_type": "gpt2", "n_layer": 1})
    with pytest.raises(PretrainedError, match="lacks"):
        GPT.from_pretrained(tmp_path)
    model = GPT(GPTConfig(block_size=4, vocab_size=5, n_layer=1, n_head=2, n_embd=8, bias=False))
    with pytest.raises(ValueError, match="biases"):
        model.save_pretrained(tmp_path / "out")


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    """A tiny random GPT-2 with GPT-2's vocabulary, saved by transformers."""
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    model = hf_gpt2(n_layer=1, n_head=2, n_embd=8, n_positions=32, vocab_size=50257, seed=4)
    model.save_pretrained(folder)
    return folder


def test_dlf_sample_model_continues_with_the_greedy_tokens(gpt2_folder, capsys):
    import transformers

    theirs = transformers.GPT2LMHeadModel.from_pretrained(gpt2_folder).eval()
    tokenizer = BPETokenizer.gpt2()
    prompt = "Hello, world"
    with torch.no_grad():
        new = hf_greedy(theirs, torch.tensor([tokenizer.encode(prompt)]), 6)
    argv = ["sample", "--model", str(gpt2_folder), "--prompt", prompt, "--strategy", "greedy",
            "--max-new-tokens", "6"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out == prompt + tokenizer.decode(new) + "\n"
    assert load_gpt2(gpt2_folder).tokenizer.vocab_size == 50257


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["sample"], 2, "give a RUN_DIR or --model DIR"),
        (["sample", "RUN", "--model", "DIR"], 2, "give a RUN_DIR or --model DIR"),
        (["sample", "--model", "ABSENT"], 1, "no such folder"),
    ],
)
def test_dlf_sample_model_errors_are_one_line(argv, status, message, tmp_path, capsys):
    argv = [str(tmp_path / a) if a in ("RUN", "DIR", "ABSENT") else a for a in argv]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
