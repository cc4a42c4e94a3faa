"""Writing declarations: TOML text for a service (``add``, the demo, the OTA importer), the file it
goes to, and ``add``'s edit of an existing file that keeps everything the person wrote.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import DeclarationError
from tracker.models import Document
from tracker.sources.declarations import (
    DEFAULT_INTERVAL,
    check_service_name,
    format_interval,
    load_file,
    parse_declaration,
    parse_interval,
    selector_spec,
    slugify,
)


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _toml_selectors(items: tuple) -> str:
    parts = []
    for item in items:
        spec = selector_spec(item)
        if isinstance(spec, str):
            parts.append(_toml_str(spec))
        else:
            parts.append("{ " + ", ".join(f"{k} = {_toml_str(v)}" for k, v in spec.items()) + " }")
    return "[" + ", ".join(parts) + "]"


def _comment(text: str) -> list[str]:
    return ["# " + line if line.strip() else "#" for line in text.splitlines()]


def render_declaration(service: str, docs: list[Document], header: str = "",
                       notes: dict[str, list[str]] | None = None) -> str:
    """TOML text for a service (used by ``add`` and the OTA importer).

    ``header`` becomes leading comment lines; ``notes[type]`` comment lines above that document's table
    (the OTA importer records there what it could not carry over).
    """
    lines = _comment(header) if header else []
    lines.append(f"name = {_toml_str(service)}")
    langs = {d.lang for d in docs}
    if len(langs) == 1 and (lang := next(iter(langs))):
        lines.append(f"lang = {_toml_str(lang)}")
    for d in docs:
        lines.append("")
        for note in (notes or {}).get(d.type, []):
            lines += _comment(note)
        table = f"documents.{_toml_str(d.type)}"
        lines += [f"[{table}]", f"url = {_toml_str(d.url)}"]
        if d.select:
            lines.append("select = " + _toml_selectors(d.select))
        if d.remove:
            lines.append("remove = " + _toml_selectors(d.remove))
        if d.interval != DEFAULT_INTERVAL:
            lines.append(f'interval = "{format_interval(d.interval)}"')
        if d.lang and len(langs) > 1:
            lines.append(f"lang = {_toml_str(d.lang)}")
        if d.browser:
            lines.append("browser = true")
        if d.allow_private:
            lines.append("allow_private = true")
        for past in d.history:
            lines += [f"[[{table}.history]]", f"until = {past.until}"]
            if past.url != d.url:
                lines.append(f"url = {_toml_str(past.url)}")
            if past.select:
                lines.append("select = " + _toml_selectors(past.select))
            if past.remove:
                lines.append("remove = " + _toml_selectors(past.remove))
    return "\n".join(lines) + "\n"


def declaration_path(folder: Path, service: str) -> Path:
    """The file for a service, refusing anything that would land outside ``folder``."""
    check_service_name(service)
    path = (Path(folder) / f"{slugify(service)}.toml").resolve()
    if path.parent != Path(folder).resolve():
        raise DeclarationError(f"service name {service!r} would be written outside {folder}")
    return path


# --------------------------------------------------------------------------- editing (`add`)


def _plain(value: object) -> object:
    """A TOML value (tomlkit item or plain) as plain Python, for comparing settings."""
    if hasattr(value, "unwrap"):
        value = value.unwrap()  # type: ignore[union-attr]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _same_setting(key: str, old: object, new: object) -> bool:
    old, new = _plain(old), _plain(new)
    if key in ("select", "remove"):
        old = old if isinstance(old, list) else [old]
        new = new if isinstance(new, list) else [new]
    if key == "interval":
        try:
            return parse_interval(old) == parse_interval(new)
        except ValueError:
            return False
    if key == "lang" and isinstance(old, str) and isinstance(new, str):
        return old.lower() == new.lower()
    return old == new


@dataclass
class Merged:
    """What ``merge_declaration`` made: the new text, and what it did in words."""

    text: str
    verb: str  # added | updated | unchanged
    changed: list[str]


def merge_declaration(path: Path, service: str, type_: str, spec: dict, *, replace: bool = False) -> Merged:
    """Add or update one document in a declaration file, keeping everything else as written.

    The file is edited with a round-trip TOML library (tomlkit): comments, key order, blank lines and
    unrelated keys and documents stay as they are. A setting given in ``spec`` that the file already
    has with another value is an overwrite: refused (``DeclarationError`` listing them) unless
    ``replace``. Settings not given are never dropped. The result is validated like any declaration
    before it is returned, so the caller never writes a file that ``check`` would refuse.
    """
    import tomlkit  # only `add` needs it: importing it costs every command about 40 ms

    service = check_service_name(service)
    spec = {k: v for k, v in spec.items() if v is not None and v != []}
    if not path.exists():
        new_doc = parse_declaration({"name": service, "documents": {type_: spec}}, f"{path} (new)")[0]
        return Merged(render_declaration(service, [new_doc]), "added", [])
    try:
        original = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DeclarationError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    load_file(path)  # a file with problems is not edited: `validate` names them, the person fixes them
    doc = tomlkit.parse(original)
    declared = str(_plain(doc.get("name", ""))).strip()
    if declared != service:
        raise DeclarationError(f"{path} already declares service {declared!r}; use that name")
    documents = doc["documents"]
    existing_type = next((str(k) for k in documents if str(k).strip().casefold() == type_.strip().casefold()), None)
    service_lang = _plain(doc.get("lang"))
    if "lang" in spec and isinstance(service_lang, str) and service_lang.lower() == str(spec["lang"]).lower():
        spec = {k: v for k, v in spec.items() if k != "lang"}  # the service's language already says it
    changed: list[str] = []
    if existing_type is None:
        table = tomlkit.table()
        for key, value in spec.items():
            table[key] = value
        documents[type_.strip()] = table
        verb = "added"
        changed = list(spec)
    else:
        table = documents[existing_type]
        conflicts = []
        for key, value in spec.items():
            if key == "lang" and key not in table and isinstance(service_lang, str):
                old = service_lang  # the document inherits the service's language: a new one overrides it
            else:
                old = table.get(key)
            if old is None:
                table[key] = value
                changed.append(key)
            elif not _same_setting(key, old, value):
                conflicts.append(f"{key} ({_short(old)} -> {_short(value)})")
                if replace:
                    table[key] = value
                    changed.append(key)
        if conflicts and not replace:
            raise DeclarationError(
                f"{path}: {service} / {existing_type} already has {', '.join(conflicts)}; nothing written "
                "(give --replace to overwrite these settings; the others are kept)")
        verb = "updated" if changed else "unchanged"
    text = tomlkit.dumps(doc)
    if not text.endswith("\n"):
        text += "\n"
    parse_declaration(tomllib.loads(text), str(path))  # never return a file that does not load
    return Merged(text, verb, changed)


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(_plain(value), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
