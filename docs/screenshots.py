"""Make the screenshots in docs/screenshots/ (shown in the README) with headless Chromium.

    python docs/screenshots.py [OUT_DIR]

Builds a store from the real before/after pairs of ../shared/corpus/cases (Open Terms Archive data,
ODC-BY 1.0: Open Terms Archive and its contributors), its feeds folder and a report, then takes the
first screen of the index, the X 2023 change page and the report at 1280 px and at 390 px (a phone).
Needs ../shared and Debian's chromium; writes nothing else into the repository.
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


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not CASES.is_dir():
        print("needs ../shared/corpus/cases and chromium", file=sys.stderr)
        return 2
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        feeds = build(Path(tmp))
        for name, rel in SHOTS.items():
            for width, height in ((1280, 1000), (390, 844)):
                png = out / f"{name}-{width}.png"
                subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp}/profile", f"--window-size={width},{height}",
                                f"--screenshot={png}", (feeds / rel).as_uri()], check=True, capture_output=True,
                               timeout=120)
                print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
