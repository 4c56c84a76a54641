"""A self-contained HTML page: inline CSS, figures embedded as PNG data URIs.

The page loads nothing from the network and needs no other file, so it can be mailed,
attached to an issue or opened from a cluster's scratch disk. A tiny inline script
records, on the ``<html>`` element, how many images loaded, how many errors the page
raised and how much the most shrunk image is shrunk (``data-images-loaded="9/9"``,
``data-errors="0"``, ``data-image-scale="1.000"``) so a headless browser can check the
page without a test-only title.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from taskonomy.reports._figures import PAGE_WIDTH_PX

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1d1d1f; background: #fafafa; margin: 0; }
main { max-width: MAIN_WIDTHpx; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 36px 0 8px; padding-top: 8px; border-top: 1px solid #e3e3e3; }
h3 { font-size: 16px; margin: 20px 0 6px; }
p.lead { color: #555; margin-top: 0; }
nav ol { columns: 2; padding-left: 20px; }
figure { margin: 12px 0 24px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 14px; max-width: 900px; margin-top: 6px; }
.note { background: #fff8e6; border-left: 4px solid #e69f00; padding: 8px 12px; margin: 10px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e6e6e6; padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { color: #b00020; }
details { margin: 8px 0 16px; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
pre { background: #f3f3f3; padding: 8px; white-space: pre-wrap; word-break: break-all;
      font-size: 12px; }
""".replace("MAIN_WIDTH", str(PAGE_WIDTH_PX + 2 * 32))  # figures fit unshrunk in main

# Records image loads and page errors on <html> for automated checks; harmless for readers.
_SCRIPT = """
(function () {
  var errors = 0;
  window.addEventListener("error", function () { errors += 1; }, true);
  window.addEventListener("load", function () {
    var imgs = document.images, ok = 0, scale = 1;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) {
        ok += 1;
        scale = Math.min(scale, imgs[i].clientWidth / imgs[i].naturalWidth);
      }
    }
    var root = document.documentElement;
    root.setAttribute("data-images-loaded", ok + "/" + imgs.length);
    root.setAttribute("data-image-scale", scale.toFixed(3));
    root.setAttribute("data-errors", String(errors));
  });
})();
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Figure:
    """A PNG on disk, shown inline with a caption."""

    path: Path
    alt: str
    caption: str

    def render(self) -> str:
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{esc(self.alt)}">'
            f"<figcaption>{self.caption}</figcaption></figure>"
        )


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells; numeric columns are right-aligned."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: frozenset[int] = frozenset()
    bad_rows: frozenset[int] = frozenset()

    def render(self) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = []
        for r, row in enumerate(self.rows):
            cells = "".join(
                f'<td class="num">{esc(c)}</td>' if i in self.numeric else f"<td>{esc(c)}</td>"
                for i, c in enumerate(row)
            )
            cls = ' class="bad"' if r in self.bad_rows else ""
            body.append(f"<tr{cls}>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class Note:
    """A highlighted remark, e.g. a file the run did not write."""

    html: str

    def render(self) -> str:
        return f'<p class="note">{self.html}</p>'


@dataclass(frozen=True)
class Raw:
    """Trusted HTML built by this package (paragraphs, details)."""

    html: str

    def render(self) -> str:
        return self.html


Block = Figure | Table | Note | Raw


@dataclass
class Section:
    anchor: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)

    def render(self) -> str:
        intro = f"<p>{self.intro}</p>" if self.intro else ""
        inner = "".join(b.render() for b in self.blocks)
        return (
            f'<section id="{esc(self.anchor)}"><h2>{esc(self.title)}</h2>{intro}{inner}</section>'
        )


def render_page(title: str, lead: str, sections: Sequence[Section]) -> str:
    """The whole document; deterministic for the same inputs (no dates, no random ids)."""
    toc = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head>"
        f'<body><main><h1>{esc(title)}</h1><p class="lead">{lead}</p>'
        f"<nav><ol>{toc}</ol></nav>{body}</main></body></html>\n"
    )
