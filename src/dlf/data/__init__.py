"""Every data set of the path by name; loaders return NumPy arrays.

Files are looked up in ``$DLF_DATA`` (folders joined by ``:``), then ``~/.cache/dlf``, then
downloaded from their source with a checksum check (``DLF_OFFLINE=1`` forbids that).
"""

from dlf.data.cifar import read_cifar10_archive
from dlf.data.files import ChecksumError, DataError, DatasetNotFound, search_dirs
from dlf.data.idx import parse_idx, read_idx
from dlf.data.images import ImageDataset, load_images, to_float
from dlf.data.registry import DATASETS, dataset_files
from dlf.data.sequences import TASKS, Seq2SeqTask, make_task
from dlf.data.split import train_val_split
from dlf.data.text import load_text
from dlf.data.toy import circles, regression_1d, spirals, true_function

__all__ = [
    "DATASETS",
    "ChecksumError",
    "DataError",
    "DatasetNotFound",
    "ImageDataset",
    "Seq2SeqTask",
    "TASKS",
    "circles",
    "dataset_files",
    "load_images",
    "load_text",
    "make_task",
    "parse_idx",
    "read_cifar10_archive",
    "read_idx",
    "regression_1d",
    "search_dirs",
    "spirals",
    "to_float",
    "train_val_split",
    "true_function",
]
