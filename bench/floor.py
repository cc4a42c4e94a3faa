"""The fetch-and-parse floor: the least a watcher must do per cycle, in plain requests + lxml.

For each URL: a conditional GET (If-None-Match / If-Modified-Since from the last cycle); on 304 nothing
else; on 200 parse with lxml, take the text of ``<main>``, hash it, and remember it. State is one JSON file
rewritten per cycle. No diff, no tagging, no history: whatever policy-tracker spends above this is the
price of what it does on top.

    python bench/floor.py --urls urls.txt --state state.json --jobs 8
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lxml.html
import requests

_local = threading.local()


def _session() -> requests.Session:
    s = getattr(_local, "s", None)
    if s is None:
        s = _local.s = requests.Session()
    return s


def check(url: str, prev: dict) -> tuple[str, dict, str]:
    headers = {}
    if prev.get("etag"):
        headers["If-None-Match"] = prev["etag"]
    if prev.get("lm"):
        headers["If-Modified-Since"] = prev["lm"]
    r = _session().get(url, headers=headers, timeout=30)
    if r.status_code == 304:
        return url, prev, "304"
    r.raise_for_status()
    root = lxml.html.fromstring(r.content)
    main = root.find(".//main")
    text = " ".join((main if main is not None else root).text_content().split())
    digest = hashlib.sha256(text.encode()).hexdigest()
    status = "new" if not prev else ("changed" if digest != prev.get("hash") else "same")
    return url, {"etag": r.headers.get("ETag"), "lm": r.headers.get("Last-Modified"), "hash": digest}, status


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", type=Path, required=True)
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=8)
    args = ap.parse_args()
    urls = args.urls.read_text().split()
    state = json.loads(args.state.read_text()) if args.state.exists() else {}
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(args.jobs) as pool:
        for url, entry, status in pool.map(lambda u: check(u, state.get(u, {})), urls):
            state[url] = entry
            counts[status] = counts.get(status, 0) + 1
    args.state.write_text(json.dumps(state))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
