"""What storing a first version costs: CPU and bytes per document, against the raw records.

N corpus pages (``bench/corpus.py``) are extracted once (untimed), then written as
``pipeline.commit_prepared`` writes a new document (savepoint, ``put_snapshot``, ``record_check``,
``add_version``, ``link_check_version``) in one transaction, into a fresh SQLite file. Then
``latest_version`` is read back for every document. Best of ``--reps``. The stored bytes are set against
the raw records (the text as UTF-8, the clauses as JSON of ``Clause.to_dict()``): the format-1 baseline this
script used to swap in can no longer be read back, since this release refuses format-1 clauses.

    .venv/bin/python bench/store_write.py [--n 200] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus  # noqa: E402

from tracker.models import Document, Extracted  # noqa: E402
from tracker.store.database import Store  # noqa: E402
from tracker.text.html import extract_html  # noqa: E402


def extract_all(n: int) -> tuple[list[Document], list[bytes], list[Extracted]]:
    docs, bodies, extracted = [], [], []
    for page in Corpus(n, 1).pages:
        doc = Document(service=f"Service {page.index}", type="Privacy Policy", url=f"http://127.0.0.1/{page.index}")
        ex = extract_html(page.body, base_url=doc.url)
        assert ex.clauses
        docs.append(doc)
        bodies.append(page.body)
        extracted.append(ex)
    return docs, bodies, extracted


def run_once(folder: Path, docs: list[Document], bodies: list[bytes], extracted: list[Extracted]) -> dict:
    db = folder / "t.db"
    with Store(db) as store:
        rows = store.ensure_documents(docs)
        texts = [e.text for e in extracted]  # the pipeline renders it before add_version too
        t0 = time.perf_counter()
        with store.transaction():
            for doc, body, ex, text in zip(docs, bodies, extracted, texts, strict=True):
                row = rows[doc.key]
                with store.savepoint():
                    snap = store.put_snapshot(body, "text/html")
                    check_id = store.record_check(row.id, state="new", http_status=200, nbytes=len(body))
                    v = store.add_version(row.id, text=text, clauses=ex.clauses, check_id=check_id,
                                          snapshot_sha256=snap)
                    store.link_check_version(check_id, v.id)
        write = time.perf_counter() - t0
        t0 = time.perf_counter()
        read = [store.latest_version(rows[d.key].id) for d in docs]
        read_s = time.perf_counter() - t0
        assert all(v is not None and v.text == t for v, t in zip(read, texts, strict=True))
        version_bytes = store.conn.execute(
            "SELECT SUM(length(CAST(text AS BLOB))), SUM(length(clauses)) FROM versions").fetchone()
    size = db.stat().st_size
    db.unlink()
    return {"write_s": write, "read_s": read_s, "db_bytes": size,
            "text_bytes": version_bytes[0], "clauses_bytes": version_bytes[1]}


def measure(reps: int, *data) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_once(Path(tmp), *data) for _ in range(reps)]
    return {k: min(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    data = extract_all(args.n)
    clauses = sum(len(e.clauses) for e in data[2])
    print(f"{args.n} documents, {clauses / args.n:.0f} clauses and {sum(map(len, data[1])) / args.n / 1e3:.1f} KB "
          f"of HTML each; best of {args.reps}")
    new = measure(args.reps, *data)
    raw_text = sum(len(e.text.encode()) for e in data[2])
    raw_clauses = sum(len(json.dumps([c.to_dict() for c in e.clauses])) for e in data[2])
    per_doc = 1e3 * args.n
    print(f"write {new['write_s']:.3f} s, latest_version x N {new['read_s']:.3f} s, "
          f"db file {new['db_bytes'] / per_doc:.1f} KB/doc")
    print(f"versions.text {new['text_bytes'] / per_doc:.2f} KB/doc ({new['text_bytes'] / raw_text:.2f}x the UTF-8 text), "
          f"clauses {new['clauses_bytes'] / per_doc:.2f} KB/doc ({new['clauses_bytes'] / raw_clauses:.2f}x their JSON)")

if __name__ == "__main__":
    main()
