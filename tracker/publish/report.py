"""The timeline report: which services changed what about a topic (AI training...), and when.

Pure functions: stored changes (``ChangeRecord``) in, rows out, rows rendered as text, JSON or a
standalone HTML page with an inline-SVG timeline (no JavaScript, every string escaped).

For the priority tags (AI training, biometrics), one row per document-level event
(``DiffResult.events``: added, removed, or a change of stance, with the stance), so a row is true of
the two documents as wholes. For the other tags, one row per (change, tag, direction): a change that
added a data-sharing clause and removed a retention one gives two rows. The key sentence is the sentence of the first significant clause
change carrying that tag in that direction that holds the tag's evidence, so a reader sees the
words without opening the diff. Only what the stored diff carries is used (the tagger is not run
again): when a rewording removed a tag, the old text's evidence is not stored, and the first
sentence of the old text that the rewording changed is shown instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tracker.models import PRIORITY_TAGS, Change, Evidence, TagEvent
from tracker.publish.display import trim_sentence
from tracker.publish.sanitise import esc, truncate
from tracker.store.records import ChangeHead, ChangeRecord

if TYPE_CHECKING:
    from tracker.store.database import Store

SHORT_CLAUSE = 300  # a clause this short is its own key sentence
DIRECTION_ORDER = ("stance", "added", "flipped", "removed", "changed")
COLORS = {"added": "#c0392b", "stance": "#d35400", "flipped": "#8e44ad", "removed": "#27ae60", "changed": "#7f8c8d"}
LIMITED = "#2471a3"  # a new or narrowed statement that they won't, or only with consent: not an alarm
LEGEND = {"may do it: added": COLORS["added"], "stance changed": COLORS["stance"],
          "only with consent / ruled out": LIMITED, "removed": COLORS["removed"], "other tags": COLORS["changed"]}
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"“'(\[]?[A-Z0-9À-Ý])")


@dataclass
class ReportRow:
    date: str  # YYYY-MM-DD
    detected_at: str  # ISO 8601
    service: str
    type: str
    tag: str
    direction: str  # added | removed | stance (priority tags: an event) | flipped | changed
    text: str  # the key sentence
    clause: str  # the whole clause it comes from
    section: str
    from_version: int
    to_version: int
    change_id: int
    stance: str = ""  # priority tags: the document's stance after the event (the statement's, when removed)
    old_stance: str = ""  # for "stance": the stance before

    @property
    def what(self) -> str:
        """"added (affirmed)", "stance: negated → affirmed", "changed": the direction in words."""
        if self.direction == "stance":
            return f"stance: {self.old_stance} → {self.stance}"
        return f"{self.direction} ({self.stance})" if self.stance else self.direction

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


def _overlapping(text: str, sentences: list[str], evidence: list[Evidence]) -> list[str]:
    """The sentences of ``text`` (in order) that overlap an evidence span (offsets into ``text``)."""
    out, pos = [], 0
    for s in sentences:
        start = text.find(s, pos)
        if start < 0:
            continue
        pos = start + len(s)
        if any(ev.start < pos and start < ev.end for ev in evidence) and s not in out:
            out.append(s)
    return out


def _bare_last(sentences: list[str]) -> list[str]:
    """Heading-like sentences ("Biometric Information.", "1.") after the others, order kept otherwise."""
    return sorted(sentences, key=lambda s: len(s.split()) < 6)


def key_sentence(change: Change, tag: str, direction: str) -> tuple[str, str]:
    """(key sentence, whole clause) for one tag direction of one change."""
    side = change.old if direction == "removed" else change.new
    side = side or change.new or change.old or ""
    other = change.new if side is change.old else change.old
    sentences = split_sentences(side)
    if len(sentences) <= 1 or len(side) <= SHORT_CLAUSE:
        return side.strip(), side.strip()
    others = {_norm(o) for o in split_sentences(other or "")}  # once, not once per sentence
    fresh = [s for s in sentences if _norm(s) not in others]
    shown = change.old if change.kind == "removed" or change.new is None else change.new
    hits: list[str] = []
    if side is shown:
        evidence = change.evidence.get(tag, [])
        for ev in evidence:
            hits += [s for s in sentences if ev.text and ev.text in s and s not in hits]
        if not hits:  # evidence across a sentence end: the sentences its span overlaps
            hits = _overlapping(side, sentences, evidence)
    # A tag removed by a rewording was read from the old text, whose evidence is not stored (only its
    # polarity is): then the sentences that the rewording changed stand in for it.
    hits = _bare_last(hits)
    for pool in ([s for s in hits if s in fresh], hits, _bare_last(fresh), sentences):
        if pool:
            return pool[0], side.strip()
    return side.strip(), side.strip()


def _event_row(rec: ChangeRecord, e: TagEvent) -> ReportRow:
    ch = rec.diff.changes[e.change] if e.change is not None and 0 <= e.change < len(rec.diff.changes) else None
    clause = ((ch.old if e.kind == "removed" else ch.new) or "") if ch is not None else ""
    return ReportRow(date=rec.detected_at[:10], detected_at=rec.detected_at, service=rec.service, type=rec.type,
                     tag=e.tag, direction=e.kind, text=e.sentence, clause=clause.strip() or e.sentence,
                     section=e.section, from_version=rec.from_version, to_version=rec.to_version, change_id=rec.id,
                     stance=e.stance, old_stance=e.old_stance if e.kind == "stance" else "")


def build_rows(records: list[ChangeRecord], tag: str | None = None) -> list[ReportRow]:
    """Timeline rows, oldest first: the priority tags' events, and the other tags' clause directions
    (a moved clause is no news)."""
    return sort_rows(_change_rows(records, tag))


def sort_rows(rows: list[ReportRow]) -> list[ReportRow]:
    rows.sort(key=lambda r: (r.detected_at, r.service.casefold(), r.type, r.tag,
                             DIRECTION_ORDER.index(r.direction) if r.direction in DIRECTION_ORDER else 9))
    return rows


def _change_rows(records: list[ChangeRecord], tag: str | None) -> list[ReportRow]:
    rows: list[ReportRow] = []
    for rec in records:
        rows += [_event_row(rec, e) for e in rec.diff.events if tag is None or e.tag == tag]
        seen: set[tuple[str, str]] = set()
        for ch in rec.diff.significant:
            for t, direction in sorted(ch.directions.items(),
                                       key=lambda kv: (kv[0], DIRECTION_ORDER.index(kv[1])
                                                       if kv[1] in DIRECTION_ORDER else 9)):
                if (tag is not None and t != tag) or (t, direction) in seen or t in PRIORITY_TAGS:
                    continue
                seen.add((t, direction))
                sentence, clause = key_sentence(ch, t, direction)
                rows.append(ReportRow(date=rec.detected_at[:10], detected_at=rec.detected_at, service=rec.service,
                                      type=rec.type, tag=t, direction=direction, text=sentence, clause=clause,
                                      section=ch.section, from_version=rec.from_version,
                                      to_version=rec.to_version, change_id=rec.id))
    return rows


# --------------------------------------------------------------------------- rows kept in the store

ROWS_FORMAT = 1  # of ``row_values``; bump it when what ``_change_rows`` makes of a diff changes (kept rows are then made again)


def row_values(r: ReportRow) -> list:
    """What a row adds to its change (kept in ``report_rows``): the key sentence as its span in the
    clause when it is one (most are), to keep the text once."""
    at = r.clause.find(r.text) if r.text else -1
    text: str | list[int] = [at, len(r.text)] if at >= 0 else r.text
    return [r.tag, r.direction, text, r.clause, r.section, r.stance, r.old_stance]


def row_from_values(head: ChangeHead, values: list) -> ReportRow:
    tag, direction, text, clause, section, stance, old_stance = values
    if isinstance(text, list):
        text = clause[text[0]:text[0] + text[1]]
    return ReportRow(date=head.detected_at[:10], detected_at=head.detected_at, service=head.service, type=head.type,
                     tag=tag, direction=direction, text=text, clause=clause, section=section,
                     from_version=head.from_version, to_version=head.to_version, change_id=head.id, stance=stance,
                     old_stance=old_stance)


def stored_rows(store: Store, *, tag: str | None = None, since: float | None = None,
                services: list[str | None] | None = None) -> tuple[list[ChangeHead], list[ReportRow]]:
    """The report's changes that have rows (newest first) and its rows (oldest first), as ``build_rows`` makes them from the
    stored changes, read from the rows kept per change (``Store.report_heads``); the rows of changes
    not kept yet (or whose diff changed since) are made from their diffs and kept for the next time."""
    heads = [h for name in services or [None] for h in store.report_heads(fmt=ROWS_FORMAT, service=name, tag=tag,
                                                                          since=since)]
    heads.sort(key=lambda h: h.head.detected_at, reverse=True)
    missing = [h for h in heads if h.rows is None]
    made = []
    records = store.report_records(missing) if missing else {}
    for h in missing:
        rec = records.get(h.head.id)
        if rec is not None:
            h.rows = [row_values(r) for r in _change_rows([rec], None)]
            made.append((h.head.id, h.stamp, h.rows))
    store.keep_report_rows(made)
    rows = [row_from_values(h.head, v) for h in heads for v in h.rows or [] if tag is None or v[0] == tag]
    shown = {r.change_id for r in rows}
    return [h.head for h in heads if h.head.id in shown], sort_rows(rows)


# --------------------------------------------------------------------------- renderers


def shown_sentence(r: ReportRow) -> str:
    """The row's key sentence as shown: at most about 300 characters, cut at sentence boundaries."""
    return trim_sentence(r.text)


def plain_what(r: ReportRow) -> str:
    """What happened in plain words: the event's phrase for a priority tag ("AI training only with
    consent (new statement)", never "added" for a statement that they won't), else the direction."""
    if r.tag in PRIORITY_TAGS and r.direction in ("added", "removed", "stance") and r.stance:
        from tracker.publish.headline import event_phrase

        return event_phrase(TagEvent(r.tag, r.direction, r.stance, old_stance=r.old_stance, sentence=r.text))
    return r.what


def color(r: ReportRow) -> str:
    """Red for what a reader should worry about; blue for a statement that they won't, or only with
    consent (Zoom's "will not use … without your consent" is no red alert)."""
    if r.direction in ("added", "stance") and r.stance in ("conditional", "negated"):
        return LIMITED
    if r.direction == "removed" and r.stance == "negated":  # a promise withdrawn
        return COLORS["added"]
    return COLORS.get(r.direction, "#333")


def lane(r: ReportRow, lanes: dict[str, str] | None) -> str:
    """The platform a row belongs to: its service, or the service a former name now stands for."""
    return (lanes or {}).get(r.service, r.service)


def render_text(rows: list[ReportRow], width: int = 160, pages: dict[int, str] | None = None) -> str:
    if not rows:
        return "no tagged change in the store for this selection"
    out = []
    for r in rows:
        sentence, _ = truncate(shown_sentence(r), width)
        link = f"\n    {pages[r.change_id]}" if pages and r.change_id in pages else ""
        out.append(f"{r.date}  {r.service} / {r.type}  {r.tag} {r.what}\n    “{sentence}”{link}")
    return "\n".join(out)


def render_json(rows: list[ReportRow], pages: dict[int, str] | None = None) -> str:
    """``json.dumps(rows, ensure_ascii=False, indent=2)`` byte for byte, written out here: with ``indent``
    the json module encodes in pure Python, 10x slower than its C string encoder used per value below
    (a row's values are strings and numbers only)."""
    if not rows:
        return "[]"
    dumps = _encode_value
    keys: dict[str, str] = {}
    out = []
    for r in rows:
        d = dict(vars(r))  # the fields in order, all strings and ints
        d["text"] = shown_sentence(r)
        if pages and r.change_id in pages:
            d["page"] = pages[r.change_id]
        parts = []
        for k, v in d.items():
            key = keys.get(k) or keys.setdefault(k, f"    {dumps(k)}: ")
            parts.append(key + (dumps(v) if type(v) is str else str(v)))
        out.append("  {\n" + ",\n".join(parts) + "\n  }")
    return "[\n" + ",\n".join(out) + "\n]"


_encode_value = json.encoder.encode_basestring  # ensure_ascii=False's string encoder (C)


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def timeline_svg(rows: list[ReportRow], width: int = 900, pages: dict[int, str] | None = None,
                 lanes: dict[str, str] | None = None) -> str:
    """Changes per platform over time: one lane per service (former names on their platform's lane,
    see ``lanes``), one dot per row (a link to its change page), colour = direction."""
    services: list[str] = []
    for r in rows:  # lanes in order of first appearance (rows are oldest first)
        if lane(r, lanes) not in services:
            services.append(lane(r, lanes))
    left, right, top, height_of = 190, 20, 30, 28
    height = top + height_of * max(1, len(services)) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Timeline of tagged changes per service">']
    if not rows:
        parts.append('<text x="10" y="40">no change</text></svg>')
        return "".join(parts)
    times = [_ts(r.detected_at) for r in rows]
    lo, hi = min(times), max(times)
    first_year, last_year = datetime.fromtimestamp(lo, UTC).year, datetime.fromtimestamp(hi, UTC).year
    lo = min(lo, datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    hi = max(hi, datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    span = (hi - lo) or 1.0

    def x(t: float) -> float:
        return left + (width - left - right) * (t - lo) / span

    bottom = top + height_of * len(services)
    for year in range(first_year, last_year + 2):
        xx = x(datetime(year, 1, 1, tzinfo=UTC).timestamp())
        parts.append(f'<line x1="{xx:.1f}" y1="{top - 10}" x2="{xx:.1f}" y2="{bottom}" stroke="#ddd"/>'
                     f'<text x="{xx:.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle" '
                     f'fill="#555">{year}</text>')
    for i, svc in enumerate(services):
        y = top + height_of * i + height_of / 2
        label, _ = truncate(svc, 28)
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{esc(label)}</text>'
                     f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
    for r, t in zip(rows, times, strict=True):
        y = top + height_of * services.index(lane(r, lanes)) + height_of / 2
        tip = f"{r.date} · {r.service} / {r.type} · {r.tag} {r.what}: {truncate(shown_sentence(r), 200)[0]}"
        dot = (f'<circle cx="{x(t):.1f}" cy="{y:.1f}" r="6" fill="{color(r)}" '
               f'fill-opacity="0.8"><title>{esc(tip)}</title></circle>')
        href = (pages or {}).get(r.change_id)
        parts.append(f'<a href="{esc(href)}">{dot}</a>' if href else dot)
    parts.append("</svg>")
    return "".join(parts)


_CSS = """:root{color-scheme:light dark}body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:1em auto;
padding:0 1em;color:#222;background:#fff}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;
text-align:left}td.d{white-space:nowrap}.dir{font-weight:bold}blockquote{margin:0;color:#333;overflow-wrap:anywhere}
.legend span{margin-right:1em}.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%}
small{color:#666}figure{margin:1em 0;overflow-x:auto}svg{max-width:100%;height:auto}
@media (prefers-color-scheme:dark){body{background:#16181c;color:#e8e8e8}blockquote{color:#ddd}small{color:#aaa}
td,th{border-color:#3a3d44}a{color:#8ab4ff}svg text{fill:#ddd}}
@media (max-width:600px){body{padding:0 .5em}thead{display:none}tr{display:block;border-bottom:1px solid #ddd;
padding:.4em 0}td{display:inline-block;border:0;padding:.1em .4em .1em 0}td:last-child{display:block}}
@media print{body{max-width:none}a{color:inherit}}"""


def render_html(rows: list[ReportRow], *, tag: str | None = None, since: str | None = None,
                generated_at: str | None = None, pages: dict[int, str] | None = None,
                lanes: dict[str, str] | None = None) -> str:
    """A standalone page: title, legend, SVG timeline and the table of key sentences; every row and
    dot links to its change page (``pages``: change id -> URL)."""
    topic = tag or "all tags"
    title = f"Policy changes: {topic}"
    legend = "".join(f'<span><i class="dot" style="background:{c}"></i> {d}</span>' for d, c in LEGEND.items())
    body = []
    for r in rows:
        href = (pages or {}).get(r.change_id)
        date = f'<a href="{esc(href)}">{esc(r.date)}</a>' if href else esc(r.date)
        more = f' · <a href="{esc(href)}">the change</a>' if href else ""
        platform = lane(r, lanes)
        was = f" <small>(as {esc(r.service)})</small>" if platform != r.service else ""
        body.append(f'<tr><td class="d">{date}</td><td>{esc(platform)}{was}<br><small>{esc(r.type)}</small></td>'
                    f'<td>{esc(r.tag)}<br><span class="dir" style="color:{color(r)}">'
                    f'{esc(plain_what(r))}</span></td><td><blockquote>{esc(shown_sentence(r))}</blockquote>'
                    f'<small>{esc(r.section)} · v{r.from_version} → v{r.to_version}{more}</small></td></tr>')
    sub = f"{len(rows)} change(s) across {len({lane(r, lanes) for r in rows})} service(s)"
    if since:
        sub += f" since {esc(since)}"
    if generated_at:
        sub += f" · generated {esc(generated_at)}"
    table = ("<table><thead><tr><th>Date</th><th>Service</th><th>Tag</th><th>Key sentence</th></tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>" if rows else "<p>No tagged change for this selection.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p>{sub}</p><p class=\"legend\">{legend}</p>"
            f"<figure>{timeline_svg(rows, pages=pages, lanes=lanes)}</figure>{table}"
            "<p><small>Made with policy-tracker. Texts of the policies belong to their publishers; history "
            "imported from Open Terms Archive is under ODC-BY 1.0 (Open Terms Archive and its contributors)."
            "</small></p></body></html>\n")
