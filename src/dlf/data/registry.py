"""Every data set of the path by name, with its files, published checksums and sources.

The checksums are the publishers' own (see ``../shared/data/README.md`` of the project's
machines for how each was checked); CIFAR-10's archive SHA-256 is the value pinned by Keras
and others for the archive whose MD5 torchvision publishes (c58f30108f718f92721af3b95e74349a).
"""

from __future__ import annotations

from pathlib import Path

from dlf.data.files import DataFile, DatasetNotFound, DatasetSpec, locate

_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


def _idx_files(base_url: str, checksums: dict[str, str]) -> tuple[DataFile, ...]:
    return tuple(DataFile(name, sha, base_url + name) for name, sha in checksums.items())


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "mnist",
            _idx_files(
                _MNIST_URL,
                {
                    "train-images-idx3-ubyte.gz": (
                        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
                    ),
                    "train-labels-idx1-ubyte.gz": (
                        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
                    ),
                    "t10k-images-idx3-ubyte.gz": (
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
                    ),
                    "t10k-labels-idx1-ubyte.gz": (
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
                    ),
                },
            ),
            source="Yann LeCun and Corinna Cortes, the MNIST database",
            license="CC BY-SA 3.0",
        ),
        DatasetSpec(
            "fashion-mnist",
            _idx_files(
                _FASHION_URL,
                {
                    "train-images-idx3-ubyte.gz": (
                        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
                    ),
                    "train-labels-idx1-ubyte.gz": (
                        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
                    ),
                    "t10k-images-idx3-ubyte.gz": (
                        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
                    ),
                    "t10k-labels-idx1-ubyte.gz": (
                        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
                    ),
                },
            ),
            source="Zalando Research, zalandoresearch/fashion-mnist",
            license="MIT",
        ),
        DatasetSpec(
            "cifar10",
            (
                DataFile(
                    "cifar-10-python.tar.gz",
                    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                ),
            ),
            source="Alex Krizhevsky, CIFAR-10 (python version)",
            license="see the CIFAR-10 page of its authors",
        ),
        DatasetSpec(
            "tinyshakespeare",
            (
                DataFile(
                    "input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    "https://raw.githubusercontent.com/karpathy/char-rnn/"
                    "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
                ),
            ),
            source="karpathy/char-rnn, data/tinyshakespeare/input.txt",
            license="public domain text (repository MIT)",
        ),
        DatasetSpec(
            "gpt2",
            (
                DataFile(
                    "encoder.json",
                    "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
                ),
                DataFile(
                    "vocab.bpe",
                    "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
                    "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
                ),
            ),
            source="OpenAI GPT-2 byte-level BPE files",
            license="Modified MIT (OpenAI GPT-2)",
        ),
    ]
}


def dataset_files(name: str) -> dict[str, Path]:
    """Verified paths of every file of data set ``name``: ``{file name: path}``.

    Example: ``dataset_files("tinyshakespeare")`` -> ``{"input.txt": Path(".../input.txt")}``.
    Raises DatasetNotFound (also for an unknown name) or ChecksumError.
    """
    if name not in DATASETS:
        raise DatasetNotFound(f"no data set named '{name}'; known: {', '.join(DATASETS)}")
    return locate(DATASETS[name])
