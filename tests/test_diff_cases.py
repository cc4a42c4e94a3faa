"""Proof on real data (../shared): key sentences found, cosmetic pairs silent, OTA selectors honoured.

The manifests say what really changed; nothing here is tuned to a particular file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import shared_dir

from tracker.compare.diff import diff_clauses
from tracker.text.html import extract_html
from tracker.text.markdown import extract_markdown
from tracker.text.normalise import normalise
from tracker.text.select import SelectorMatchedNothing

KEPT_FLOOR = 95.0  # % of OTA's sentences found in our extraction of the same snapshot
POOR_REFERENCE = ("zoom-privacy",)  # manifest: OTA's Markdown of that era kept script text


def _cases():
    path = shared_dir() / "corpus" / "cases"
    return path, json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _html():
    path = shared_dir() / "corpus" / "html"
    return path, json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _in_change(sentence: str, changes, kinds, side: str) -> bool:
    key = normalise(sentence)
    return any(c.kind in kinds and getattr(c, side) and key in normalise(getattr(c, side)) for c in changes)


def test_cases_key_sentences_reported_and_cosmetic_pairs_silent():
    root, manifest = _cases()
    failures = []
    for case in manifest:
        d = root / case["id"]
        old = extract_markdown((d / "before.md").read_text(encoding="utf-8"))
        new = extract_markdown((d / "after.md").read_text(encoding="utf-8"))
        r = diff_clauses(old.clauses, new.clauses)
        sig = r.significant
        if case.get("cosmetic_only"):
            if sig:
                failures.append(f"{case['id']}: {len(sig)} significant change(s) in a cosmetic-only pair")
            continue
        for s in case["key_added"]:
            if not _in_change(s, sig, ("added", "modified"), "new"):
                failures.append(f"{case['id']}: added sentence not reported: {s[:80]}")
        for s in case["key_removed"]:
            if not _in_change(s, sig, ("removed", "modified"), "old"):
                failures.append(f"{case['id']}: removed sentence not reported: {s[:80]}")
        # noise stays proportionate: far fewer significant changes than changed paragraphs
        assert len(sig) <= max(5, case.get("changed_paragraphs", 0)), case["id"]
    assert not failures, "\n".join(failures)


def test_x_rename_is_one_substitution():
    root, manifest = _cases()
    d = root / "x-privacy-2023-09"
    r = diff_clauses(extract_markdown((d / "before.md").read_text(encoding="utf-8")).clauses,
                     extract_markdown((d / "after.md").read_text(encoding="utf-8")).clauses)
    assert ("Twitter", "X") in [(s.old, s.new) for s in r.substitutions]
    assert any(c.reason == "substitution" for c in r.changes)


# --------------------------------------------------------------------------- HTML snapshots


def _declarations(folder: Path, date: str, doctype: str) -> list[dict]:
    """Candidate OTA declarations for a snapshot, the one in force first: dated files on or before
    the date, then the history entry valid at that date, then later dated files and the current one."""

    def entry(data: dict) -> dict | None:
        return (data.get("documents") or data.get("terms") or {}).get(doctype)

    dated = sorted((p.stem[len("declaration-"):], p) for p in folder.glob("declaration-*.json")
                   if re.fullmatch(r"declaration-\d{4}-\d\d-\d\d\.json", p.name))
    out = [entry(json.loads(p.read_text())) for d, p in reversed(dated) if d <= date]
    hist = folder / "declaration.history.json"
    if hist.exists():
        entries = json.loads(hist.read_text()).get(doctype) or []
        out += sorted((e for e in entries if e.get("validUntil", "")[:10] > date), key=lambda e: e["validUntil"])
    out += [entry(json.loads(p.read_text())) for d, p in dated if d > date]
    out.append(entry(json.loads((folder / "declaration.json").read_text())))
    return [e for e in out if e]


def extract_snapshot(root: Path, folder: str, file: str, doctype: str):
    """Extract with the first declaration whose selectors match (None: none matched)."""
    raw = (root / file).read_bytes()
    date = Path(file).stem
    for decl in _declarations(root / folder, date, doctype):
        try:
            return extract_html(raw, select=decl.get("select") or (), remove=decl.get("remove") or ())
        except SelectorMatchedNothing:
            continue
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 3]


def _squash(s: str) -> str:
    return re.sub(r"[\s*_|#]+", " ", s).strip()


def test_ota_selectors_keep_every_sentence_of_ota_markdown():
    root, manifest = _html()
    report = []
    for doc in manifest["documents"]:
        if doc["folder"] in POOR_REFERENCE:
            continue
        for f in doc["files"]:
            if f["kind"] != "snapshot":
                continue
            md = root / doc["folder"] / f"ota-{Path(f['file']).stem}.md"
            if not md.exists():
                continue
            ota = extract_markdown(md.read_text(encoding="utf-8"))
            sents = [_squash(normalise(s)) for c in ota.clauses for s in _sentences(c.norm)]
            raw = (root / f["file"]).read_bytes()
            best = None  # which declaration OTA applied that day is not recorded: the best that matches
            for decl in _declarations(root / doc["folder"], Path(f["file"]).stem, doc["document_type"]):
                try:
                    ex = extract_html(raw, select=decl.get("select") or (), remove=decl.get("remove") or ())
                except SelectorMatchedNothing:
                    continue
                hay = _squash(" ".join(c.norm for c in ex.clauses))
                pct = 100.0 * sum(s in hay for s in sents) / max(1, len(sents))
                best = pct if best is None else max(best, pct)
            if best is not None:  # None: e.g. a redirect page captured instead of the policy
                report.append((f["file"], best))
    assert len(report) >= 15
    low = [(f, round(p, 1)) for f, p in report if p < KEPT_FLOOR]
    mean = sum(p for _, p in report) / len(report)
    assert not low and mean >= 99.0, (low, mean)


NAV_NOISE = ("Accept all cookies", "Cookie settings", "Sign in", "Log in", "Skip to main content")


def test_ota_selectors_drop_navigation_and_cookie_text():
    root, manifest = _html()
    for doc in manifest["documents"]:
        for f in doc["files"]:
            if f["kind"] != "snapshot":
                continue
            ex = extract_snapshot(root, doc["folder"], f["file"], doc["document_type"])
            if ex is None:
                continue
            short = {c.text for c in ex.clauses if len(c.text) < 40}
            assert not short & set(NAV_NOISE), (f["file"], short & set(NAV_NOISE))


def _pair(folder: str, before: str, after: str, doctype: str = "Privacy Policy"):
    root, _ = _html()
    a = extract_snapshot(root, folder, f"{folder}/{before}.html", doctype)
    b = extract_snapshot(root, folder, f"{folder}/{after}.html", doctype)
    assert a is not None and b is not None
    return diff_clauses(a.clauses, b.clauses)


@pytest.mark.parametrize("folder,before,after,kinds,needle", [
    ("tinder-privacy", "2022-12-06", "2022-12-14", ("added", "modified"), "face geometry"),
    ("microsoft-privacy", "2025-07-15", "2025-09-03", ("added", "modified"), "biometric data"),
    ("bumble-privacy", "2024-02-16", "2024-02-17", ("added", "modified"), "machine learning"),
])
def test_html_pairs_report_the_expected_change(folder, before, after, kinds, needle):
    r = _pair(folder, before, after)
    hits = [c for c in r.significant if c.kind in kinds and needle in (c.new or "").casefold()
            and needle not in (c.old or "").casefold()]
    assert hits, [(c.kind, (c.new or c.old or "")[:80]) for c in r.significant]
    assert len(r.significant) <= 30


def test_html_no_change_control_is_silent():
    r = _pair("bumble-privacy", "2024-01-02", "2024-02-16")
    assert r.significant == [], [(c.kind, c.old, c.new) for c in r.significant]


def test_extraction_scope_decides_tiktok():
    """OTA's EEA-only range did not change; the diff must say so (no invented change)."""
    r = _pair("tiktok-privacy", "2020-12-10", "2020-12-14")
    assert r.significant == []
