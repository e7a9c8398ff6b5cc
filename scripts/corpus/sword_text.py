"""Plain text of a SWORD "zText" Bible module (OSIS markup), one document per book.

Layout of a zText module (per testament, `ot.*` and `nt.*`):
- `.bzs` block index: little-endian records (uint32 offset, uint32 compressed size, uint32 size)
- `.bzz` the zlib-compressed blocks
- `.bzv` verse index in versification order: records (uint32 block, uint32 offset, uint16 size)
Each verse entry is a fragment of OSIS XML. Footnotes and cross references
(`<note>`) are removed; paragraphs, poetry lines and psalm titles are kept.
"""
from __future__ import annotations

import re
import struct
import zlib
from html.parser import HTMLParser


# English names of OSIS book ids, used when a book's own heading is not in the
# verse index (osis2mod can drop it when versifications disagree).
# English names of OSIS book ids ("_" stands for a space), used when a book's own
# heading is not in the verse index (osis2mod drops it where versifications disagree).
OSIS_BOOK_NAMES = dict(pair.replace("_", " ").split("=") for pair in [
    "Gen=Genesis", "Exod=Exodus", "Lev=Leviticus", "Num=Numbers", "Deut=Deuteronomy",
    "Josh=Joshua", "Judg=Judges", "Ruth=Ruth", "1Sam=1_Samuel", "2Sam=2_Samuel", "1Kgs=1_Kings",
    "2Kgs=2_Kings", "1Chr=1_Chronicles", "2Chr=2_Chronicles", "Ezra=Ezra", "Neh=Nehemiah",
    "Esth=Esther", "Job=Job", "Ps=Psalms", "Prov=Proverbs", "Eccl=Ecclesiastes",
    "Song=Song_of_Solomon", "Isa=Isaiah", "Jer=Jeremiah", "Lam=Lamentations", "Ezek=Ezekiel",
    "Dan=Daniel", "DanGr=Daniel_(Greek)", "Hos=Hosea", "Joel=Joel", "Amos=Amos", "Obad=Obadiah",
    "Jonah=Jonah", "Mic=Micah", "Nah=Nahum", "Hab=Habakkuk", "Zeph=Zephaniah", "Hag=Haggai",
    "Zech=Zechariah", "Mal=Malachi", "Tob=Tobit", "Jdt=Judith", "EsthGr=Esther_(Greek)",
    "Wis=Wisdom_of_Solomon", "Sir=Sirach", "Bar=Baruch", "1Macc=1_Maccabees", "2Macc=2_Maccabees",
    "1Esd=1_Esdras", "PrMan=Prayer_of_Manasses", "AddPs=Psalm_151", "3Macc=3_Maccabees",
    "2Esd=2_Esdras", "4Macc=4_Maccabees", "Matt=Matthew", "Mark=Mark", "Luke=Luke", "John=John",
    "Acts=Acts", "Rom=Romans", "1Cor=1_Corinthians", "2Cor=2_Corinthians", "Gal=Galatians",
    "Eph=Ephesians", "Phil=Philippians", "Col=Colossians", "1Thess=1_Thessalonians",
    "2Thess=2_Thessalonians", "1Tim=1_Timothy", "2Tim=2_Timothy", "Titus=Titus", "Phlm=Philemon",
    "Heb=Hebrews", "Jas=James", "1Pet=1_Peter", "2Pet=2_Peter", "1John=1_John", "2John=2_John",
    "3John=3_John", "Jude=Jude", "Rev=Revelation",
])

NOTE_GAP = "\x00"  # where a footnote was cut out: becomes a space between two words


class SwordError(Exception):
    pass


def read_entries(module_dir: str, testament: str) -> list[str]:
    """The non-empty verse entries of one testament, in versification order.

    Verses linked to one entry are read once; sizes wrapped past 64 KiB are repaired."""
    base = f"{module_dir}/{testament}"
    with open(base + ".bzs", "rb") as f:
        bzs = f.read()
    with open(base + ".bzz", "rb") as f:
        bzz = f.read()
    with open(base + ".bzv", "rb") as f:
        bzv = f.read()
    if len(bzs) % 12 or len(bzv) % 10:
        raise SwordError(f"{base}: index sizes {len(bzs)}, {len(bzv)} are not whole records")
    blocks = []
    for i in range(len(bzs) // 12):
        off, csize, size = struct.unpack_from("<III", bzs, i * 12)
        data = zlib.decompress(bzz[off:off + csize]) if csize else b""
        if len(data) != size:
            raise SwordError(f"{base}.bzz block {i}: {len(data)} bytes, index says {size}")
        blocks.append(data)
    records = []
    for j in range(len(bzv) // 10):
        block, start, size = struct.unpack_from("<IIH", bzv, j * 10)
        if size == 0:
            continue
        if block >= len(blocks) or start + size > len(blocks[block]):
            raise SwordError(f"{base}.bzv entry {j} points outside block {block}")
        records.append((block, start, size))
    # The index stores sizes as uint16: an entry over 64 KiB (a whole book that the
    # versification has no slot for) has its size wrapped. Its true end is the
    # start of the next entry stored in the same block, or the block's end.
    starts_by_block = {}
    for block, start, _ in records:
        starts_by_block.setdefault(block, set()).add(start)
    next_start = {}
    for block, starts in starts_by_block.items():
        ordered = sorted(starts) + [len(blocks[block])]
        for here, after in zip(ordered, ordered[1:]):
            next_start[(block, here)] = after
    entries, seen = [], set()
    for block, start, size in records:
        if (block, start) in seen:
            continue  # linked verses share one entry; read it once
        seen.add((block, start))
        extent = next_start[(block, start)] - start
        if extent > size and (extent - size) % 65536 == 0:
            size = extent
        entries.append(blocks[block][start:start + size].decode("utf-8"))
    return entries


class _OsisToText(HTMLParser):
    """Turns a stream of OSIS fragments into books of plain text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.books = []          # [title, [text pieces]]
        self.note_depth = 0
        self.title_depth = 0
        self.title_is_main = False
        self.title_parts = []
        self.pending_name = None
        self.pending_long_name = None

    def _out(self, s):
        if self.books:
            self.books[-1][1].append(s)

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, dict(attrs), empty=True)

    def handle_starttag(self, tag, attrs):
        self._tag(tag, dict(attrs), empty=False)

    def _tag(self, tag, a, empty):
        if self.note_depth:
            if tag == "note" and not empty:
                self.note_depth += 1
            return
        kind = a.get("type", "")  # (HTMLParser lower-cases attribute names: sID -> sid)
        if tag == "note" and not empty:
            self.note_depth = 1
        elif tag == "milestone" and kind == "x-usfm-h":
            self.pending_name = a.get("n")
            if self.books and not "".join(self.books[-1][1]).strip():
                self.books[-1][0] = self.pending_name
        elif tag == "milestone" and kind == "x-usfm-toc1":
            self.pending_long_name = a.get("n")
        elif tag == "div" and kind in ("book", "front", "glossary") and "sid" in a:
            osis_id = a.get("osisid") or kind
            self.books.append([OSIS_BOOK_NAMES.get(osis_id, osis_id), [], kind == "book", osis_id])
        elif tag == "div" and kind in ("x-p", "introduction") and "sid" in a:
            self._out("\n\n")
        elif tag == "chapter" and "sid" in a:
            # the chapter's book decides: a book whose opening div was lost starts here
            osis_id = (a.get("osisid") or a.get("sid") or "").split(".")[0]
            if osis_id and (not self.books or self.books[-1][3] != osis_id):
                self.books.append([OSIS_BOOK_NAMES.get(osis_id, osis_id), [], True, osis_id])
            self._out("\n\n")
        elif tag == "milestone" and kind == "x-chapterLabel":
            self._out(f"\n\n{a.get('n', '')}\n\n")
        elif tag == "lb":
            self._out("\n\n")
        elif tag == "lg":
            self._out("\n\n")
        elif tag == "l" and "eid" in a:
            self._out("\n")
        elif tag in ("item", "speaker"):
            self._out("\n")
        elif tag == "title" and not empty:
            self.title_depth = 1
            self.title_is_main = kind == "main"
            self.title_parts = []

    def handle_endtag(self, tag):
        if self.note_depth:
            if tag == "note":
                self.note_depth -= 1
                if self.note_depth == 0:
                    self._out(NOTE_GAP)
            return
        if tag == "title" and self.title_depth:
            self.title_depth = 0
            text = _collapse("".join(self.title_parts))
            if not self.title_is_main and text:
                self._out(f"\n\n{text}\n\n")
        elif tag == "speaker":
            self._out("\n")

    def handle_data(self, data):
        if self.note_depth:
            return
        if self.title_depth:
            self.title_parts.append(data)
            return
        self._out(data)


def _collapse(s):
    return re.sub(r"\s+", " ", s).strip()


def _tidy(text):
    text = re.sub(NOTE_GAP + r"+(?=[\s,.;:!?\u201d\u2019)\]]|$)", "", text)
    text = re.sub(r"(?<=\s)" + NOTE_GAP + "+", "", text)
    text = re.sub(NOTE_GAP + "+", " ", text)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def books(module_dir: str):
    """Yields (short name, long name, text) for each canonical book of the module, in order.

    Front matter (the edition's preface) and the glossary are left out."""
    parser = _OsisToText()
    long_names = {}
    for testament in ("ot", "nt"):
        for entry in read_entries(module_dir, testament):
            before = len(parser.books)
            parser.feed(entry + " ")
            if len(parser.books) != before:
                parser.pending_long_name = None
            if parser.books and parser.pending_long_name:
                long_names[len(parser.books) - 1] = parser.pending_long_name
    parser.close()
    for i, (name, pieces, is_book, _) in enumerate(parser.books):
        text = _tidy("".join(pieces))
        if text and is_book:
            yield name, long_names.get(i, name), text
