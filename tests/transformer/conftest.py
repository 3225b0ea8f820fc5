import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is fastest, and on a shared, loaded machine
    PyTorch's spinning worker threads made a 1 s test take over a minute."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
