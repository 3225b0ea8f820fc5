import re
import subprocess
import sys
from pathlib import Path

import dlf.scratch

TORCH_IMPORT = re.compile(
    r"^\s*(import\s+torch\b|from\s+torch\b|import\s+[\w.]+\s*,.*\btorch\b)", re.M
)


def test_no_file_under_dlf_scratch_imports_torch():
    root = Path(dlf.scratch.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 5
    offenders = [str(f.relative_to(root)) for f in files if TORCH_IMPORT.search(f.read_text())]
    assert not offenders, f"dlf.scratch must stay NumPy-only; torch imported in {offenders}"


def test_the_pattern_catches_torch_imports():
    for line in [
        "import torch",
        "  from torch import nn",
        "import torch.nn as nn",
        "import numpy, torch",
        "from torch.nn import functional",
    ]:
        assert TORCH_IMPORT.search(line), line
    for line in ["# torch's default", "import torchvision_free_name_x", "x = 'torch'"]:
        assert not TORCH_IMPORT.search(line), line


def test_importing_dlf_scratch_does_not_load_torch():
    code = "import sys, dlf.scratch; assert 'torch' not in sys.modules, 'torch was loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)
