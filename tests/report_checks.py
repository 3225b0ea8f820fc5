"""Checks that a report.html stands alone: no external resource, every image decodes."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib.image as mpimg


def check_self_contained(report: Path) -> int:
    """Assert the page loads nothing from outside; returns the number of embedded images."""
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert 'name="viewport"' in page  # readable on a phone
    sources = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    for src in sources:
        is_link = f'href="{src}"' in page and f'src="{src}"' not in page
        assert src.startswith("data:") or is_link, f"external resource {src!r} in {report}"
    assert "<link" not in page and "<script src" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    for data in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 10 and pixels.shape[1] > 10
    return len(images)
