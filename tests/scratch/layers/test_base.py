import numpy as np
import pytest

from dlf.scratch import BatchNorm1d, Layer, Linear


def test_astype_converts_params_grads_and_buffers():
    bn = BatchNorm1d(3)
    assert bn.astype(np.float64) is bn
    for arrays in (bn.params, bn.grads, bn.buffers):
        assert all(a.dtype == np.float64 for a in arrays.values())


def test_train_eval_zero_grad_and_repr():
    layer = Linear(3, 2)
    assert layer.eval() is layer and not layer.training
    assert layer.train() is layer and layer.training
    layer.grads["W"][...] = 1
    layer.zero_grad()
    assert not layer.grads["W"].any()
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=True)"


def test_base_layer_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="forward"):
        Layer()(np.zeros(2))
