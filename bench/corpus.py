"""A synthetic but realistic privacy-policy corpus, served on 127.0.0.1.

Why synthetic: benchmarks must be reproducible offline and must not copy real policies into the
repository. The pages imitate what trackers meet in the wild: 20-40 KB of HTML where the policy text sits
in ``<main>`` between a cookie banner, a navigation bar, a footer and inline scripts; h2/h3 sections,
paragraphs, nested lists introduced by a lead-in sentence, a retention table and a "Last updated" date.
Everything is derived from ``(seed, page index)``, so two runs serve byte-identical pages.

The server answers conditional GETs (ETag / If-None-Match, Last-Modified / If-Modified-Since) with 304,
as real CMSs and CDNs do, because that is what decides how cheap an unchanged cycle can be.

Library use::

    corpus = Corpus(200, seed=1)
    with CorpusServer(corpus) as srv:
        urls = srv.urls()
        ...
        changed = corpus.mutate(changed=0.10, date_only=0.05, seed=2)

Script use::

    python bench/corpus.py serve --n 200 --port 8765
    python bench/corpus.py write --n 5 --out bench/out/pages
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import hashlib
import html
import math
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# --------------------------------------------------------------------------- vocabulary

_SYL = ["ka", "lo", "mi", "ra", "ten", "vo", "zu", "bel", "cor", "dex", "fin", "gal", "hex", "jo", "lum",
        "nor", "pix", "qua", "sol", "tri", "vex", "wyn", "ya", "zen", "ar", "is", "on", "ex", "um", "io"]
_SUFFIX = ["", " Inc.", " Labs", " Ltd", " AG", " Technologies", " Media", " Cloud", " Health", " Pay"]

_ACTORS = ["we", "our service providers", "our affiliates", "the company", "our processors",
           "authorised personnel", "our partners", "our subsidiaries", "our vendors", "our support staff"]
_VERBS = ["collect", "process", "store", "use", "share", "retain", "analyse", "combine", "disclose",
          "transfer", "aggregate", "record", "receive", "infer", "access"]
_DATA = ["your name and email address", "device identifiers", "IP addresses", "location data",
         "payment card details", "browsing history on our sites", "purchase history",
         "content you upload", "voice recordings", "contact lists you choose to import",
         "usage statistics", "crash reports", "account credentials", "profile photographs",
         "messages you send to support", "approximate location derived from your IP address",
         "information about your interests", "advertising identifiers", "cookie identifiers",
         "the date and time of your visits", "health and fitness information you enter",
         "biometric templates used for face unlock", "precise geolocation", "information from social networks",
         "survey responses", "job application materials", "transaction records", "referral information"]
_PURPOSES = ["to provide and maintain the service", "to process your transactions",
             "to personalise content and recommendations", "to detect and prevent fraud",
             "to comply with legal obligations", "to improve and develop new features",
             "to measure the effectiveness of advertising", "to communicate with you about updates",
             "to train and improve our machine learning models", "to secure our systems",
             "to respond to your requests", "to conduct research and analytics",
             "to enforce our terms of service", "to verify your identity", "to provide customer support"]
_CONDITIONS = ["where you have given consent", "when required by law", "unless you opt out",
               "for as long as your account is active", "where permitted by applicable law",
               "subject to appropriate safeguards", "in accordance with this policy",
               "to the extent necessary", "where we have a legitimate interest",
               "on the basis of a contract with you", "only in pseudonymised form",
               "after removing direct identifiers"]
_ADVERBS = ["promptly", "securely", "reasonably", "periodically", "automatically", "manually",
            "occasionally", "regularly", "strictly", "transparently"]
_RIGHTS = ["access the personal data we hold about you", "correct inaccurate data",
           "request deletion of your data", "object to processing", "restrict processing",
           "receive a portable copy of your data", "withdraw consent at any time",
           "lodge a complaint with a supervisory authority", "opt out of the sale of personal information",
           "opt out of targeted advertising", "appeal a decision we made about your request"]
_SECTIONS = [
    ("Information We Collect", ["Information you provide", "Information collected automatically",
                                "Information from third parties"]),
    ("How We Use Information", ["Providing the service", "Personalisation", "Research and development"]),
    ("How We Share Information", ["Service providers", "Legal requirements", "Business transfers"]),
    ("Cookies and Similar Technologies", ["Essential cookies", "Analytics cookies", "Advertising cookies"]),
    ("Data Retention", []),
    ("International Transfers", ["Standard contractual clauses", "Adequacy decisions"]),
    ("Your Rights and Choices", ["Access and portability", "Deletion", "Marketing preferences"]),
    ("Children's Privacy", []),
    ("Security", ["Technical measures", "Organisational measures"]),
    ("Artificial Intelligence Features", ["Model training", "Automated decisions"]),
    ("Regional Disclosures", ["California", "European Economic Area", "Brazil"]),
    ("Changes to This Policy", []),
    ("Contact Us", []),
]
_RETENTION = ["30 days", "90 days", "6 months", "12 months", "2 years", "3 years", "7 years",
              "the life of the account", "until you delete it", "as required by law"]
_NAV = ["Products", "Solutions", "Pricing", "Developers", "Docs", "Blog", "Careers", "Press", "Investors",
        "Support", "Community", "Partners", "Status", "Security", "Accessibility", "Sitemap", "Contact sales"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


def _company(rng: random.Random) -> str:
    word = "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3)))
    return word.capitalize() + rng.choice(_SUFFIX)


def _sentence(rng: random.Random, company: str) -> str:
    """One clause-like sentence; the combinations give thousands of distinct sentences."""
    actor = rng.choice(_ACTORS)
    if actor == "the company":
        actor = company
    form = rng.randrange(5)
    if form == 0:
        s = f"{actor} may {rng.choice(_VERBS)} {rng.choice(_DATA)} {rng.choice(_PURPOSES)}, {rng.choice(_CONDITIONS)}"
    elif form == 1:
        s = (f"{actor} {rng.choice(_ADVERBS)} {rng.choice(_VERBS)} {rng.choice(_DATA)} and "
             f"{rng.choice(_DATA)} {rng.choice(_PURPOSES)}")
    elif form == 2:
        s = f"You have the right to {rng.choice(_RIGHTS)}, {rng.choice(_CONDITIONS)}"
    elif form == 3:
        s = (f"When you use the {company} app, {actor} {rng.choice(_VERBS)} {rng.choice(_DATA)} "
             f"{rng.choice(_CONDITIONS)} and keep it {_keep(rng.choice(_RETENTION))}")
    else:
        s = (f"We do not {rng.choice(_VERBS)} {rng.choice(_DATA)} {rng.choice(_PURPOSES)} "
             f"except {rng.choice(_CONDITIONS)}")
    return s[0].upper() + s[1:] + "."


def _keep(period: str) -> str:
    return period if period.startswith(("until", "as ")) else "for " + period


def _paragraph(rng: random.Random, company: str) -> str:
    return " ".join(_sentence(rng, company) for _ in range(rng.randint(2, 4)))


# --------------------------------------------------------------------------- page model

@dataclass
class Block:
    """One piece of the policy body. kind: h2, h3, p, ul (lead-in + items with optional sub-items), table."""

    kind: str
    text: str = ""
    items: list[tuple[str, list[str]]] = field(default_factory=list)
    rows: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Page:
    index: int
    company: str
    date: dt.date
    blocks: list[Block]
    noise_seed: int
    version: int = 0
    last_modified: float = 0.0
    body: bytes = b""
    etag: str = ""


def _build_blocks(rng: random.Random, company: str, target: int) -> list[Block]:
    """Sections until the text is about ``target`` bytes (the noise adds the rest)."""
    blocks: list[Block] = [Block("p", _paragraph(rng, company))]
    size = 0
    sections = list(_SECTIONS)
    n = 0
    table_done = False
    while size < target:
        title, subs = sections[n % len(sections)]
        n += 1
        label = title if n <= len(sections) else f"{title} ({rng.choice(['continued', 'additional', 'supplement'])})"
        blocks.append(Block("h2", f"{n}. {label}"))
        blocks.append(Block("p", _paragraph(rng, company)))
        if title == "Data Retention" and not table_done:
            rows = [(d[0].upper() + d[1:], rng.choice(_PURPOSES)[3:], rng.choice(_RETENTION))
                    for d in rng.sample(_DATA, rng.randint(5, 9))]
            blocks.append(Block("table", rows=rows))
            table_done = True
        for j, sub in enumerate(subs[: rng.randint(1, len(subs))] if subs else []):
            blocks.append(Block("h3", f"{n}.{j + 1} {sub}"))
            blocks.append(Block("p", _paragraph(rng, company)))
            if rng.random() < 0.6:
                lead = rng.choice(["We collect the following categories:", "This includes:",
                                   "For example, we may:", "In particular:", "These purposes include:"])
                items = []
                for _ in range(rng.randint(3, 6)):
                    subitems = [_sentence(rng, company) for _ in range(rng.randint(2, 3))] if rng.random() < 0.3 else []
                    items.append((_sentence(rng, company), subitems))
                blocks.append(Block("ul", lead, items=items))
        size = sum(len(b.text) + sum(len(i) + sum(map(len, s)) for i, s in b.items) + 60 * len(b.rows)
                   for b in blocks)
    if not table_done:
        blocks.append(Block("h2", f"{n + 1}. Data Retention"))
        rows = [(d[0].upper() + d[1:], rng.choice(_PURPOSES)[3:], rng.choice(_RETENTION))
                for d in rng.sample(_DATA, 6)]
        blocks.append(Block("table", rows=rows))
    return blocks


def _fmt_date(d: dt.date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def _noise_head(rng: random.Random, company: str) -> str:
    css = "".join(f".c{rng.randrange(10**6)}{{margin:{rng.randint(0, 40)}px;color:#{rng.randrange(16**6):06x}}}"
                  for _ in range(25))
    script = ";".join(f"window.__cfg{i}={{id:'{rng.randrange(16**10):010x}',t:{rng.randint(1, 9999)}}}"
                      for i in range(12))
    nav = "".join(f'<li class="nav-item"><a href="/{w.lower().replace(" ", "-")}">{w}</a></li>'
                  for w in rng.sample(_NAV, rng.randint(9, len(_NAV))))
    banner = ('<div id="cookie-consent" class="cookie-banner" role="dialog"><p>We and our '
              f'{rng.randint(12, 900)} partners use cookies to improve your experience, analyse traffic and '
              'serve personalised ads. Select "Accept all" to agree or "Manage" to choose.</p>'
              '<button class="accept">Accept all</button><button class="reject">Reject all</button>'
              '<a href="/cookies">Manage preferences</a></div>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Privacy Policy | {html.escape(company)}</title><style>{css}</style>"
            f"<script>{script}</script></head>\n<body>\n{banner}\n"
            f'<header class="site-header"><a class="logo" href="/">{html.escape(company)}</a>'
            f'<nav aria-label="Main"><ul>{nav}</ul></nav>'
            f'<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>\n')


def _noise_foot(rng: random.Random, company: str, year: int) -> str:
    cols = []
    for title in ("Company", "Resources", "Legal", "Follow us"):
        links = "".join(f'<li><a href="/{w.lower().replace(" ", "-")}">{w}</a></li>'
                        for w in rng.sample(_NAV, 6))
        cols.append(f'<div class="footer-col"><h4>{title}</h4><ul>{links}</ul></div>')
    tracker = ";".join(f"dataLayer.push({{event:'e{i}',v:'{rng.randrange(16**8):08x}'}})" for i in range(10))
    return (f'<footer class="site-footer">{"".join(cols)}<p class="copyright">&copy; {year} '
            f"{html.escape(company)}. All rights reserved.</p></footer>\n"
            f"<script>window.dataLayer=window.dataLayer||[];{tracker}</script>\n</body></html>\n")


def render(page: Page) -> bytes:
    """The full HTML of a page. Noise is re-derived from ``noise_seed`` so it is stable across versions."""
    rng = random.Random(page.noise_seed)
    esc = html.escape
    out = [_noise_head(rng, page.company), '<main id="content"><article class="policy">',
           f"<h1>{esc(page.company)} Privacy Policy</h1>",
           f'<p class="last-updated">Last updated: {_fmt_date(page.date)}</p>']
    for b in page.blocks:
        if b.kind in ("h2", "h3"):
            out.append(f"<{b.kind}>{esc(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{esc(b.text)}</p>")
        elif b.kind == "ul":
            lis = []
            for item, subs in b.items:
                inner = "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in subs) + "</ul>" if subs else ""
                lis.append(f"<li>{esc(item)}{inner}</li>")
            out.append(f"<p>{esc(b.text)}</p><ul>{''.join(lis)}</ul>")
        elif b.kind == "table":
            head = "<thead><tr><th>Category of data</th><th>Purpose</th><th>Retention period</th></tr></thead>"
            body = "".join(f"<tr><td>{esc(a)}</td><td>{esc(p)}</td><td>{esc(r)}</td></tr>" for a, p, r in b.rows)
            out.append(f'<table class="retention">{head}<tbody>{body}</tbody></table>')
        out.append("\n")
    out.append("</article></main>\n")
    out.append(_noise_foot(rng, page.company, 2025))
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------- corpus

MIN_SIZE, MAX_SIZE = 20_000, 40_000


class Corpus:
    """N pages, deterministic from ``seed``; thread-safe reads while the server runs."""

    def __init__(self, n: int, seed: int = 1) -> None:
        self.n = n
        self.seed = seed
        self._lock = threading.Lock()
        self.pages: list[Page] = []
        self.reset()

    def reset(self) -> None:
        """Back to the seed state (same bytes, fresh Last-Modified), so every tool sees the same history."""
        pages = [self._make(i) for i in range(self.n)]
        with self._lock:
            self.pages = pages

    def _make(self, i: int) -> Page:
        rng = random.Random(f"{self.seed}:{i}")
        company = _company(rng)
        date = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(700))
        noise_seed = rng.randrange(2**32)
        target_total = rng.randint(MIN_SIZE + 2500, MAX_SIZE - 4000)
        page = Page(i, company, date, [], noise_seed)
        noise = len(render(page))  # head + foot with an empty body
        page.blocks = _build_blocks(rng, company, max(2000, int((target_total - noise) / 1.12)))
        self._finish(page)
        return page

    @staticmethod
    def _finish(page: Page) -> None:
        page.body = render(page)
        page.etag = '"' + hashlib.sha1(page.body).hexdigest()[:20] + '"'
        page.last_modified = max(math.ceil(time.time()), page.last_modified + 1)

    def path(self, i: int) -> str:
        return f"/policies/{i:05d}/privacy"

    def lookup(self, path: str) -> Page | None:
        parts = path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "policies" and parts[2] == "privacy" and parts[1].isdigit():
            i = int(parts[1])
            if 0 <= i < self.n:
                with self._lock:
                    return self.pages[i]
        return None

    def mutate(self, changed: float = 0.10, date_only: float = 0.05, seed: int = 2,
               bump_date_on_change: bool = True) -> dict[str, list[int]]:
        """Edit ``changed`` of the pages (one clause edited, added or removed, in rotation) and give
        ``date_only`` others a new "Last updated" date and nothing else. Returns the chosen indices.

        The two sets are disjoint. Changed pages also get a new date by default, as real edits do.
        """
        rng = random.Random(f"mutate:{self.seed}:{seed}")
        k_changed = round(self.n * changed)
        k_date = round(self.n * date_only)
        chosen = rng.sample(range(self.n), k_changed + k_date)
        edit_ids, date_ids = sorted(chosen[:k_changed]), sorted(chosen[k_changed:])
        kinds = {"edited": [], "added": [], "removed": []}
        with self._lock:
            pages = list(self.pages)
        for j, i in enumerate(edit_ids):
            old = pages[i]
            page = Page(old.index, old.company, old.date, [Block(b.kind, b.text, list(b.items), list(b.rows))
                                                           for b in old.blocks], old.noise_seed, old.version + 1,
                        old.last_modified)
            kind = ("edited", "added", "removed")[j % 3]
            _change_clause(page, kind, rng)
            kinds[kind].append(i)
            if bump_date_on_change:
                page.date = page.date + dt.timedelta(days=rng.randint(1, 60))
            self._finish(page)
            pages[i] = page
        for i in date_ids:
            old = pages[i]
            page = Page(old.index, old.company, old.date + dt.timedelta(days=rng.randint(1, 60)), old.blocks,
                        old.noise_seed, old.version + 1, old.last_modified)
            self._finish(page)
            pages[i] = page
        with self._lock:
            self.pages = pages
        return {"changed": edit_ids, "date_only": date_ids, **kinds}


def _change_clause(page: Page, kind: str, rng: random.Random) -> None:
    """One clause-level change inside <main>: a few words of one paragraph, a new paragraph, or one removed."""
    paras = [k for k, b in enumerate(page.blocks) if b.kind == "p"]
    k = rng.choice(paras[1:] or paras)
    if kind == "edited":
        b = page.blocks[k]
        sentences = b.text.split(". ")
        s = rng.randrange(len(sentences))
        sentences[s] = sentences[s].replace(" may ", " will ", 1) if " may " in sentences[s] else (
            sentences[s] + ", including to train artificial intelligence models")
        page.blocks[k] = Block("p", ". ".join(sentences))
    elif kind == "added":
        new = (f"We may use {rng.choice(_DATA)} to train and improve artificial intelligence models, "
               f"{rng.choice(_CONDITIONS)}.")
        page.blocks.insert(k + 1, Block("p", new))
    else:
        del page.blocks[k]


# --------------------------------------------------------------------------- server

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers
    server_version = "corpus/1"
    corpus: Corpus
    stats: dict[str, int]
    stats_lock: threading.Lock

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence access log
        pass

    def _count(self, key: str) -> None:
        with self.stats_lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/robots.txt":
            self._count("robots")
            self._send(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
            return
        page = self.corpus.lookup(self.path)
        if page is None:
            self._count("404")
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        lm = email.utils.formatdate(page.last_modified, usegmt=True)
        headers = {"ETag": page.etag, "Last-Modified": lm, "Cache-Control": "no-cache"}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            fresh = page.etag in tags or "*" in tags
        elif ims:
            try:
                fresh = email.utils.parsedate_to_datetime(ims).timestamp() >= page.last_modified
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self._count("304")
            self._send(304, headers=headers)
            return
        self._count("200")
        self._send(200, page.body, {**headers, "Content-Type": "text/html; charset=utf-8"})


class CorpusServer:
    """ThreadingHTTPServers serving ``corpus``, in daemon threads.

    With ``hosts`` > 1 the pages are spread over loopback addresses 127.0.0.1 .. 127.0.0.<hosts> (page i on
    address i % hosts), because real policies live on many hosts and watchers limit requests per host:
    a single-host corpus would measure a politeness setting, not the watcher.
    """

    def __init__(self, corpus: Corpus, host: str = "127.0.0.1", port: int = 0, hosts: int = 1) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError("hosts must be 1..250")
        self.corpus = corpus
        self.stats: dict[str, int] = {}
        handler = type("Handler", (_Handler,), {"corpus": corpus, "stats": self.stats,
                                                "stats_lock": threading.Lock()})
        prefix = host.rsplit(".", 1)[0]
        first = int(host.rsplit(".", 1)[1])
        self.servers: list[ThreadingHTTPServer] = []
        for k in range(hosts):
            httpd = ThreadingHTTPServer((f"{prefix}.{first + k}" if hosts > 1 else host, port), handler)
            httpd.daemon_threads = True
            httpd.request_queue_size = 256
            self.servers.append(httpd)
        self.httpd = self.servers[0]
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _base(httpd: ThreadingHTTPServer) -> str:
        host, port = httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base(self) -> str:
        return self._base(self.httpd)

    def url(self, i: int) -> str:
        return self._base(self.servers[i % len(self.servers)]) + self.corpus.path(i)

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(self.corpus.n)]

    def take_stats(self) -> dict[str, int]:
        """Counts of answers since the last call (200, 304, robots, 404)."""
        out = dict(self.stats)
        self.stats.clear()
        return out

    def start(self) -> CorpusServer:
        for httpd in self.servers:
            t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for httpd in self.servers:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> CorpusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- declarations for the tools

def service_name(corpus: Corpus, i: int) -> str:
    """Unique, stable service name (company names may collide)."""
    return f"{corpus.pages[i].company.split()[0]} {i:05d}"


def write_policies(corpus: Corpus, urls: list[str], folder: Path) -> Path:
    """One policy-tracker TOML declaration per page, selecting ``main`` as users would."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.toml"):
        old.unlink()
    for i in range(corpus.n):
        name = service_name(corpus, i)
        (folder / f"svc-{i:05d}.toml").write_text(
            f'name = "{name}"\n\n[documents."Privacy Policy"]\nurl = "{urls[i]}"\nselect = ["main"]\n',
            encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- script

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the corpus until interrupted")
    s.add_argument("--n", type=int, default=200)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--hosts", type=int, default=1, help="spread pages over 127.0.0.1..127.0.0.<hosts>")
    s.add_argument("--policies", type=Path, help="also write policy-tracker declarations here")
    w = sub.add_parser("write", help="write the pages as .html files")
    w.add_argument("--n", type=int, default=5)
    w.add_argument("--seed", type=int, default=1)
    w.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    corpus = Corpus(args.n, args.seed)
    if args.cmd == "write":
        args.out.mkdir(parents=True, exist_ok=True)
        for p in corpus.pages:
            (args.out / f"{p.index:05d}.html").write_bytes(p.body)
        sizes = [len(p.body) for p in corpus.pages]
        print(f"wrote {len(sizes)} pages to {args.out}, {min(sizes)}-{max(sizes)} bytes")
        return
    srv = CorpusServer(corpus, port=args.port, hosts=args.hosts).start()
    if args.policies:
        write_policies(corpus, srv.urls(), args.policies)
    print(f"serving {corpus.n} pages at {srv.url(0)} ... (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
