from dlf.learn import get_exercise

from .helpers import assert_caught, grade_text, planted_test

NAME = "gpt"
POSITIONS = "x = self.transformer.wpe(x, offset=past)"
ADDED = "        if not self.transformer.wpe.inside_attention:"
ROTARY = "nn.ModuleList(self.block(config, rotary)"
TIE = (
    "        self.lm_head.weight = self.transformer.wte.weight  # tied: one matrix, counted once\n"
)
BLOCKS = "x, kv = block(x, None if kv_cache is None else kv_cache[i])"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (POSITIONS, POSITIONS.replace("offset=past", "offset=0"), "the positions start at 0 despite"),
    ("return self.lm_head(self.transformer.ln_f(x))", "return self.lm_head(x)", "ln_f is missing"),
    (TIE, "", "lm_head has its own weight"),
    ("config.vocab_size, bias=False)", "config.vocab_size)", "lm_head has a bias"),
    (BLOCKS, BLOCKS.replace("kv_cache[i]", "kv_cache[0]"), "every block gets layer 0's cache"),
    (BLOCKS, BLOCKS.replace("None if kv_cache is None else kv_cache[i]", "None"), "cache is not"),
    (POSITIONS, "pass", "no positions"),
    (ADDED, "        if True:", "expected last dimension"),  # RoPE added to the embeddings
    (ROTARY, "nn.ModuleList(self.block(config)", "pass it to the blocks"),
    ("wpe=wpe,", "wpe=nn.Embedding(config.block_size, config.n_embd),", "build it from the"),
    ("        self.apply(init_gpt2_weights)\n", "", "call self.apply(init_gpt2_weights)"),
    ("0.02 / math.sqrt(2 * config.n_layer)", "0.02", "the residual projections are not scaled"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_an_untied_lm_head_fails_the_count_and_the_tying_check(tmp_path):
    grade = assert_caught(NAME, TIE, "", "lm_head has its own weight", tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert "parameters of GPT-2 small (GPTConfig()): 124,439,808" in failing
    assert "lm_head.weight is transformer.wte.weight (weight tying)" in failing


def test_other_names_stop_before_the_logits(tmp_path):
    text = get_exercise(NAME).solution.replace("ln_f", "norm")
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert failing[0].what.startswith("the modules have dlf's names")
    assert "'transformer.ln_f.weight'" in failing[0].detail
    assert not any(c.what == "logits" for c in grade.checks)


def test_calling_dlfs_constructor_does_not_pass(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "nn.Module.__init__(self)  # super() is dlf's GPT",
        "super().__init__(config)\n        return",
    )
    grade = grade_text(NAME, text, tmp_path)
    assert [c.what for c in grade.checks if not c.passed] == ["your own code (not dlf's)"]
