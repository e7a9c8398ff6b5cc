"""Plain text from the main content of a Sphinx-generated HTML page.

Keeps headings, paragraphs, list items, definition lists and code blocks
(verbatim); drops navigation, sidebars, scripts, permalink marks, footnote
markers and tables. Reports how much of the page was prose, code and
tables so callers can leave out pages that are mostly API lists or tables.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = {
    "p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd",
    "dl", "ul", "ol", "blockquote", "br", "hr", "figure", "figcaption", "caption",
    "aside", "article", "header", "footer", "nav", "tr", "table",
}
SKIP_TAGS = {"script", "style", "table", "nav", "head", "title", "form", "button", "svg", "math"}
SKIP_CLASSES = {
    "headerlink", "sphinxsidebar", "related", "footer", "linenos", "toctree-wrapper",
    "footnote-reference", "fn-backref", "mobile-nav", "copybutton",
}
VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed",
             "source", "track", "wbr"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class PageText:
    """Result of an extraction: the text, its title and character counts by kind."""

    def __init__(self, text, title, prose_chars, code_chars, table_chars, list_chars):
        self.text = text
        self.title = title
        self.prose_chars = prose_chars
        self.code_chars = code_chars
        self.table_chars = table_chars
        self.list_chars = list_chars


class _MainContentParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # (tag, is_main_root, skipping) for open elements
        self.in_main = 0         # >0 while inside the main content element
        self.skip_depth = 0      # >0 while inside an element being dropped
        self.table_depth = 0
        self.pre_depth = 0
        self.list_depth = 0
        self.blocks = []         # finished blocks: (kind, text)
        self.current = []        # text pieces of the open block
        self.current_kind = "prose"
        self.table_chars = 0
        self.title = None
        self.in_title_tag = False
        self.title_parts = []
        self.first_heading = None
        self.heading_parts = None

    # -- structure ------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "title" and self.title is None:
            self.in_title_tag = True
        if tag in VOID_TAGS:
            if tag == "br" and self.in_main and not self.skip_depth:
                self.current.append("\n" if self.pre_depth else " ")
            return
        is_root = False
        if not self.in_main and (a.get("role") == "main" or "document" in classes and tag == "div"
                                 and a.get("itemprop") == "articleBody"):
            is_root = True
            self.in_main += 1
        skipping = False
        if self.in_main and not is_root:
            if tag in SKIP_TAGS or classes & SKIP_CLASSES:
                skipping = True
        self.stack.append((tag, is_root, skipping))
        if skipping:
            if tag == "table" and self.skip_depth == 0:
                self.table_depth += 1
            self.skip_depth += 1
            return
        if not self.in_main or self.skip_depth:
            return
        if tag == "pre":
            self._end_block()
            self.pre_depth += 1
            self.current_kind = "code"
        elif tag in BLOCK_TAGS:
            self._end_block()
            if tag in ("ul", "ol"):
                self.list_depth += 1
            if tag == "li":
                self.current.append("- ")
                self.current_kind = "list"
            elif tag in HEADINGS:
                self.current_kind = "heading"
                if self.first_heading is None:
                    self.heading_parts = []

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title_tag = False
        if tag in VOID_TAGS:
            return
        # pop to the matching open element (tolerates sloppy HTML)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                break
        else:
            return
        while len(self.stack) > i:
            open_tag, is_root, skipping = self.stack.pop()
            self._close(open_tag, is_root, skipping)

    def _close(self, tag, is_root, skipping):
        if skipping:
            self.skip_depth -= 1
            if tag == "table" and self.skip_depth == 0:
                self.table_depth -= 1
            return
        if not self.in_main or self.skip_depth:
            return
        if tag == "pre":
            self._end_block()
            self.pre_depth -= 1
        elif tag in BLOCK_TAGS:
            if tag in HEADINGS and self.heading_parts is not None and self.first_heading is None:
                self.first_heading = _collapse("".join(self.heading_parts))
                self.heading_parts = None
            self._end_block()
            if tag in ("ul", "ol"):
                self.list_depth -= 1
        if is_root:
            self._end_block()
            self.in_main -= 1

    def handle_data(self, data):
        if self.in_title_tag:
            self.title_parts.append(data)
        if not self.in_main:
            return
        if self.skip_depth:
            if self.table_depth:
                self.table_chars += len(data.strip())
            return
        self.current.append(data)
        if self.heading_parts is not None:
            self.heading_parts.append(data)

    def _end_block(self):
        if "".join(self.current).strip() == "-":
            return  # a list item whose text follows in a nested block keeps its dash
        if not self.current:
            self.current_kind = "code" if self.pre_depth else "prose"
            return
        raw = "".join(self.current)
        self.current = []
        kind = self.current_kind
        self.current_kind = "code" if self.pre_depth else "prose"
        if kind == "code":
            text = "\n".join(line.rstrip() for line in raw.strip("\n").split("\n"))
        else:
            text = _collapse(raw)
        if text.strip():
            self.blocks.append((kind, text))


def _collapse(text):
    return re.sub(r"\s+", " ", text).strip()


def extract(html: str) -> PageText:
    """Extracts the main content of one Sphinx HTML page."""
    p = _MainContentParser()
    p.feed(html)
    p.close()
    p._end_block()
    counts = {"prose": 0, "heading": 0, "code": 0, "list": 0}
    for kind, text in p.blocks:
        counts[kind] += len(text)
    text = "\n\n".join(t for _, t in p.blocks)
    title = p.first_heading or _collapse("".join(p.title_parts))
    title = title.replace("\u00b6", "").strip()
    return PageText(text, title, counts["prose"] + counts["heading"], counts["code"],
                    p.table_chars, counts["list"])
