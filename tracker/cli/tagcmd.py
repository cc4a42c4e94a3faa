"""``policy-tracker tag [FILE]``: tag clauses read as JSON Lines (or plain-text paragraphs).

JSON Lines in (field ``text``; other fields are passed through), JSON Lines out with ``tags``,
``possible``, ``polarity`` and ``evidence`` added. Input that is not JSON is read as plain text
and tagged paragraph by paragraph (blank-line separated), each output line carrying ``text``.
Named ``tagcmd`` so that the module does not shadow :mod:`tracker.compare.tag`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from tracker.cli.main import cli
from tracker.errors import TrackerError

_PARA = re.compile(r"\n\s*\n")


def _read(file: str | None) -> tuple[str, str]:
    """The input text and its name for messages."""
    if file in (None, "-"):
        return sys.stdin.read(), "stdin"
    p = Path(file)
    if not p.is_file():
        raise TrackerError(f"tag: no such file: {file}")
    try:
        return p.read_text(encoding="utf-8-sig"), file
    except UnicodeDecodeError as e:
        raise TrackerError(f"tag: {file} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def _looks_like_json_lines(text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def _records(text: str, name: str) -> Iterator[dict]:
    """Input records: JSON objects with ``text``, or paragraphs of plain text."""
    if not _looks_like_json_lines(text):
        for para in _PARA.split(text):
            para = para.strip()
            if para:
                yield {"text": para}
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TrackerError(f"tag: {name} line {n}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise TrackerError(f"tag: {name} line {n}: a JSON object with a string field \"text\" is needed")
        yield obj


@cli.command("tag")
@click.argument("file", required=False)
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None,
              help="Language of the clauses (default: detected per clause, or the record's `lang`).")
def tag_cmd(file: str | None, lang: str | None) -> None:
    """Tag clauses (AI training, biometrics, ...) with polarity and evidence.

    Reads JSON Lines with a `text` field (other fields are passed through) from FILE or stdin
    and writes JSON Lines with `tags`, `possible`, `polarity` and `evidence` added. Plain text
    is tagged paragraph by paragraph."""
    from tracker.compare.tag import tag_text

    text, name = _read(file)
    out = sys.stdout
    # validate everything before writing, so bad input gives one line and no partial output
    records = list(_records(text, name))
    for rec in records:
        res = tag_text(rec["text"], lang or rec.get("lang"))
        rec.update(res.to_dict())
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
