"""`policy-tracker diff --files` through the real CLI (subprocess)."""

from __future__ import annotations

import json

from helpers import assert_one_line_error

OLD = "# Policy\n\n## Use\n\nWe use data to improve our services.\n\nLast updated: May 1, 2023\n"
NEW = ("# Policy\n\n## Use\n\nWe use data to train AI models.\n\nWe collect face geometry.\n\n"
       "Last updated: June 1, 2024\n")


def write(ws, name, text):
    p = ws.root / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_text_markers_without_terminal(ws):
    a, b = write(ws, "a.md", OLD), write(ws, "b.md", NEW)
    r = ws.run("diff", "--files", a, b)
    assert r.code == 0, r.err
    assert "[-improve our services-]{+train AI models+}" in r.out
    assert "{+We collect face geometry.+}" in r.out
    assert "Policy > Use" in r.out
    assert "Last updated" not in r.out  # metadata is insignificant by default
    assert "Last updated" in ws.run("diff", "--files", a, b, "--all").out
    assert "\x1b[" not in r.out


def test_json_and_html(ws):
    a, b = write(ws, "a.html", "<h1>P</h1><p>Old &lt;clause&gt; text here.</p>"), write(
        ws, "b.html", "<h1>P</h1><p>New <b>clause</b> text here.</p><p>x <script>alert(1)</script></p>")
    r = ws.run("diff", "--files", a, b, "--format", "json")
    assert r.code == 0, r.err
    d = r.json()
    assert {"changes", "stats"} <= set(d)
    for c in d["changes"]:
        assert {"kind", "section", "old", "new", "significant", "tags"} <= set(c)
    h = ws.run("diff", "--files", a, b, "--format", "html").out
    assert h.startswith("<!DOCTYPE html>") and "<script>" not in h and "&lt;" in h


def test_unchanged_exit_zero_and_unified(ws):
    a, b = write(ws, "a.txt", "Same text.\n"), write(ws, "b.txt", "Same text.\n")
    r = ws.run("diff", "--files", a, b, "--format", "unified")
    assert r.code == 0 and r.out.startswith("--- ")


def test_bad_input_one_line(ws):
    a = write(ws, "a.md", OLD)
    assert_one_line_error(ws.run("diff", "--files", a, str(ws.root / "missing.md")), "missing.md")
    bad = write(ws, "a.pdf", "x")
    assert_one_line_error(ws.run("diff", "--files", a, bad), "unknown file type")
    assert_one_line_error(ws.run("diff"), "SERVICE")
    r = ws.run("diff", "--files", a, a, "--format", "yaml")
    assert r.code == 2 and "Traceback" not in r.err


def test_tag_filter(ws):
    a, b = write(ws, "a.md", OLD), write(ws, "b.md", NEW)
    d = json.loads(ws.run("diff", "--files", a, b, "--format", "json", "--tag", "children").out)
    assert d["changes"] == []
    d = json.loads(ws.run("diff", "--files", a, b, "--format", "json", "--tag", "biometrics").out)
    assert [c["new"] for c in d["changes"]] == ["We collect face geometry."]
    # an unknown tag is a typo, not "0 significant changes"
    assert_one_line_error(ws.run("diff", "--files", a, b, "--tag", "no-such-tag"), "no-such-tag", "ai-training")
