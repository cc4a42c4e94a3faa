"""Open Terms Archive declarations -> TOML declarations that select the same text from real pages.

The reference is OTA's own JSON read directly here (select/remove of the term, or of its first combined
page), applied to the stored snapshot; the converted declaration goes through a TOML file and back.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.sources.declaration_edit import render_declaration
from tracker.sources.declarations import document_at, load_file
from tracker.sources.ota_declarations import convert_declaration, find_declaration_files, read_declaration

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
HTML = SHARED / "corpus" / "html"


def corpus() -> list[dict]:
    if not (HTML / "manifest.json").is_file():
        pytest.skip("../shared not present")
    return json.loads((HTML / "manifest.json").read_text())["documents"]


def ota_spec(decl: dict, dtype: str) -> dict | None:
    """OTA's select/remove for a type, straight from the JSON (first page of a combine)."""
    spec = (decl.get("terms") or decl.get("documents") or {}).get(dtype)
    if spec is None:
        return None
    if "combine" in spec:
        spec = {**spec, **spec["combine"][0]}
    return spec


def _utc(text: str) -> datetime:
    d = datetime.fromisoformat(text)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def ota_in_force(history: dict, dtype: str, current: dict, when: str) -> dict:
    for entry in sorted(history.get(dtype, []), key=lambda e: _utc(e["validUntil"])):
        if _utc(when) < _utc(entry["validUntil"]):
            return {**entry, **entry["combine"][0]} if "combine" in entry else entry
    return current


def extract(html: bytes, select, remove) -> str | None:
    from tracker.text.html import extract_html
    from tracker.text.select import SelectorMatchedNothing

    try:
        return extract_html(html, select, remove).text
    except SelectorMatchedNothing:
        return None


def round_trip(conv, tmp_path: Path):
    path = tmp_path / "service.toml"
    path.write_text(render_declaration(conv.service, conv.documents, header="test", notes=conv.notes))
    return {d.type: d for d in load_file(path)}


def cases():
    out = []
    for doc in corpus():
        folder = HTML / doc["folder"]
        decls, _ = find_declaration_files(folder)
        snaps = [f["file"] for f in doc["files"] if f["kind"] == "snapshot"]
        for decl in decls:
            m = re.search(r"declaration-(\d{4}-\d{2}-\d{2})\.json$", decl.name)
            for snap in snaps:
                date = Path(snap).stem
                # a dated declaration only for snapshots at or after its date; undated ones via history
                if m and m.group(1) > date:
                    continue
                out.append(pytest.param(doc["document_type"], decl, HTML / snap,
                                        id=f"{decl.parent.name}/{decl.stem}@{date}"))
    return out


@pytest.mark.parametrize(("dtype", "decl_path", "snapshot"), cases() if HTML.is_dir() else [])
def test_converted_selectors_extract_what_ota_selected(dtype, decl_path, snapshot, tmp_path):
    pytest.importorskip("tracker.text.html")
    conv = read_declaration(decl_path, types=[dtype])
    docs = round_trip(conv, tmp_path)
    raw = json.loads(decl_path.read_text())
    current = ota_spec(raw, dtype)
    assert (current is None) == (dtype not in docs)
    if current is None:
        pytest.skip(f"{decl_path.name} does not declare {dtype}")
    hist_path = decl_path.with_name(decl_path.name[:-5] + ".history.json")
    history = json.loads(hist_path.read_text()) if hist_path.is_file() else {}
    when = snapshot.stem + "T12:00:00Z"
    ota = ota_in_force(history, dtype, current, when)
    ours = document_at(docs[dtype], when)
    assert ours.url == ota["fetch"]
    html = snapshot.read_bytes()
    expected = extract(html, ota.get("select", ()), ota.get("remove", ()))
    got = extract(html, ours.select, ours.remove)
    assert got == expected


def test_some_comparisons_select_real_text(tmp_path):
    """Guard against a vacuous test: in-force selectors do match text on most snapshots."""
    pytest.importorskip("tracker.text.html")
    corpus()
    matched = 0
    for doc in corpus():
        decl = HTML / doc["folder"] / "declaration.json"
        conv = read_declaration(decl, types=[doc["document_type"]])
        d = round_trip(conv, tmp_path)[doc["document_type"]]
        for f in doc["files"]:
            if f["kind"] == "snapshot":
                ours = document_at(d, Path(f["file"]).stem)
                text = extract((HTML / f["file"]).read_bytes(), ours.select, ours.remove)
                matched += bool(text and len(text) > 2000)
    assert matched >= 8


def test_every_corpus_declaration_converts_to_valid_toml(tmp_path):
    n = 0
    for doc in corpus():
        decls, _ = find_declaration_files(HTML / doc["folder"])
        for decl in decls:
            conv = read_declaration(decl)
            assert conv.documents and not conv.skipped, (decl, conv.skipped)
            docs = round_trip(conv, tmp_path)
            fields = [(d.type, d.url, d.select, d.remove, d.history, d.browser) for d in conv.documents]
            assert [(d.type, d.url, d.select, d.remove, d.history, d.browser) for d in docs.values()] == fields
            n += 1
    assert n >= 30


def test_losses_are_reported_not_dropped():
    corpus()
    x = read_declaration(HTML / "x-privacy" / "declaration.json", types=["Privacy Policy", "Terms of Service"])
    assert [d.type for d in x.documents] == ["Terms of Service", "Privacy Policy", "Privacy Policy (part 2)"]
    assert any("combine" in w for w in x.notes["Privacy Policy"])
    zoom = read_declaration(HTML / "zoom-privacy" / "declaration.json")
    tos = " ".join(zoom.notes["Terms of Service"])
    assert "removeAmpDeviceId" in tos and "executeClientScripts" not in tos  # now carried over
    assert next(d for d in zoom.documents if d.type == "Terms of Service").browser
    amazon = read_declaration(HTML / "amazon-privacy" / "declaration.json", types=["privacy policy"])
    (pp,) = amazon.documents
    assert dict(pp.select[0]) == {"startBefore": "h1", "endBefore": "#hmd-FeedbackBox"}
    assert pp.history and pp.history[0].select == (".cs-help-content",)


# ----------------------------------------------------------------------------- pure conversion


def test_old_documents_key_filters_and_combine_parts():
    conv = convert_declaration({"name": "S", "documents": {
        "Privacy Policy": {"fetch": "https://s.example/p", "select": ".a", "filter": ["fixLinks"]},
        "Terms of Service": {"select": ["main"], "combine": [
            {"fetch": "https://s.example/t1"}, {"fetch": "https://s.example/t2", "select": "article"}]},
        "Cookies": {"fetch": "not a url"},
    }}, "s.json")
    got = {d.type: (d.url, d.select) for d in conv.documents}
    assert got == {"Privacy Policy": ("https://s.example/p", (".a",)),
                   "Terms of Service": ("https://s.example/t1", ("main",)),
                   "Terms of Service (part 2)": ("https://s.example/t2", ("article",))}
    assert any("fixLinks" in w for w in conv.warnings)
    assert conv.skipped and conv.skipped[0].startswith("Cookies: fetch:")


def test_history_entries_become_dated_selectors_and_bad_ones_are_reported():
    conv = convert_declaration(
        {"name": "S", "terms": {"Privacy Policy": {"fetch": "https://s.example/p", "select": "main"}}},
        "s.json",
        {"Privacy Policy": [{"fetch": "https://old.example/p", "select": ".old",
                             "validUntil": "2021-03-01T00:00:00.000Z"},
                            {"fetch": "https://old.example/p", "select": "[[bad"}],
         "Gone": [{"fetch": "https://s.example/g", "validUntil": "2020-01-01"}]})
    (doc,) = conv.documents
    assert [(p.until, p.url, p.select) for p in doc.history] == [
        ("2021-03-01T00:00:00Z", "https://old.example/p", (".old",))]
    assert document_at(doc, "2021-02-01").select == (".old",)
    assert document_at(doc, "2021-04-01").select == ("main",)
    assert any("history entry 2 skipped" in w for w in conv.warnings)
    assert any(w.startswith("Gone: history ignored") for w in conv.warnings)


def test_not_a_declaration_is_a_value_error():
    for bad in ({}, {"name": "S"}, [], {"name": "a/b", "terms": {}}):
        with pytest.raises(ValueError):
            convert_declaration(bad, "x.json")
