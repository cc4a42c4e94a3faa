"""extract_html speed on 20-40 KB benchmark pages, as a ratio against bs4 parsing the same pages.

The baseline is ``BeautifulSoup(page, "lxml")`` alone (what extraction cost before it walked lxml's
tree), measured in the same run, so the figure holds on any machine.

    python bench/extract_speed.py [--pages 50] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import Corpus, render  # noqa: E402

from tracker.text.html import extract_html  # noqa: E402


def _ms_per_page(fn, pages: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for p in pages:
            fn(p)
        best = min(best, time.perf_counter() - t)
    return 1000 * best / len(pages)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from bs4 import BeautifulSoup

    pages = [render(p) for p in Corpus(args.pages, seed=1).pages]
    extract_html(pages[0])  # imports and caches out of the timing
    bs4_parse = _ms_per_page(lambda p: BeautifulSoup(p, "lxml"), pages, args.repeat)
    auto = _ms_per_page(extract_html, pages, args.repeat)
    main_sel = _ms_per_page(lambda p: extract_html(p, select=("main",)), pages, args.repeat)
    out = {"pages": len(pages), "kb_per_page": round(sum(map(len, pages)) / len(pages) / 1024, 1),
           "bs4_parse_ms": round(bs4_parse, 2), "extract_auto_ms": round(auto, 2),
           "extract_select_main_ms": round(main_sel, 2),
           "bs4_parse_over_extract_auto": round(bs4_parse / auto, 2),
           "bs4_parse_over_extract_select": round(bs4_parse / main_sel, 2)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['pages']} pages, {out['kb_per_page']} KB each")
        print(f"bs4 parse only          {bs4_parse:7.2f} ms/page")
        print(f"extract_html (auto)     {auto:7.2f} ms/page  ({out['bs4_parse_over_extract_auto']}x faster than bs4 parsing)")
        print(f"extract_html select=main {main_sel:6.2f} ms/page  ({out['bs4_parse_over_extract_select']}x)")
    return out


if __name__ == "__main__":
    main()
