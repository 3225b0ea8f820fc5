"""Snapshots of a model's arrays, copied back in place; evaluation mode as a context."""

import numpy as np
import pytest

from dlf.scratch import SGD, eval_mode, load_state_dict, mlp, state_dict


def test_state_dict_is_a_copy_and_load_is_in_place():
    model = mlp((4, 5, 3), batch_norm=True, dropout=0.5, rng=np.random.default_rng(0))
    snap = state_dict(model)
    assert set(snap) == {*model.params, *model.buffers}
    held = model.params["0.W"]  # the array an optimizer would hold
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    model.forward(x)  # moves BatchNorm's running statistics
    model.backward(np.ones((8, 3), np.float32))
    SGD(0.1).step(model.params, model.grads)
    assert not np.array_equal(held, snap["0.W"])
    load_state_dict(model, snap)
    assert model.params["0.W"] is held
    for k, v in {**model.params, **model.buffers}.items():
        np.testing.assert_array_equal(v, snap[k])


def test_load_rejects_a_state_of_another_model():
    model = mlp((4, 5, 3), rng=np.random.default_rng(0))
    with pytest.raises(KeyError, match="missing"):
        load_state_dict(model, state_dict(mlp((4, 5, 5, 3), rng=np.random.default_rng(0))))
    with pytest.raises(ValueError, match="shape"):
        load_state_dict(model, state_dict(mlp((4, 6, 3), rng=np.random.default_rng(0))))


def test_eval_mode_restores_mixed_modes():
    model = mlp((4, 5, 3), dropout=0.5, rng=np.random.default_rng(0))
    model.layers[2].eval()
    with eval_mode(model):
        assert not any(layer.training for layer in model.modules())
    assert [layer.training for layer in model.layers] == [True, True, False, True]
