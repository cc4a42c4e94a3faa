"""Are the AI-training and biometrics alerts of an imported real history true? (issue 15)

Imports the development archive (Open Terms Archive's contrib versions, ``../shared/history/
contrib-dev.bundle``, cloned into a temporary folder) with ``import-versions``' own code into a fresh
database, then counts, mechanically, what must be 0:

- rows contradicted by the stored texts: a priority-tag report row saying "added" for a key sentence
  already in the old version, or "removed" for one still in the new version;
- priority-tag rows at technical commits ("Apply technical or declaration upgrade", "Refilter");
- priority-tag rows at returns to an earlier text (a version whose text equals an earlier one's);
- frozen documents: the file still exists at HEAD but the last stored version is far from it (under
  80% of either's wording in the other) and no note says why (a held capture is listed apart);
- failed commits.

It also writes every ai-training and biometrics row, with its provenance (service, document, commit,
versions) and these flags, to a JSON Lines file for judging by hand (real change? on topic?). The
rows quote real policy text: they go to ``bench/out/`` (git-ignored), not into the repository.

    python bench/history_truth.py [--bundle ../shared/history/contrib-dev.bundle] [--repo CLONE]
                                  [--db FILE (reused when it exists)] [--rows FILE] [--json]
                                  [--only LIST (one "Service/Type.md" a line: import only these)]

``--only`` is for a machine too loaded for the whole archive (~30 min unloaded, hours on 2 shared
cores): the rows and the contradicted/technical/return counts concern priority-tag alerts, which
come only from documents that speak of the topics, so a list of those documents measures them; the
frozen-document and failed-commit counts then cover the listed documents only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, ROOT, dump_json, note, table  # noqa: E402

sys.path.insert(0, str(ROOT))

from tracker.compare.artefacts import kept_share, shingles  # noqa: E402
from tracker.models import Document  # noqa: E402
from tracker.page import Capture, read_page  # noqa: E402
from tracker.publish.report import build_rows  # noqa: E402
from tracker.sources.ota_versions import TECHNICAL_SUBJECTS, ImportSummary, import_versions  # noqa: E402
from tracker.store.database import Store  # noqa: E402

PRIORITY = ("ai-training", "biometrics")
NEAR = 0.8  # share of wording both ways for the last stored version to be "the file at HEAD"
BUNDLE = ROOT.parent / "shared" / "history" / "contrib-dev.bundle"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "core.quotePath=false", *args], capture_output=True,
                          check=True).stdout.decode("utf-8", "replace")


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[*_`#>\[\]]", " ", s).casefold().split())


def _sentence(text: str) -> str:
    """The key sentence as it can be searched for in a version's text (without an ellipsis cut)."""
    return _norm(text.split("…")[0])


def measure(store: Store, repo: Path) -> tuple[dict, list[dict]]:
    subjects = {}
    for line in _git(repo, "log", "--format=%H%x1f%s").splitlines():
        sha, _, subject = line.partition("\x1f")
        subjects[sha] = subject
    versions: dict[int, dict[int, tuple[str, str, str | None]]] = {}  # doc -> number -> (sha, text, commit)

    def version(doc_id: int, number: int) -> tuple[str, str, str | None]:
        if doc_id not in versions:
            versions[doc_id] = {}
            for n, sha, ref in store.conn.execute(
                    "SELECT number, sha256, source_ref FROM versions WHERE document_id=?", (doc_id,)):
                versions[doc_id][n] = (sha, "", ref)
        sha, text, ref = versions[doc_id][number]
        if not text:
            v = store.version_by_number(doc_id, number)
            assert v is not None
            text = _norm(v.text)
            versions[doc_id][number] = (sha, text, ref)
        return sha, text, ref

    rows_out: list[dict] = []
    counts = {"rows": 0, "contradicted": 0, "technical": 0, "returns": 0}
    per_tag = {}
    for tag in PRIORITY:
        records = store.changes(tag=tag)
        rows = build_rows(records, tag=tag)
        per_tag[tag] = len(rows)
        by_id = {r.id: r for r in records}
        for row in rows:
            rec = by_id[row.change_id]
            old_sha, old_text, _ = version(rec.document_id, row.from_version)
            new_sha, new_text, ref = version(rec.document_id, row.to_version)
            sentence = _sentence(row.text)
            contradicted = bool(sentence) and (
                (row.direction == "added" and sentence in old_text)
                or (row.direction == "removed" and sentence in new_text))
            technical = bool(ref) and subjects.get(ref or "", "").startswith(TECHNICAL_SUBJECTS)
            earlier = [n for n, (sha, _, _) in versions[rec.document_id].items()
                       if n < row.to_version and sha == new_sha]
            counts["rows"] += 1
            counts["contradicted"] += contradicted
            counts["technical"] += technical
            counts["returns"] += bool(earlier)
            rows_out.append({
                **row.to_dict(), "commit": ref, "subject": subjects.get(ref or "", ""),
                "contradicted": contradicted, "technical_commit": technical, "return_to": min(earlier, default=None),
                "judged": {"real_change": None, "on_topic": None, "note": ""},
                "provenance": "Open Terms Archive contrib-versions (ODC-BY 1.0)"})
    counts["rows_per_tag"] = per_tag
    return counts, rows_out


def frozen(store: Store, repo: Path) -> tuple[list[str], list[str], list[str]]:
    """Documents whose last stored version is far from the file at HEAD: (silent, held, refused at HEAD)."""
    silent, held, refused = [], [], []
    noted = {(n.service, n.type) for n in store.capture_notes(open_only=True)}
    for path in _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
        if path.count("/") != 1 or not path.endswith(".md") or path.startswith("."):
            continue
        service, type_ = path[:-3].split("/", 1)
        row = store.document(service, type_)
        head = store.latest_head(row.id) if row else None
        if row is None or head is None:
            continue
        doc = Document(service=service, type=type_, url=path)
        body = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True).stdout
        page = read_page(doc, Capture(url=path, body=body, content_type="text/markdown", origin="import"))
        if page.packed is None:
            refused.append(f"{path[:-3]} ({page.reason})")
            continue
        if page.packed.sha256 == head.sha256:
            continue
        a, b = shingles(store.version_clauses(head.id)), shingles(page.clauses)
        if kept_share(a, b) >= NEAR and kept_share(b, a) >= NEAR:
            continue
        (held if (service, type_) in noted else silent).append(path[:-3])
    return silent, held, refused


def _import_only(store: Store, repo: Path, listing: Path) -> ImportSummary:
    """Import the listed documents' histories one by one, summed into one summary."""
    total = ImportSummary()
    for line in listing.read_text(encoding="utf-8").splitlines():
        if not line.strip().endswith(".md"):
            continue
        service, type_ = line.strip()[:-3].split("/", 1)
        part = import_versions(store, repo, service=service, type_=type_)
        for f in fields(ImportSummary):
            value = getattr(part, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(total, f.name, getattr(total, f.name) + value)
        for kind, n in part.captures.items():
            total.captures[kind] = total.captures.get(kind, 0) + n
        total.failures.update(part.failures)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=BUNDLE)
    ap.add_argument("--repo", type=Path, help="an existing clone of the archive (instead of cloning the bundle)")
    ap.add_argument("--db", type=Path, help="database to import into (reused as it is when it exists)")
    ap.add_argument("--rows", type=Path, default=OUT / "history_rows.jsonl")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", type=Path, help='import only these documents ("Service/Type.md" a line)')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-truth-") as tmp:
        repo = args.repo
        if repo is None:
            if not args.bundle.exists():
                sys.exit(f"{args.bundle}: no such bundle (the development archive lives in ../shared)")
            repo = Path(tmp) / "archive"
            note(f"cloning {args.bundle}")
            subprocess.run(["git", "clone", "-q", str(args.bundle), str(repo)], check=True)
        db = args.db or Path(tmp) / "history.db"
        summary = None
        started = time.monotonic()
        with Store(db) as store:
            if store.latest_recorded_at(1) is None:
                note(f"importing {repo} into {db}")
                if args.only:
                    summary = _import_only(store, repo, args.only)
                else:
                    summary = import_versions(store, repo)
            seconds = time.monotonic() - started
            counts, rows = measure(store, repo)
            silent, held, refused = frozen(store, repo)
            failed_open = sum(1 for n in store.capture_notes(open_only=True) if n.kind == "failed-commit")
            kinds: dict[str, int] = {}
            for n in store.capture_notes():
                kinds[n.kind] = kinds.get(n.kind, 0) + 1
    args.rows.parent.mkdir(parents=True, exist_ok=True)
    with args.rows.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    result = {
        "import_seconds": round(seconds, 1), "import": summary.line() if summary else "(reused database)",
        "rows": counts["rows"], "rows_per_tag": counts["rows_per_tag"],
        "contradicted_rows": counts["contradicted"], "rows_at_technical_commits": counts["technical"],
        "rows_at_returns": counts["returns"], "frozen_documents": len(silent), "frozen": silent,
        "held_at_head": held, "refused_at_head": len(refused),
        "failed_commits": (summary.failed if summary else 0) + (0 if summary else failed_open),
        "capture_notes": kinds, "rows_file": str(args.rows),
    }
    if args.json:
        print(dump_json(result))
        return
    print(result["import"])
    print(table(["measure (must be 0)", "value"], [
        ["priority-tag rows contradicted by the stored texts", counts["contradicted"]],
        ["priority-tag rows at technical commits", counts["technical"]],
        ["priority-tag rows at returns to an earlier text", counts["returns"]],
        ["frozen documents (far from HEAD, no note)", len(silent)],
        ["failed commits", result["failed_commits"]],
    ]))
    print(table(["other figures", "value"], [
        ["ai-training / biometrics rows", f"{counts['rows_per_tag']['ai-training']} / "
                                          f"{counts['rows_per_tag']['biometrics']}"],
        ["documents held at HEAD (suspect capture, noted)", len(held)],
        ["documents whose HEAD file is refused (bot wall, empty...)", len(refused)],
        ["capture notes", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))],
        ["import (s)", result["import_seconds"]],
    ]))
    for name in silent:
        print(f"frozen: {name}")
    print(f"rows for judging: {args.rows}")


if __name__ == "__main__":
    main()
