"""The README's first command: `policy-tracker demo` tells the whole story offline."""

from __future__ import annotations

import feedparser


def test_demo_runs_the_whole_story(ws) -> None:
    folder = ws.root / "demo"
    r = ws.run("demo", "--dir", str(folder))
    assert r.code == 0, r.err
    assert "changed -> v2" in r.out + r.err and "ALERT" in r.out + r.err
    assert "Biometric information" in r.out and "{+We may use the information we collect" in r.out
    assert "[-delete-]{+deactivate+}" in r.out  # the reworded clause, word by word
    assert "Last updated" not in r.out  # the date change is not reported
    for name in ("index.html", "all.atom", "all.rss", "tags/ai-training.atom", "tags/biometrics.atom",
                 "changes/chirpline-privacy-policy-v2.html"):
        assert (folder / "feeds" / name).is_file(), name
    feed = feedparser.parse((folder / "feeds" / "tags" / "ai-training.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == 1
    assert "AI training" in feed.entries[0].title and "Biometrics" in feed.entries[0].title
    # the folder is a normal workspace: every other command works on it
    h = ws.run("--db", str(folder / "tracker.db"), "--policies", str(folder / "policies"), "history",
               "Chirpline", "--json")
    assert [v["version"] for v in h.json()] == [2, 1]
    # running it again in the same folder starts over instead of mixing runs
    r = ws.run("demo", "--dir", str(folder))
    assert r.code == 0, r.err
    h = ws.run("--db", str(folder / "tracker.db"), "--policies", str(folder / "policies"), "history",
               "Chirpline", "--json")
    assert [v["version"] for v in h.json()] == [2, 1]


def test_demo_refuses_a_folder_it_did_not_make(ws) -> None:
    other = ws.root / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    r = ws.run("demo", "--dir", str(other))
    assert r.code == 2 and "not made by" in r.err and "Traceback" not in r.err
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"
