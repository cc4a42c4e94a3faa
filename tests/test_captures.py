"""Capture artefacts through real `check` runs against a local server: a return to an earlier text,
a page flapping between two texts, a page holding the policy twice, a capture of another document,
an outlier capture followed by normal ones, a refused capture that persists (issue 15)."""

from __future__ import annotations

import feedparser
import pytest
from helpers import Workspace
from pages import SECTIONS, policy_html
from test_check import Site, check

from tracker.store.database import Store

TRAINING = "We use the content you post to train our artificial intelligence models."
MORE = {  # makes the reference long enough for a short page to fall under a fifth of it
    "Retention": [f"We keep {what} for as long as your account is open and for {n} months after it is closed, "
                  "unless a longer period is required by law." for n, what in
                  enumerate(["account data", "usage logs", "device records", "support tickets", "payment records",
                             "security logs", "messages you send us", "survey answers"], start=3)],
}


@pytest.fixture
def site(httpserver) -> Site:
    return Site(httpserver)


def page(*extra: str, sections: dict | None = None) -> str:
    return policy_html({**MORE, "Information we collect": list(extra), **(sections or {})})


def other_document() -> str:
    """A page of about the same length that is another document (a cookie notice)."""
    paras = [f"Cookie number {i} named {name} is set by our {who} to {why}; it expires after {i + 2} days."
             for i, (name, who, why) in enumerate([
                 ("sid", "login servers", "keep you signed in"), ("lang", "web servers", "remember your language"),
                 ("ab", "experiment platform", "assign you to a test group"),
                 ("px", "advertising partners", "measure campaign reach"),
                 ("cs", "content delivery network", "balance traffic across data centres"),
                 ("fq", "video player", "limit how often an advertisement is repeated"),
                 ("tz", "calendar widget", "show times in your time zone"),
                 ("rv", "review system", "remember products you rated"),
                 ("bk", "booking engine", "hold items in your basket"),
                 ("hp", "help centre", "keep your support conversation open"),
                 ("mp", "maps component", "remember the area you looked at"),
                 ("nt", "notification service", "avoid showing the same banner twice")])]
    paras = paras * 2
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f'<!doctype html><html lang="en"><head><title>Cookie notice</title></head><body><main>'
            f"<h1>Cookie notice</h1><h2>Cookies we set</h2>{body}</main></body></html>")


def entries(ws: Workspace, rel: str) -> list:
    return feedparser.parse((ws.feeds / rel).read_bytes()).entries


def changes(ws: Workspace) -> list[tuple]:
    with Store(ws.db) as s:
        return s.conn.execute("SELECT from_version, to_version, significant, tags FROM changes ORDER BY id").fetchall()


def notes(ws: Workspace) -> list[tuple]:
    with Store(ws.db) as s:
        return [(n.kind, n.open) for n in reversed(s.capture_notes())]


def test_a_revert_is_said_once_and_flapping_is_not_republished(ws: Workspace, site: Site) -> None:
    ws.declare("Example", site.url)
    a, b = page(), page(TRAINING)
    states = []
    for body in (a, b, a, b, a, b):
        site.body = body
        states.append(check(ws))
    assert [s["state"] for s in states] == ["new"] + ["changed"] * 5
    assert states[2]["note"] == "reverted to v1" and states[2]["tags"] == []
    assert states[3]["note"] == "reverted to v2" and states[5]["note"] == "reverted to v4"
    assert changes(ws) == [(1, 2, 1, '["ai-training"]'), (2, 3, 1, "[]"), (3, 4, 0, "[]"), (4, 5, 0, "[]"),
                           (5, 6, 0, "[]")]
    # one topic alert (the first time the clause came), one revert in the service feed, flips not repeated
    assert len(entries(ws, "tags/ai-training.atom")) == 1
    service = entries(ws, "services/example.atom")
    assert len(service) == 2 and "reverted to v1" in service[0].content[0].value
    r = ws.run("report", "--tag", "ai-training", "--format", "json")
    assert r.code == 0 and len(r.json()) == 1


def test_a_swapped_document_is_held_until_the_next_capture_confirms_it(ws: Workspace, site: Site) -> None:
    ws.declare("Example", site.url)
    site.body = page()
    assert check(ws)["state"] == "new"
    site.body = other_document()
    held = check(ws)
    assert held["state"] == "unchanged" and "held as a suspect capture" in held["note"]
    status = entries(ws, "status.atom")
    assert any("suspect capture held" in e.title for e in status)
    listed = ws.run("list", "--json").json()
    assert listed[0]["held"] and "wording" in listed[0]["held"]
    # the page comes back: the swap was an outlier, discarded, never the reference
    site.body = page()
    assert check(ws)["state"] == "unchanged"
    assert notes(ws) == [("held", False), ("discarded", False)]
    # a passing fault, like one failed check: the status feed is back to what it was
    assert not any("capture" in e.title for e in entries(ws, "status.atom"))
    # the other document twice in a row: confirmed, the new reference; it says nothing of AI training
    # or biometrics, so no topic alert
    site.body = other_document()
    assert check(ws)["state"] == "unchanged"
    confirmed = check(ws)
    assert confirmed["state"] == "changed" and confirmed["note"].startswith("confirmed by the next capture")
    assert not {"ai-training", "biometrics"} & set(confirmed["tags"])
    assert not entries(ws, "tags/ai-training.atom")
    assert any("suspect capture confirmed" in e.title for e in entries(ws, "status.atom"))
    assert "confirmed by the next capture" in entries(ws, "services/example.atom")[0].content[0].value


def test_a_held_change_confirmed_by_the_next_capture_keeps_its_topic_alert(ws: Workspace, site: Site) -> None:
    """A real change can look like an outlier at first: a new section that triples the text is held;
    once the next capture confirms it, it is the policy, and what it says about AI training is news
    (issue 15: a confirmed capture used to be stored with no events, so the alert was lost)."""
    ws.declare("Example", site.url)
    site.body = page()
    check(ws)
    site.body = page(sections={"Our AI features": [*long_section(), TRAINING]})
    held = check(ws)
    assert held["state"] == "unchanged" and "times as long" in held["note"]
    assert not entries(ws, "tags/ai-training.atom")
    confirmed = check(ws)
    assert confirmed["state"] == "changed" and confirmed["note"].startswith("confirmed by the next capture")
    assert "ai-training" in confirmed["tags"] and confirmed["directions"]["ai-training"] == "added"
    assert len(entries(ws, "tags/ai-training.atom")) == 1
    rows = ws.run("report", "--tag", "ai-training", "--format", "json").json()
    assert len(rows) == 1 and "train our artificial intelligence" in rows[0]["text"]


def test_a_confirmed_swap_to_another_document_gives_no_topic_alert(ws: Workspace, site: Site) -> None:
    """Another document that stays (none of the old wording left) becomes the reference, but its
    statements say nothing about what the policy added or dropped: no topic alert."""
    ws.declare("Example", site.url)
    site.body = page(TRAINING)
    check(ws)
    site.body = other_document()
    assert check(ws)["state"] == "unchanged"
    confirmed = check(ws)
    assert confirmed["state"] == "changed" and confirmed["note"].startswith("confirmed by the next capture")
    assert "ai-training" not in confirmed["tags"]
    assert not entries(ws, "tags/ai-training.atom")


def long_section() -> list[str]:
    """Some 800 words of new paragraphs about how an assistant works (a real, long addition)."""
    return [f"{where} feature {i}: our assistant can {what} when you ask it to, using the {src} you choose to share "
            f"with it in that conversation, and it shows you a summary before anything is sent on your behalf."
            for i, (what, src) in enumerate([
                ("draft replies", "messages"), ("plan trips", "calendar entries"), ("sort photos", "albums"),
                ("summarise documents", "files"), ("book tables", "contacts"), ("track parcels", "e-mails"),
                ("fill forms", "saved addresses"), ("compare prices", "shopping lists"),
                ("translate pages", "browser tabs"), ("remind you of tasks", "notes"),
                ("suggest playlists", "listening history"), ("set up meetings", "availability"),
                ("find recipes", "pantry lists"), ("answer questions", "help articles"),
                ("write captions", "videos"), ("organise receipts", "scans")])
            for where in ("Mobile", "Web")]


def test_an_outlier_capture_never_blocks_the_normal_ones_after_it(ws: Workspace, site: Site) -> None:
    """The freeze case: one capture several times as long as the page (a whole help centre) must not
    become the reference that the length guard then holds every normal capture against."""
    ws.declare("Example", site.url)
    site.body = page()
    check(ws)
    site.body = page(sections={f"Help topic {i}": [p for ps in SECTIONS.values() for p in ps] for i in range(6)})
    outlier = check(ws)
    assert outlier["state"] == "unchanged" and "times as long" in outlier["note"]
    site.body = page(TRAINING)
    normal = check(ws)
    assert normal["state"] == "changed" and normal["version"] == 2 and "ai-training" in normal["tags"]
    site.body = page(TRAINING, "We keep your data for two years.")
    assert check(ws)["version"] == 3
    with Store(ws.db) as s:
        lengths = [v.to_dict()["length"] for v in s.versions("Example")]
    assert max(lengths) < 3 * min(lengths)  # the outlier was never stored


def test_a_refused_capture_that_comes_back_becomes_the_reference(ws: Workspace, site: Site) -> None:
    ws.declare("Example", site.url)
    site.body = page()
    check(ws)
    short = policy_html(noise=False).split("<h2>How we use")[0] + "</main></body></html>"
    site.body = short
    first = check(ws)
    # the page lost its tail with its closing tags put back: refused as cut short, and held
    assert first["state"] == "failed" and first["reason"] == "truncated" and "held" in first["error"]
    second = check(ws)
    assert second["state"] == "changed" and second["note"].startswith("confirmed by the next capture")
    # confirmed, it is the reference; most of the old wording is gone, so its change is listed under no tag
    assert second["tags"] == []
    titles = [e.title for e in entries(ws, "status.atom")]
    assert any("suspect capture confirmed" in t for t in titles)
    # from now on the short page is the reference: the page that comes back is judged against it
    site.body = page()
    back = check(ws)
    assert back["state"] == "changed" and back["note"] == "reverted to v1"


def test_a_refused_capture_that_keeps_coming_back_changed_each_time_is_accepted(ws: Workspace, site: Site) -> None:
    ws.declare("Example", site.url)
    site.body = page()
    check(ws)
    outs = []
    for i in range(3):  # three different short captures in a row, none like the reference or each other
        notice = f"Ship number {i} sails today. " * 12
        site.body = (f"<html><body><main><h1>Notice {i}</h1><p>{notice}</p>"
                     "</main></body></html>")
        outs.append(check(ws))
    assert [o["state"] for o in outs] == ["failed", "failed", "changed"]
    assert outs[2]["note"].startswith("accepted: 3 suspect captures in a row")
    assert any("refused capture accepted" in e.title for e in entries(ws, "status.atom"))


def test_a_page_holding_the_policy_twice_reports_no_sentence_removed_that_stays(ws: Workspace, site: Site) -> None:
    """Current and upcoming policy shown together for weeks, then the upcoming one alone: a sentence
    of both that stays is not "removed", and a sentence only the upcoming one has is added once."""
    ws.declare("Example", site.url)
    current = {k: list(v) for k, v in SECTIONS.items()}
    upcoming = {k: list(v) for k, v in SECTIONS.items()}
    upcoming["How we use information"].append(TRAINING)

    def html(*policies: dict) -> str:
        body = []
        for n, sections in enumerate(policies):
            body.append(f"<h1>{'Upcoming privacy policy' if n else 'Privacy policy'}</h1>")
            for name, paras in sections.items():
                body.append(f"<h2>{name}</h2>" + "".join(f"<p>{p}</p>" for p in paras))
        return f"<html lang='en'><body><main>{''.join(body)}</main></body></html>"

    for body in (html(current), html(current, upcoming), html(upcoming)):
        site.body = body
        check(ws)
    with Store(ws.db) as s:
        recs = {c.to_version: c for c in s.changes()}
        final = {c.text for c in s.latest_version(s.find_document("Example").id).clauses}
    doubled, single = recs[2], recs[3]
    assert "doubled page" in doubled.diff.note and "doubled page" in single.diff.note
    assert [(c.kind, c.new) for c in doubled.diff.significant if c.clause_kind != "heading"] == [("added", TRAINING)]
    assert "ai-training" in doubled.tags
    removed = [c.old for c in single.diff.significant if c.kind in ("removed", "modified")]
    assert not [t for t in removed if t in final]  # nothing still on the page is reported removed
    assert not [c for c in single.diff.significant if c.directions.get("ai-training") == "removed"]
    # `diff` of the same two versions says what check stored: both sides compared once, with the note
    for rec in (doubled, single):
        shown = ws.run("diff", "Example", "--from", str(rec.from_version), "--to", str(rec.to_version),
                       "--format", "json").json()
        assert shown["note"] == rec.diff.note
        assert [(c["kind"], c["old"], c["new"]) for c in shown["changes"]] == \
            [(c.kind, c.old, c.new) for c in rec.diff.significant]
        assert shown["events"] == [e.to_dict() for e in rec.diff.events]
    text = ws.run("diff", "Example", "--from", "1", "--to", "2").out
    assert "doubled page: the new capture holds the same clauses twice (compared once)" in text
