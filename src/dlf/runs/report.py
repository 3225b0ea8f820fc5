"""One self-contained HTML report: plots embedded as base64 PNG, tables, text; no external file.

Readable on a phone: a viewport meta tag, images that shrink to the screen, tables that scroll.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:960px;padding:12px;line-height:1.45;color:#222}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
img{max-width:100%;height:auto;display:block;margin:6px 0}
figure{margin:12px 0}figcaption{font-size:.9em;color:#555}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.92em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}pre{background:#f6f6f6;padding:8px;overflow-x:auto;white-space:pre-wrap}
.ok{color:#0a7a0a;font-weight:bold}.bad{color:#b00;font-weight:bold}.muted{color:#777}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return html.escape(json.dumps(value))
    return html.escape(str(value))


@dataclass
class Report:
    """An HTML report built section by section; ``render()`` returns the page."""

    title: str
    sections: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.sections.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, body: str, pre: bool = False) -> None:
        """A paragraph, or preformatted text (``pre=True``) such as a sample or a table."""
        tag = "pre" if pre else "p"
        self.sections.append(f"<{tag}>{html.escape(body)}</{tag}>")

    def image(self, png: bytes, caption: str = "") -> None:
        """A PNG embedded as a data URI."""
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        alt = html.escape(caption or "plot")
        self.sections.append(
            f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{cap}</figure>'
        )

    def table(self, headers: list[str], rows: list[list[Any]], raw_html: bool = False) -> None:
        """A table; cells are escaped unless ``raw_html`` (for links and check marks)."""
        cell = (lambda v: str(v)) if raw_html else _cell
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
        self.sections.append(f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>')

    def mapping(self, values: dict[str, Any]) -> None:
        """A two-column table of a dict (a config or a summary)."""
        self.table(["key", "value"], [[k, v] for k, v in values.items()])

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{html.escape(self.title)}</h1>\n"
            + "\n".join(self.sections)
            + "\n</body></html>\n"
        )
