"""Cost of `browser = true`: a headless-Chromium render vs a plain GET of the same page, on 127.0.0.1.

Prints seconds per fetch (median of --n), the ratio browser/plain, and the wall time of --parallel
renders started at once (at most tracker.capture.browser.MAX_BROWSERS run together).

    .venv/bin/python bench/browser_fetch.py --n 5 --parallel 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tracker.capture.browser import MAX_BROWSERS, find_chromium, render
from tracker.capture.fetch import Fetcher

CLAUSES = [f"Clause {i}: we process the data you give us for purpose number {i} under contract." for i in range(200)]
PAGE = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Privacy</title></head><body>"
        "<div id=app>Loading</div><script>var c=CLAUSES_JSON;setTimeout(function(){var a=document.getElementById('app');"
        "c.forEach(function(t){var p=document.createElement('p');p.textContent=t;a.appendChild(p);});},200);"
        "</script></body></html>").replace("CLAUSES_JSON", json.dumps(CLAUSES))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=4)
    args = ap.parse_args()
    if find_chromium() is None:
        raise SystemExit("no chromium on PATH")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/privacy"
    with Fetcher() as f:
        plain = [f.fetch(url).duration for _ in range(args.n)]
    rendered = []
    for _ in range(args.n):
        r = render(url)
        assert r.ok and b"Clause 199" in r.body, r
        rendered.append(r.duration)
    p, b = statistics.median(plain), statistics.median(rendered)
    print(f"plain GET      median {p * 1000:8.1f} ms  (n={args.n})")
    print(f"browser render median {b * 1000:8.1f} ms  min {min(rendered) * 1000:.0f} max {max(rendered) * 1000:.0f}")
    print(f"ratio browser/plain: {b / p:,.0f}x")
    start = time.monotonic()
    threads = [threading.Thread(target=render, args=(f"{url}?{i}",)) for i in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    print(f"{args.parallel} renders at once (max {MAX_BROWSERS} browsers): {wall:.2f} s wall, "
          f"{wall / (b * args.parallel):.2f} of serial")
    server.shutdown()


if __name__ == "__main__":
    main()
