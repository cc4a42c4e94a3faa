"""Notifications: one message per significant change, to every channel given with ``--notify``.

Channels are URLs:
- ``http://`` and ``https://``: a JSON webhook, for programs (one POST per change; see ``payload``);
- anything else that Apprise knows (``mailto://``, ``ntfy://``, ``matrix://``, ``tgram://``,
  ``discord://``, ``slack://``, ... about a hundred services): a message whose title is the feed
  entry's title and whose body is the plain-text summary (``summary_text``).

Why it is built this way:
- The payload carries the feed entry's ``tag:`` id and title, so a receiver can deduplicate against
  the feeds and shows the same words; ``text`` is a plain summary, which Slack and Mattermost
  incoming webhooks display as is (others read the structured fields).
- Nothing is lost and nothing is sent twice: each event is queued in the database's outbox for each
  channel, then delivered; a channel that fails keeps its events, and every later cycle (``check``,
  the daemon) tries them again until they are delivered. An event is claimed before it is sent and
  marked delivered after, so two processes never send it to the same channel twice. Changes are
  queued from the store itself (every change found by a check after the last one queued for the
  channel), so a change stored by a process that died before queuing it is sent by the next one.
- Sending never raises and never fails a check: errors come back as one-line strings for the
  caller to report, with the channel's URL cut to scheme and host (paths, tokens and passwords are
  secrets). Within one attempt, a webhook that was surely not reached (connection refused) or that
  answered 5xx is retried once after a second; a timeout is not (it may have been delivered).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from tracker.models import Change
from tracker.store.database import Store
from tracker.store.records import ChangeRecord

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


def is_webhook(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in ("http", "https")


def check_channel_url(url: str) -> str:
    """An http(s) webhook URL, or a notification URL that Apprise knows; else ValueError, one line."""
    u = url.strip()
    scheme = urlsplit(u).scheme.lower() if "://" in u else ""
    if scheme in ("http", "https") or not scheme:
        return check_url(u)
    import apprise

    if apprise.Apprise.instantiate(u) is None:
        raise ValueError(f"{redact(u)}: not an http(s) webhook, nor a notification URL Apprise knows "
                         "(mailto://, ntfy://, matrix://, tgram://, discord://, slack://, ...)")
    return u


def notify_urls(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated URLs from ``--notify`` values (each may hold several, space-separated)."""
    out: list[str] = []
    for value in values:
        for part in value.split():
            u = check_channel_url(part)
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
    """Tag -> what happened, as `check` says it (see DiffResult.directions: the priority tags' events)."""
    return record.diff.directions()


def summary_text(title: str, record: ChangeRecord, page: str | None) -> str:
    """Plain text for chat webhooks and e-mail, most important first: the title, the priority-tag
    events with their key sentences, the renamings, then up to TEXT_CLAUSES other clauses."""
    from tracker.publish import headline
    from tracker.publish.display import clean

    diff = record.diff
    o = headline.order(diff)
    lines = [title]
    for ev, _ in o.events:
        sentence = headline.event_sentence(ev, diff, old=ev.kind == "removed")
        lines.append(f"{headline.event_phrase(ev)}: “{sentence}”" if sentence else headline.event_phrase(ev))
    if diff.substitutions:
        lines.append(headline.renamings_line(diff.substitutions))
    rest = o.tagged + o.other[:len(o.other) - o.renamed]
    for i in rest[:TEXT_CLAUSES]:
        c = diff.changes[i]
        marker = MARKERS.get(c.kind, c.kind.capitalize())
        body = clean((c.old if c.kind == "removed" else c.new or c.old) or "")
        where = f" ({c.section})" if c.section else ""
        lines.append(f"{marker}{where}: {_cap(' '.join(body.split()), TEXT_CHARS)}")
    more = len(o.tagged) + len(o.other) - min(len(rest), TEXT_CLAUSES)
    if more > 0:
        lines.append(f"… and {more} more changed clause(s)")
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
        "events": [e.to_dict() for e in record.diff.events],
        "page": page,
        "changes": [_change_dict(c) for c in sig[:MAX_CHANGES]],
        "more_changes": max(0, len(sig) - MAX_CHANGES),
        "text": summary_text(title, record, page),
    }


def page_url(store: Store, record: ChangeRecord, base: str | None) -> str | None:
    """The change page's public URL, named exactly as the feeds name it (None without a base URL)."""
    if not base:
        return None
    from tracker.publish.build import change_file, file_names

    slugs = file_names(store, store.service_names() + [record.service])
    return base + "changes/" + change_file(record.service, record.type, record.to_version, slugs)


# --------------------------------------------------------------------------- channels


def redact(url: str) -> str:
    """Scheme, host and port only: paths, queries and user info are often secrets (tokens, passwords)."""
    try:
        p = urlsplit(url)
        host = p.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(a notification URL)"
    if not p.scheme:
        return "(a notification URL)"
    return f"{p.scheme}://{host}/…" if p.path.strip("/") or p.query or "@" in p.netloc else f"{p.scheme}://{host}"


_redact = redact  # the former name


class Channel:
    """One ``--notify`` URL. ``key``: how the outbox names it (a hash: the URL itself is not stored)."""

    def __init__(self, url: str, notifier: Notifier) -> None:
        self.url = url
        self.key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        self.label = redact(url)
        self.notifier = notifier
        self._apprise: Any = None  # an apprise.Apprise, made on first use (apprise is imported lazily)

    def send(self, event: dict) -> str | None:
        """Deliver one event; None when delivered, else a one-line reason."""
        try:
            if is_webhook(self.url):
                return self.notifier._post(self.url, event)
            return self._send_apprise(event)
        except Exception as e:  # noqa: BLE001 - a notification must never break the caller
            return f"{type(e).__name__}: {e}"

    def _send_apprise(self, event: dict) -> str | None:
        import apprise

        if self._apprise is None:
            channel = apprise.Apprise()
            if not channel.add(self.url):
                return "not a notification URL Apprise knows"
            self._apprise = channel
        title = event.get("title") or "policy-tracker"
        body = event.get("text") or title
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            ok = self._apprise.notify(title=title, body=body)
        if ok:
            return None
        lines = [line.split(" - ", 2)[-1].strip() for line in log.getvalue().splitlines() if line.strip()]
        return lines[-1] if lines else "not delivered"


class Notifier:
    """Every ``--notify`` channel. ``deliver`` queues what is new in the store's outbox and sends what is
    waiting there; ``send``/``post_event`` send at once, without the outbox. None of them raises."""

    def __init__(self, urls: list[str], base_url: str | None = None, timeout: float = 10) -> None:
        from tracker.capture.fetch import USER_AGENT

        self.urls = list(urls)
        self.channels = [Channel(u, self) for u in self.urls]
        self.base = page_base(base_url)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Content-Type": "application/json"})

    def __bool__(self) -> bool:
        return bool(self.urls)

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ through the outbox

    def register(self, store: Store) -> None:
        """Start queuing for every channel: changes stored from now on are sent to it (earlier ones are not)."""
        for ch in self.channels:
            store.outbox_channel(ch.key)

    def queue_event(self, store: Store, event: str, body: dict, document_id: int | None = None) -> None:
        """Queue an event that is not a stored change (``check-broken``) for every channel."""
        data = json.dumps(body, ensure_ascii=False)
        for ch in self.channels:
            store.outbox_queue(ch.key, event, data, document_id=document_id)

    def queue_changes(self, store: Store) -> list[str]:
        """Queue every significant change found by a check that a channel has not had yet."""
        errors: list[str] = []
        built: dict[int, tuple[ChangeRecord, str] | None] = {}
        for ch in self.channels:
            for cid in store.outbox_unqueued_changes(ch.key):
                if cid not in built:
                    try:
                        record = store.change(cid)
                        built[cid] = (record, json.dumps(payload(record, page_url(store, record, self.base)),
                                                         ensure_ascii=False)) if record else None
                    except Exception as e:  # noqa: BLE001 - one bad record must not stop the others
                        errors.append(f"notification for change {cid} not built: {type(e).__name__}: {e}")
                        built[cid] = None
                item = built[cid]
                if item is None:
                    continue
                record, data = item
                store.outbox_queue(ch.key, f"change:{record.document_id}:{record.to_version}", data,
                                   document_id=record.document_id, change_id=cid)
        return errors

    def deliver(self, store: Store) -> list[str]:
        """Queue new changes, then send every event waiting for these channels; one line per failure.

        A failed event stays queued (the next cycle tries again); a delivered one is never sent again."""
        errors = self.queue_changes(store)
        for ch in self.channels:
            for oid, _event, data in store.outbox_claim(ch.key):
                err = ch.send(json.loads(data))
                store.outbox_done(oid, err)
                if err:
                    errors.append(f"notify {ch.label}: {err}; kept, tried again at the next check")
        return errors

    # ------------------------------------------------------------------ at once (no outbox)

    def send(self, record: ChangeRecord, page: str | None = None) -> list[str]:
        """Notify one change now. ``page`` overrides the page URL (see ``page_url``, which needs the store)."""
        try:
            body = payload(record, page)
        except Exception as e:  # noqa: BLE001 - a bad record must not break the caller
            return [f"notification for change {record.id} not built: {type(e).__name__}: {e}"]
        return self.post_event(body)

    def post_event(self, body: dict[str, Any]) -> list[str]:
        errors = []
        for ch in self.channels:
            err = ch.send(body)
            if err:
                errors.append(f"notify {ch.label}: {err}")
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


def notify_changes(notifier: Notifier, store: Store, change_ids: Iterable[int]) -> list[str]:
    """Send one event per stored change id at once, without the outbox (read back from the store)."""
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
