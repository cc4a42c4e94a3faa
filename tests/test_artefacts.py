"""The pure recognisers of capture artefacts (tracker.compare.artefacts), on extracted test pages."""

from __future__ import annotations

from pages import SECTIONS, policy_html

from tracker.compare.artefacts import doubled, once, same_capture, suspect_reason, undouble
from tracker.text.html import extract_html

TRAINING = "We use the content you post to train our artificial intelligence models."


def clauses(html: str):
    return extract_html(html).clauses


def length(cs) -> int:
    return sum(len(c.text) for c in cs)


def twice(extra: str = "") -> str:
    body = ""
    for title in ("Privacy policy", "Upcoming privacy policy"):
        body += f"<h1>{title}</h1>"
        for name, paras in SECTIONS.items():
            body += f"<h2>{name}</h2>" + "".join(f"<p>{p}</p>" for p in paras)
        body += f"<p>{extra}</p>" if extra and title.startswith("Upcoming") else ""
    return f"<html><body><main>{body}</main></body></html>"


def test_a_page_holding_the_policy_twice_is_recognised_and_compared_once() -> None:
    single, double = clauses(policy_html()), clauses(twice(TRAINING))
    assert not doubled(single) and doubled(double)
    texts = [c.text for c in once(double)]
    assert len(texts) == len(set(texts)) and TRAINING in texts
    old, new, note = undouble(single, double)
    assert old == single and note.startswith("doubled page: the new capture holds")
    # ordinary repeats (short table cells, "Yes") do not make a page doubled
    cells = {"Sharing": ["Yes", "No", "Yes", "No", "Yes", "No", "Yes"]}
    assert not doubled(clauses(policy_html(cells)))


def test_suspect_captures() -> None:
    ref = clauses(policy_html())
    assert suspect_reason(ref, clauses(policy_html({"More": [TRAINING]})), length(ref), length(ref) + 80) is None
    big = clauses(policy_html({f"Help {i}": [p for ps in SECTIONS.values() for p in ps] for i in range(5)}))
    assert "times as long" in suspect_reason(ref, big, length(ref), length(big))
    other = clauses("<html><body><main><h1>Cookies</h1>" + "".join(
        f"<p>Cookie {i} is set by server {i * 7} and lasts {i + 3} days for the shop's basket.</p>"
        for i in range(12)) + "</main></body></html>")
    assert "wording is left" in suspect_reason(ref, other, length(ref), length(other))


def test_the_same_capture_again_tolerates_a_date() -> None:
    a, b = clauses(policy_html(date="May 1, 2026")), clauses(policy_html(date="May 2, 2026"))
    assert same_capture(a, b, length(a), length(b))
    c = clauses(policy_html({f"Help {i}": [p for ps in SECTIONS.values() for p in ps] for i in range(2)}))
    assert not same_capture(a, c, length(a), length(c))
