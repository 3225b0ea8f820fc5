"""dlf: Deep Learning Foundations as real software."""

from __future__ import annotations

DISTRIBUTION = "deep-learning-foundations"  # the name in pyproject.toml


def _version() -> str:
    """The installed distribution's version; in a source tree never installed, pyproject's.

    Example: after ``pip install -e .`` with ``version = "0.1.0"`` in pyproject.toml -> ``"0.1.0"``.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        import re
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
        return found.group(1) if found else "unknown"


def __getattr__(name: str) -> str:
    # ``dlf.__version__`` is looked up when asked for, not on every ``import dlf``.
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'dlf' has no attribute {name!r}")
