"""Screenshots of the pages policy-tracker publishes, with headless Chromium.

    python docs/screenshots.py --demo      # the bundled demo, into docs/ (shown in the README)
    python docs/screenshots.py [OUT_DIR]   # real pages, into docs/screenshots/ (not kept in git)

Both take the first screen of the index, a change page and the report at 1280 px and at 390 px (a
phone). ``--demo`` runs ``policy-tracker demo`` (text written for this project) in a temporary
folder. Without it, a store is built from the real before/after pairs of ../shared/corpus/cases
(Open Terms Archive data, ODC-BY 1.0: Open Terms Archive and its contributors) and the change page
is X's 2023 one; those screenshots show real policy texts, so they stay out of the repository.
Needs Debian's chromium (and ../shared without ``--demo``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from tracker.check import analyse
from tracker.models import Document
from tracker.publish.build import build_feeds, change_file, service_slugs
from tracker.publish.report import build_rows, render_html
from tracker.sources.ota_urls import archive_file_url
from tracker.store.database import Store
from tracker.text.markdown import extract_markdown

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared/corpus/cases"
SERVICES = {"x": "X", "google": "Google", "zoom": "Zoom", "tinder": "Tinder", "match": "Match"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars"]
SHOTS = {"index": "index.html", "change-x-2023": "changes/x-privacy-policy-v2.html", "report": "report.html"}


def _ts(day: str) -> float:
    return datetime.fromisoformat(day + "T12:00:00+00:00").timestamp()


def build(work: Path) -> Path:
    manifest = json.loads((CASES / "manifest.json").read_text(encoding="utf-8"))
    store = Store(work / "t.db")
    for case in manifest:
        if case.get("cosmetic_only"):
            continue
        folder = CASES / case["id"]
        service = SERVICES[case["id"].split("-")[0]]
        after = case["after"]
        url = archive_file_url(f"https://github.com/{after['repo']}", after["path"], after["commit"])
        doc = Document(service, case["document_type"], url)
        row = store.ensure_documents([doc])[doc.key]
        old = extract_markdown((folder / "before.md").read_text(encoding="utf-8")).clauses
        new = extract_markdown((folder / "after.md").read_text(encoding="utf-8")).clauses
        with store.transaction():
            store.add_version(row.id, text="before", clauses=old, recorded_at=_ts(case["before"]["date_recorded"]))
            v = store.add_version(row.id, text="after", clauses=new, recorded_at=_ts(after["date_recorded"]))
            store.add_change(row.id, v.number - 1, v.number, analyse(old, new, "en"),
                             detected_at=_ts(after["date_recorded"]))
    feeds = work / "feeds"
    build_feeds(store, feeds, base_url="local")
    records = sorted(store.changes(), key=lambda r: r.detected_at)
    slugs = service_slugs(store.service_names())
    pages = {r.id: "changes/" + change_file(r.service, r.type, r.to_version, slugs) for r in records}
    (feeds / "report.html").write_text(render_html(build_rows(records), pages=pages), encoding="utf-8")
    store.close()
    return feeds


DEMO_SHOTS = {"demo-index": "index.html", "demo-change": "changes/chirpline-privacy-policy-v2.html",
              "demo-report": "report.html"}


def build_demo(work: Path) -> Path:
    """The demo's folder (its feeds, and a report of every tag beside them)."""
    tool = [sys.executable, "-m", "tracker"]
    subprocess.run([*tool, "demo"], cwd=work, check=True, capture_output=True, timeout=300)
    folder = work / "policy-tracker-demo-1"
    subprocess.run([*tool, "report", "--format", "html", "-o", "feeds/report.html"], cwd=folder, check=True,
                   capture_output=True, timeout=120)
    return folder / "feeds"


def main() -> int:
    demo = "--demo" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--demo"]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not (demo or CASES.is_dir()):
        print("needs chromium" + ("" if demo else " and ../shared/corpus/cases"), file=sys.stderr)
        return 2
    out = Path(args[0]) if args else ROOT / ("docs" if demo else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        feeds = build_demo(Path(tmp)) if demo else build(Path(tmp))
        for name, rel in (DEMO_SHOTS if demo else SHOTS).items():
            for width, height in ((1280, 1000), (390, 844)):
                png = out / f"{name}-{width}.png"
                subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp}/profile", f"--window-size={width},{height}",
                                f"--screenshot={png}", (feeds / rel).as_uri()], check=True, capture_output=True,
                               timeout=120)
                print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
