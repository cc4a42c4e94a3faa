"""The preset zlib dictionary of stored diffs (``changes.diff``, migration 7; issue 20).

A diff is a JSON object whose keys and small values repeat in every change ("kind":"modified",
"edits":[{"op":"equal",...). Compressed alone, each diff pays for them again; given this skeleton as
zlib's preset dictionary, it does not: on the development archive the diffs went from 25.2 to about
22.7 MB. A stream made with it says so in its header (zlib's FDICT flag and the dictionary's Adler-32),
so ``codec.unpack`` reads both kinds.

The dictionary is part of the file format: the bytes must never change (``test_diff_zdict_is_frozen``
pins them). A new dictionary would need its own Adler-32 check in ``codec.unpack``. It is built from
the names of the diff format and a few generic words, never from a policy's text.
"""

from __future__ import annotations

import json

_TAGS = ("ai-training", "biometrics", "data-sharing", "data-retention", "children", "location", "law-enforcement",
         "user-rights", "tracking-advertising", "arbitration")
_POLARITIES = ("affirmed", "negated", "restricted", "conditional")
_WORDS = (" the of and to your we you or for in that information may with by is are this our use data personal "
          "services service privacy policy such as other any be not on share third parties including")


def _change(kind: str, i: int, tag: str | None = None, significant: bool = True) -> dict:
    return {"kind": kind, "section": "", "old": "" if kind != "added" else None,
            "new": "" if kind != "removed" else None,
            "similarity": 0.9 if kind == "modified" else (1.0 if kind == "moved" else 0.0),
            "edits": [{"op": op, "old": "", "new": ""} for op in ("equal", "replace", "equal", "insert", "equal",
                                                                  "delete")] if kind == "modified" else [],
            "significant": significant, "old_index": i, "new_index": i,
            "clause_kind": "paragraph" if i % 3 else "list-item", "reason": "" if significant else "metadata",
            "tags": [tag] if tag else [], "possible": [], "polarity": {tag: _POLARITIES[i % 4]} if tag else {},
            "evidence": {tag: [{"rule": "", "start": 0, "end": 0, "text": ""}]} if tag else {},
            "directions": {tag: ("added", "removed", "flipped", "changed")[i % 4]} if tag else {},
            "old_polarity": {tag: _POLARITIES[(i + 1) % 4]} if tag and kind == "modified" else {}}


def _build() -> bytes:
    changes = []
    for i, tag in enumerate(_TAGS):
        changes.append(_change(("modified", "added", "removed", "moved")[i % 4], i, tag))
        changes.append(_change("modified", i + 10))
    changes.append(_change("modified", 30, None, False))
    events = [{"tag": t, "kind": k, "stance": _POLARITIES[j % 4], "old_stance": "", "sentence": "",
               "old_sentence": "", "section": "", "change": j}
              for j, (t, k) in enumerate((t, k) for t in _TAGS[:2] for k in ("added", "removed", "stance"))]
    doc = {"changes": changes, "substitutions": [{"old": "", "new": "", "count": 1}], "events": events, "note": "",
           "stats": {"added": 1, "removed": 1, "modified": 1, "moved": 0, "significant": 1, "insignificant": 0}}
    return _WORDS.encode("utf-8") + json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


DIFF_ZDICT = _build()
