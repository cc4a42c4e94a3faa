"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) next to every Atom/RSS feed, and one OPML file that
lists every feed, so a reader subscribes to all of them at once.

The JSON items carry exactly what the Atom entries carry (same ids, titles, summaries, HTML content
and dates, memoised per build in ``EntryTexts``), so a reader switching format sees no new items.
Deterministic: the same changes give the same bytes (keys sorted, no timestamps of the build).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from tracker.publish.sanitise import clean_text, esc, safe_url
from tracker.store.records import ChangeRow

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _rfc3339(iso: str) -> str:
    """Stored dates end in Z; JSON Feed wants RFC 3339, which that already is."""
    return iso


def render_json_feed(*, path: str, title: str, subtitle: str, base: str, items: list[tuple[ChangeRow, str, str,
                     str, str, str, str]]) -> bytes:
    """One JSON Feed. ``items``: (change, entry id, page URL, title, summary, HTML content, source URL),
    newest first."""
    feed: dict = {
        "version": JSON_FEED_VERSION,
        "title": clean_text(title),
        "description": clean_text(subtitle),
        "home_page_url": base + "index.html",
        "feed_url": base + path + ".json",
        "language": "en",
        "authors": [{"name": "policy-tracker"}],
        "items": [],
    }
    for ch, eid, page, item_title, summary, content, source_url in items:
        item = {
            "id": eid,
            "url": page,
            "title": item_title,
            "summary": summary,
            "content_html": content,
            "date_published": _rfc3339(ch.detected_at),
            "date_modified": _rfc3339(ch.detected_at),
            "tags": [clean_text(t) for t in ch.tags],
        }
        source = safe_url(source_url)
        if source:
            item["external_url"] = source
        feed["items"].append(item)
    return (json.dumps(feed, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


@dataclass
class OpmlFeed:
    """A feed as OPML lists it: its group ("Services", "Tags"...), title and URLs."""

    group: str
    title: str
    xml_url: str
    html_url: str


def render_opml(feeds: list[OpmlFeed], title: str = "Policy changes") -> bytes:
    """OPML 2.0 with one outline per feed (Atom), grouped; every attribute escaped."""
    groups: dict[str, list[OpmlFeed]] = {}
    for f in feeds:
        groups.setdefault(f.group, []).append(f)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"  <head>\n    <title>{esc(title)}</title>\n  </head>", "  <body>"]
    for group, items in groups.items():
        lines.append(f"    <outline text={quoteattr(clean_text(group))} title={quoteattr(clean_text(group))}>")
        for f in items:
            name = quoteattr(clean_text(f.title))
            lines.append(f"      <outline type=\"rss\" text={name} title={name} "
                         f"xmlUrl={quoteattr(clean_text(f.xml_url))} htmlUrl={quoteattr(clean_text(f.html_url))}/>")
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")
