"""Minimal reader for R's serialization format (XDR, versions 2 and 3).

Reads what R packages use for lazy-loaded data: the `.rdx` index and the
`.rdb` database of zlib-compressed serialized objects. Supports the object
kinds that character data needs (NULL, symbols, pairlists, character,
logical, integer, real and generic vectors, references, ALTREP compact
sequences and wrappers). Anything else raises `RDataError` naming the kind.
"""
from __future__ import annotations

import gzip
import struct
import zlib

NILVALUE_SXP = 254
GLOBALENV_SXP = 253
EMPTYENV_SXP = 242
BASEENV_SXP = 241
BASENAMESPACE_SXP = 247
MISSINGARG_SXP = 251
UNBOUNDVALUE_SXP = 252
REFSXP = 255
ALTREP_SXP = 238
ATTRLISTSXP = 239
ATTRLANGSXP = 240

SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, VECSXP = 9, 10, 13, 14, 15, 16, 19
NA_INTEGER = -2147483648


class RDataError(Exception):
    pass


class RObject:
    """An R value: `kind` (SEXP type), `value` (Python data), `attributes` (dict)."""

    def __init__(self, kind, value, attributes=None):
        self.kind = kind
        self.value = value
        self.attributes = attributes or {}

    def __repr__(self):
        return f"RObject(kind={self.kind}, len={len(self.value) if hasattr(self.value, '__len__') else '-'})"


class _Unserializer:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.refs = []

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise RDataError(f"truncated R data at byte {self.pos} (need {n} more bytes)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def header(self):
        fmt = self._take(2)
        if fmt != b"X\n":
            raise RDataError(f"only XDR serialization is supported, found format {fmt!r}")
        version = self.int()
        self.int()  # writer R version
        self.int()  # minimal reader version
        if version == 3:
            n = self.int()
            self._take(n)  # native encoding name
        elif version != 2:
            raise RDataError(f"unsupported serialization version {version}")

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if kind == NILVALUE_SXP:
            return None
        if kind in (GLOBALENV_SXP, EMPTYENV_SXP, BASEENV_SXP, BASENAMESPACE_SXP,
                    MISSINGARG_SXP, UNBOUNDVALUE_SXP):
            return RObject(kind, None)
        if kind == REFSXP:
            index = flags >> 8
            if index == 0:
                index = self.int()
            if index < 1 or index > len(self.refs):
                raise RDataError(f"bad reference index {index}")
            return self.refs[index - 1]
        if kind == SYMSXP:
            name = self.item()
            sym = RObject(SYMSXP, name.value if isinstance(name, RObject) else name)
            self.refs.append(sym)
            return sym
        if kind in (LISTSXP, LANGSXP, ATTRLISTSXP, ATTRLANGSXP):
            items = []
            attrs = None
            # iterate along the pairlist without recursion on CDR
            while True:
                if has_attr:
                    attrs = self.item()
                tag = self.item() if has_tag else None
                car = self.item()
                items.append((tag.value if isinstance(tag, RObject) else None, car))
                nflags = self.int()
                nkind = nflags & 0xFF
                if nkind == NILVALUE_SXP:
                    break
                if nkind not in (LISTSXP, LANGSXP, ATTRLISTSXP, ATTRLANGSXP):
                    self.pos -= 4
                    items.append((None, self.item()))
                    break
                has_attr = bool(nflags & (1 << 9))
                has_tag = bool(nflags & (1 << 10))
            return RObject(LISTSXP, items, self._attr_dict(attrs))
        if kind == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            return self._take(n).decode("utf-8", errors="replace")
        if kind in (LGLSXP, INTSXP):
            n = self._length()
            values = list(struct.unpack(f">{n}i", self._take(4 * n)))
            return RObject(kind, values, self._attrs(has_attr))
        if kind == REALSXP:
            n = self._length()
            values = list(struct.unpack(f">{n}d", self._take(8 * n)))
            return RObject(kind, values, self._attrs(has_attr))
        if kind == STRSXP:
            n = self._length()
            values = []
            for _ in range(n):
                values.append(self.item())
            return RObject(kind, values, self._attrs(has_attr))
        if kind == VECSXP:
            n = self._length()
            values = [self.item() for _ in range(n)]
            return RObject(kind, values, self._attrs(has_attr))
        if kind == ALTREP_SXP:
            info = self.item()
            state = self.item()
            attrs = self.item()
            cls = info.value[0][1].value if isinstance(info, RObject) else None
            if cls == "compact_intseq":
                n, start, step = (int(v) for v in state.value)
                return RObject(INTSXP, [start + i * step for i in range(n)], self._attr_dict(attrs))
            if cls == "compact_realseq":
                n, start, step = state.value
                return RObject(REALSXP, [start + i * step for i in range(int(n))], self._attr_dict(attrs))
            if cls in ("wrap_integer", "wrap_real", "wrap_string", "wrap_logical"):
                inner = state.value[0][1] if state.kind == LISTSXP else state
                return RObject(inner.kind, inner.value, self._attr_dict(attrs))
            raise RDataError(f"unsupported ALTREP class {cls!r}")
        raise RDataError(f"unsupported R object kind {kind} at byte {self.pos - 4}")

    def _length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        if n < 0:
            raise RDataError(f"negative vector length {n}")
        return n

    def _attrs(self, has_attr):
        return self._attr_dict(self.item()) if has_attr else {}

    @staticmethod
    def _attr_dict(attrs):
        if not isinstance(attrs, RObject) or attrs.kind != LISTSXP:
            return {}
        return {tag: value for tag, value in attrs.value if tag is not None}


def unserialize(data: bytes):
    u = _Unserializer(data)
    u.header()
    return u.item()


def read_lazyload_db(rdx_path: str, rdb_path: str) -> dict:
    """Returns {variable name: RObject} for every variable in an R lazy-load database."""
    with open(rdx_path, "rb") as f:
        raw = f.read()
    index_data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else _decompress_entry(raw)
    index = unserialize(index_data)
    variables = _named_list(index)["variables"]
    with open(rdb_path, "rb") as f:
        db = f.read()
    result = {}
    for name, where in _named_list(variables).items():
        offset, length = (int(v) for v in where.value)
        result[name] = unserialize(_decompress_entry(db[offset:offset + length]))
    return result


def _named_list(obj: RObject) -> dict:
    names = obj.attributes.get("names")
    if names is None:
        raise RDataError("expected a named list")
    return dict(zip(names.value, obj.value))


def _decompress_entry(chunk: bytes) -> bytes:
    if len(chunk) < 5:
        raise RDataError("lazy-load entry too short")
    expected = struct.unpack(">I", chunk[:4])[0]
    body = chunk[4:]
    if body[:1] in (b"Z", b"2", b"X", b"0"):
        method, body = body[:1], body[1:]
        if method == b"0":
            out = body
        elif method == b"Z":
            out = zlib.decompress(body)
        elif method == b"2":
            import bz2
            out = bz2.decompress(body)
        else:
            import lzma
            out = lzma.decompress(body)
    else:
        out = zlib.decompress(body)
    if len(out) != expected:
        raise RDataError(f"lazy-load entry decompressed to {len(out)} bytes, expected {expected}")
    return out
