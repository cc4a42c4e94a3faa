"""Webhook notifications: one JSON POST per significant change, the moment it is stored.

Why it is built this way:
- The payload carries the feed entry's ``tag:`` id and title, so a receiver can deduplicate against
  the feeds and shows the same words; ``text`` is a plain summary, which Slack and Mattermost
  incoming webhooks display as is (others read the structured fields).
- Sending never raises and never touches the store: a dead endpoint must not fail a check, change
  its exit status or lose a version. Errors come back as one-line strings for the caller to report.
- A short timeout and exactly one retry, only when the request may not have reached the receiver
  or the receiver failed (connection error, timeout, 5xx): no retry storms, no queue to grow.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from tracker.models import Change
from tracker.store.database import ChangeRecord, Store

ENV_URLS = "POLICY_TRACKER_NOTIFY"
ENV_BASE = "POLICY_TRACKER_BASE_URL"
MAX_CHANGES = 25  # changed clauses in a payload (the change page has them all)
CHANGE_CHARS = 2000  # per clause text
TEXT_CLAUSES = 5  # clauses quoted in the plain-text summary
TEXT_CHARS = 400  # per clause in the plain-text summary
RETRY_PAUSE = 1.0  # seconds before the one retry
MARKERS = {"added": "Added", "removed": "Removed", "modified": "Changed", "moved": "Moved"}


# --------------------------------------------------------------------------- URLs


def check_url(url: str) -> str:
    """The URL if it is a plain absolute http(s) URL, else ValueError with a short reason."""
    u = url.strip()
    if not u or re.search(r"[\s\x00-\x1f\x7f]", u):
        raise ValueError(f"{url!r}: expected an http(s) URL without spaces")
    try:
        parts = urlsplit(u)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ValueError(f"{url!r}: not a valid URL ({e})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r}: expected an absolute http:// or https:// URL")
    return u


def notify_urls(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated URLs from ``--notify`` values (each may hold several, space-separated)."""
    out: list[str] = []
    for value in values:
        for part in value.split():
            u = check_url(part)
            if u not in out:
                out.append(u)
    return out


def page_base(base_url: str | None = None) -> str | None:
    """The public base URL of the feeds folder (``--base-url`` or $POLICY_TRACKER_BASE_URL), or None."""
    base = (base_url or os.environ.get(ENV_BASE) or "").strip()
    if not base:
        return None
    try:
        return check_url(base).rstrip("/") + "/"
    except ValueError:
        return None


# --------------------------------------------------------------------------- payload


def _cap(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _change_dict(c: Change) -> dict[str, Any]:
    return {"kind": c.kind, "section": c.section, "old": _cap(c.old, CHANGE_CHARS), "new": _cap(c.new, CHANGE_CHARS),
            "tags": list(c.tags)}


def directions(record: ChangeRecord) -> dict[str, str]:
    """Tag -> added|removed|flipped|changed, the first significant clause's word per tag (as `check`)."""
    out: dict[str, str] = {}
    for c in record.diff.significant:
        for tag, direction in c.directions.items():
            out.setdefault(tag, direction)
    return out


def summary_text(title: str, record: ChangeRecord, page: str | None) -> str:
    """Plain text for chat webhooks: the title, then up to TEXT_CLAUSES clauses with markers."""
    sig = record.diff.significant
    lines = [title]
    for c in sig[:TEXT_CLAUSES]:
        marker = MARKERS.get(c.kind, c.kind.capitalize())
        body = (c.old if c.kind == "removed" else c.new or c.old) or ""
        where = f" ({c.section})" if c.section else ""
        lines.append(f"{marker}{where}: {_cap(' '.join(body.split()), TEXT_CHARS)}")
    if len(sig) > TEXT_CLAUSES:
        lines.append(f"… and {len(sig) - TEXT_CLAUSES} more changed clause(s)")
    lines.append(f"Source: {record.url}")
    if page:
        lines.append(f"Details: {page}")
    return "\n".join(lines)


def payload(record: ChangeRecord, page: str | None = None) -> dict[str, Any]:
    """The JSON body of a ``policy-change`` event."""
    from tracker.publish.feeds import entry_id, entry_title

    title = entry_title(record)
    sig = record.diff.significant
    return {
        "event": "policy-change",
        "id": entry_id(record.service, record.type, record.to_version),
        "title": title,
        "service": record.service,
        "type": record.type,
        "url": record.url,
        "from_version": record.from_version,
        "to_version": record.to_version,
        "detected_at": record.detected_at,
        "tags": list(record.tags),
        "directions": directions(record),
        "page": page,
        "changes": [_change_dict(c) for c in sig[:MAX_CHANGES]],
        "more_changes": max(0, len(sig) - MAX_CHANGES),
        "text": summary_text(title, record, page),
    }


def page_url(store: Store, record: ChangeRecord, base: str | None) -> str | None:
    """The change page's public URL, named exactly as the feeds name it (None without a base URL)."""
    if not base:
        return None
    from tracker.publish.build import change_file, service_slugs

    slugs = service_slugs(store.service_names() + [record.service])
    return base + "changes/" + change_file(record.service, record.type, record.to_version, slugs)


# --------------------------------------------------------------------------- sending


class Notifier:
    """POSTs events to every URL; ``send``/``post_event`` return error lines and never raise."""

    def __init__(self, urls: list[str], base_url: str | None = None, timeout: float = 10) -> None:
        from tracker.capture.fetch import USER_AGENT

        self.urls = list(urls)
        self.base = page_base(base_url)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Content-Type": "application/json"})

    def __bool__(self) -> bool:
        return bool(self.urls)

    def close(self) -> None:
        self.session.close()

    def send(self, record: ChangeRecord, page: str | None = None) -> list[str]:
        """Notify one change. ``page`` overrides the page URL (see ``page_url``, which needs the store)."""
        try:
            body = payload(record, page)
        except Exception as e:  # noqa: BLE001 - a bad record must not break the caller
            return [f"notification for change {record.id} not built: {type(e).__name__}: {e}"]
        return self.post_event(body)

    def post_event(self, body: dict[str, Any]) -> list[str]:
        errors = []
        for url in self.urls:
            err = self._post(url, body)
            if err:
                errors.append(f"notify {_redact(url)}: {err}")
        return errors

    def _post(self, url: str, body: dict[str, Any]) -> str | None:
        for attempt in (1, 2):
            try:
                r = self.session.post(url, json=body, timeout=self.timeout, allow_redirects=False)
            except requests.ConnectionError as e:  # not delivered (refused, DNS, connect timeout): retry once
                if attempt == 2:
                    return f"{type(e).__name__}: cannot connect (after one retry)"
            except requests.Timeout:  # maybe delivered: a retry could post it twice
                return f"no answer within {self.timeout:g}s"
            except requests.RequestException as e:
                return f"{type(e).__name__}: {e}"
            else:
                if r.status_code < 300:
                    return None
                err = f"HTTP {r.status_code}" + (" (after one retry)" if attempt == 2 else "")
                if r.status_code < 500 or attempt == 2:
                    return err
            time.sleep(RETRY_PAUSE)
        return None  # not reached


def _redact(url: str) -> str:
    """Scheme, host and port only: webhook paths and queries are often secrets (Slack tokens)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.rsplit('@', 1)[-1]}/…" if p.path.strip("/") or p.query else url


def notify_changes(notifier: Notifier, store: Store, change_ids: Iterable[int]) -> list[str]:
    """Send one event per stored change id (read back from the store, so what is sent is what was stored)."""
    errors: list[str] = []
    for cid in change_ids:
        try:
            record = store.change(cid)
        except Exception as e:  # noqa: BLE001 - reading back must not break the check
            errors.append(f"notification for change {cid} not built: {type(e).__name__}: {e}")
            continue
        if record is None or not record.diff.significant:
            continue
        errors += notifier.send(record, page_url(store, record, notifier.base))
    return errors
