"""``import-ota`` on small OTA-shaped declarations written here, through the real CLI (a subprocess):
the licence line, names that slug alike, malformed selectors, unsafe URLs, ``--dry-run``, empty
declarations, ``--help``, and ``--compare`` (drift of our declarations against OTA's)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from helpers import Workspace, assert_one_line_error

from tracker.sources.declarations import load_file, load_policies
from tracker.sources.ota_declarations import encode_url
from tracker.sources.ota_origin import licence_of_text

AGPL = """                    GNU AFFERO GENERAL PUBLIC LICENSE
                       Version 3, 19 November 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
"""
EUPL = """EUROPEAN UNION PUBLIC LICENCE v. 1.2
EUPL © the European Union 2007, 2016
"""


def declaration(folder: Path, name: str, terms: dict, file: str | None = None, key: str = "terms") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file or name}.json"
    path.write_text(json.dumps({"name": name, key: terms}, ensure_ascii=False), encoding="utf-8")
    return path


def privacy(url: str = "https://ex.example/privacy", **extra: object) -> dict:
    return {"Privacy Policy": {"fetch": url, **extra}}


def header(path: Path) -> str:
    """The leading comment of a written file, as one line."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    return " ".join(lines)


def only_toml(ws: Workspace) -> Path:
    (path,) = ws.policies.glob("*.toml")
    return path


# ----------------------------------------------------------------------------- the licence line


def test_licence_is_read_from_the_repository_license_file(ws):
    repo = ws.root / "pga-declarations"
    declaration(repo / "declarations", "Example", privacy())
    (repo / "LICENSE").write_text(AGPL)
    (repo / "metadata.yml").write_text("id: pga\ndeclarations: https://github.com/OpenTermsArchive/pga-declarations\n")
    r = ws.run("import-ota", str(repo))  # the repository root: its declarations/ folder is read
    assert r.code == 0, r.err
    line = header(only_toml(ws))
    assert "Example.json" in line
    assert "https://github.com/OpenTermsArchive/pga-declarations" in line
    assert "licence of the source repository: AGPL-3.0 (from LICENSE)" in line
    assert "ODC-BY" not in only_toml(ws).read_text()


def test_licence_file_beside_the_declarations_and_eupl(ws):
    src = ws.root / "ota"
    path = declaration(src, "Example", privacy())
    (src / "LICENSE.md").write_text(EUPL)
    assert ws.run("import-ota", str(path)).code == 0
    line = header(only_toml(ws))
    assert "licence of the source repository: EUPL-1.2 (from LICENSE.md)" in line
    assert " of " not in line.split("Example.json", 1)[1].split("(")[0]  # no repository claimed


def test_licence_from_package_json_and_repository_from_git_origin_without_credentials(ws):
    repo = ws.root / "clone"
    declaration(repo / "declarations", "Example", privacy())
    (repo / "package.json").write_text('{"license": "EUPL-1.2"}')
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://someone:secret@github.com/o/contrib-declarations.git\n')
    assert ws.run("import-ota", str(repo / "declarations")).code == 0
    line = header(only_toml(ws))
    assert "https://github.com/o/contrib-declarations.git" in line and "secret" not in line
    assert "licence of the source repository: EUPL-1.2 (from package.json)" in line


def test_licence_unknown_without_a_licence_file(ws):
    path = declaration(ws.root / "ota", "Example", privacy())
    assert ws.run("import-ota", str(path)).code == 0
    line = header(only_toml(ws))
    assert "licence of the source repository: unknown" in line
    assert "ODC-BY" not in line


def test_licence_file_not_recognised_is_pointed_at_not_guessed(ws):
    src = ws.root / "ota"
    path = declaration(src, "Example", privacy())
    (src / "COPYING").write_text("All rights reserved by nobody in particular.\n")
    assert ws.run("import-ota", str(path)).code == 0
    assert "licence of the source repository: see COPYING (not recognised)" in header(only_toml(ws))


def test_licence_texts_are_recognised():
    assert licence_of_text(AGPL) == "AGPL-3.0"
    assert licence_of_text(EUPL) == "EUPL-1.2"
    assert licence_of_text("// SPDX-License-Identifier: MIT\n") == "MIT"
    assert licence_of_text("Open Data Commons Attribution License (ODC-By) v1.0") == "ODC-BY-1.0"
    assert licence_of_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007") == "GPL-3.0"
    assert licence_of_text("whatever") is None


# ----------------------------------------------------------------------------- names that slug alike


def test_non_latin_names_get_distinct_stable_files(ws):
    src = ws.root / "ota"
    declaration(src, "Яндекс", privacy("https://yandex.example/privacy"), file="Yandex")
    declaration(src, "微博", privacy("https://weibo.example/privacy"), file="Weibo")
    declaration(src, "Ελληνικά", privacy("https://greek.example/privacy"), file="Greek")
    r = ws.run("import-ota", str(src))
    assert r.code == 0, r.err
    assert "3 services imported" in r.out and "skipped" not in r.err
    files = sorted(p.name for p in ws.policies.glob("*.toml"))
    assert len(files) == 3 and all(f.startswith("service-") for f in files), files
    names = {load_file(ws.policies / f)[0].service for f in files}
    assert names == {"Яндекс", "微博", "Ελληνικά"}
    assert ws.run("validate").code == 0
    again = ws.run("import-ota", str(src), "--force")  # the same names land in the same files
    assert again.code == 0 and sorted(p.name for p in ws.policies.glob("*.toml")) == files


def test_latin_names_that_slug_alike_and_a_file_held_by_another_service(ws):
    (ws.policies / "foo.toml").write_text('name = "Mine"\n[documents.P]\nurl = "https://mine.example/p"\n')
    src = ws.root / "ota"
    declaration(src, "Foo!", privacy("https://a.example/p"), file="A")
    declaration(src, "Foo?", privacy("https://b.example/p"), file="B")
    r = ws.run("import-ota", str(src), "--force")
    assert r.code == 0, r.err
    docs = load_policies(ws.policies)
    assert {d.service for d in docs} == {"Mine", "Foo!", "Foo?"}
    assert "mine.example" in (ws.policies / "foo.toml").read_text()  # --force never takes another's file
    assert len(list(ws.policies.glob("foo-*.toml"))) == 2


# ----------------------------------------------------------------------------- malformed selectors


def test_a_malformed_selector_drops_only_itself_with_a_warning(ws):
    src = ws.root / "ota"
    path = declaration(src, "Example", {
        "Privacy Policy": {"fetch": "https://ex.example/privacy", "select": ["main", "div[[x"],
                           "remove": [".ok", {"startBefore": ":nope(", "endBefore": "footer"}]},
        "Terms of Service": {"fetch": "https://ex.example/terms", "select": "p:unknown-pseudo"},
    })
    r = ws.run("import-ota", str(path))
    assert r.code == 0, r.err
    assert "2 services imported" not in r.out and "1 service imported, 2 documents" in r.out
    assert "select: selector 'div[[x' dropped" in r.out
    assert 'remove: selector {"startBefore": ":nope(", "endBefore": "footer"} dropped' in r.out
    assert "select: selector 'p:unknown-pseudo' dropped" in r.out
    assert "no valid selector left; the page's main content is taken instead" in r.out
    docs = {d.type: d for d in load_file(only_toml(ws))}
    assert docs["Privacy Policy"].select == ("main",) and docs["Privacy Policy"].remove == (".ok",)
    assert docs["Terms of Service"].select == ()
    assert "# select: selector 'div[[x' dropped" in only_toml(ws).read_text()


def test_a_service_whose_every_document_has_a_bad_selector_is_still_imported(ws):
    src = ws.root / "ota"
    declaration(src, "Service Public", {
        "Terms of Service": {"fetch": "https://sp.example/cgu", "select": ["#contenu > > p"]},
        "Privacy Policy": {"fetch": "https://sp.example/donnees", "remove": ["[data-x='1'"]},
    }, key="documents")
    r = ws.run("import-ota", str(src))
    assert r.code == 0, r.err
    assert {d.type for d in load_file(only_toml(ws))} == {"Terms of Service", "Privacy Policy"}


def test_a_bad_selector_in_a_history_entry_keeps_the_entry(ws):
    src = ws.root / "ota"
    declaration(src, "Example", privacy(select="main"))
    (src / "Example.history.json").write_text(json.dumps({"Privacy Policy": [
        {"fetch": "https://ex.example/old", "select": [".old", "[[bad"], "validUntil": "2022-01-01T00:00:00Z"}]}))
    r = ws.run("import-ota", str(src))
    assert r.code == 0, r.err
    (doc,) = load_file(only_toml(ws))
    assert [(p.url, p.select) for p in doc.history] == [("https://ex.example/old", (".old",))]
    assert "history until 2022-01-01T00:00:00Z: select: selector '[[bad' dropped" in r.out


# ----------------------------------------------------------------------------- URLs


def test_urls_with_spaces_and_unsafe_characters_are_percent_encoded(ws):
    src = ws.root / "ota"
    declaration(src, "DeepThing", {
        "Privacy Policy": {"fetch": "https://ex.example/downloads/Thing Privacy Policy.html"},
        "Terms of Service": {"fetch": " https://ex.example/légal/terms?lang=en&q=a b "},
        "Cookies": {"fetch": "https://ex.example/already%20encoded/100%/{x}"},
    })
    r = ws.run("import-ota", str(src))
    assert r.code == 0, r.err
    docs = {d.type: d.url for d in load_file(only_toml(ws))}
    assert docs == {"Privacy Policy": "https://ex.example/downloads/Thing%20Privacy%20Policy.html",
                    "Terms of Service": "https://ex.example/l%C3%A9gal/terms?lang=en&q=a%20b",
                    "Cookies": "https://ex.example/already%20encoded/100%25/%7Bx%7D"}
    assert "fetch URL percent-encoded" in r.out


def test_encode_url_leaves_good_urls_alone():
    for url in ("https://ex.example/a/b?c=d&e=f#g", "https://ex.example/%E2%82%AC", "https://ex.example/p;x=(1)"):
        assert encode_url(url) == url
    assert encode_url("https://ex.example/a\n/b\t c") == "https://ex.example/a/b%20c"


# ----------------------------------------------------------------------------- --dry-run, empty input, --help


def test_dry_run_says_would_import_and_writes_nothing(ws):
    src = ws.root / "ota"
    declaration(src, "Example", privacy())
    declaration(src, "Other", privacy("https://other.example/p"))
    r = ws.run("import-ota", str(src), "--dry-run")
    assert r.code == 0, r.err
    assert "would import 2 services" in r.out and "nothing written" in r.out
    assert "services imported" not in r.out and "wrote " not in r.out
    assert 'name = "Example"' in r.out
    assert list(ws.policies.iterdir()) == []
    (ws.policies / "example.toml").write_text('name = "Example"\n[documents.P]\nurl = "https://ex.example/p"\n')
    r = ws.run("import-ota", str(src / "Example.json"), "--dry-run")
    assert "exists: needs --force" in r.out


def test_empty_declarations_give_one_clear_line_naming_the_file(ws):
    src = ws.root / "ota"
    src.mkdir()
    cases = {
        "Blank.json": ("", "Blank.json: empty file"),
        "Braces.json": ("{}", "Braces.json: empty declaration ({}): no name and no terms"),
        "NoTerms.json": ('{"name": "NoTerms", "terms": {}}',
                         "NoTerms.json: NoTerms: declares no documents (its terms object is empty)"),
        "OldKey.json": ('{"name": "OldKey", "documents": {}}', "OldKey.json: OldKey: declares no documents"),
        "Null.json": ("null", "Null.json: not an Open Terms Archive declaration (expected a JSON object"),
    }
    for name, (text, needle) in cases.items():
        (src / name).write_text(text)
        r = ws.run("import-ota", str(src / name))
        assert_one_line_error(r, needle)
        assert "Traceback" not in r.out


def test_no_document_of_the_requested_type_names_what_the_file_declares(ws):
    path = declaration(ws.root / "ota", "Example", privacy())
    r = ws.run("import-ota", str(path), "--types", "Cookie Policy")
    assert_one_line_error(r, "Example.json: nothing to import (no document of type 'Cookie Policy' "
                             "(it declares: Privacy Policy))")


def test_help_says_what_is_carried_over(ws):
    r = ws.run("import-ota", "--help")
    assert r.code == 0
    text = " ".join(r.out.split())
    assert "executeClientScripts (as browser = true)" in text
    assert "filter (JavaScript functions)" in text and "combine" in text
    assert "--compare" in text and "EUPL-1.2 or AGPL-3.0" in text
    assert "browser rendering" not in text  # no longer among the losses


def test_missing_source_is_one_line(ws):
    assert_one_line_error(ws.run("import-ota", str(ws.root / "nope")), "nope: no such file or folder")
    (ws.root / "empty").mkdir()
    assert_one_line_error(ws.run("import-ota", str(ws.root / "empty")), "no OTA declaration (*.json) found")


# ----------------------------------------------------------------------------- --compare


def ours(ws: Workspace) -> None:
    (ws.policies / "example.toml").write_text(
        'name = "Example"\n'
        '[documents."Privacy Policy"]\nurl = "https://ex.example/privacy/"\nselect = ["main"]\nbrowser = true\n'
        '[documents."Terms of Service"]\nurl = "https://ex.example/terms"\n'
        '[documents."Cookie Policy"]\nurl = "https://ex.example/cookies"\n', encoding="utf-8")
    (ws.policies / "twitter.toml").write_text(
        'name = "Birdsite"\n[documents."Privacy Policy"]\nurl = "https://bird.example/en/privacy"\n'
        'remove = ["nav", { startBefore = "#a", endBefore = "#b" }]\n', encoding="utf-8")
    (ws.policies / "solo.toml").write_text(
        'name = "Solo"\n[documents."Privacy Policy"]\nurl = "https://solo.example/p"\n', encoding="utf-8")


def test_compare_lists_each_difference_on_one_line_exit_1(ws):
    ours(ws)
    ota = ws.root / "ota"
    declaration(ota, "Example.com", {  # "Example.com" is our "Example"
        "Privacy Policy": {"fetch": "https://EX.example/privacy", "select": ["main"], "executeClientScripts": True},
        "Terms of Service": {"fetch": "https://ex.example/legal/terms", "select": "#terms",
                             "executeClientScripts": True, "filter": ["cleanUrls"]},
    })
    declaration(ota, "Twitter", {  # another name, the same URL
        "Privacy Policy": {"fetch": "https://bird.example/en/privacy",
                           "remove": [{"endBefore": "#b", "startBefore": "#a"}, " nav "]}})
    before = {p.name: p.read_bytes() for p in ws.policies.iterdir()}
    r = ws.run("import-ota", str(ota), "--compare")
    assert r.code == 1, (r.out, r.err)
    lines = r.out.splitlines()
    diffs = [line for line in lines if line.startswith("Example / ")]
    assert diffs == [
        'Example / Terms of Service: url differs: ours https://ex.example/terms; OTA https://ex.example/legal/terms '
        f'[{ota / "Example.com.json"} "Terms of Service"]',
        'Example / Terms of Service: browser differs: ours false; OTA true (executeClientScripts) '
        f'[{ota / "Example.com.json"} "Terms of Service"]',
        'Example / Terms of Service: select differs: ours none; OTA ["#terms"] '
        f'[{ota / "Example.com.json"} "Terms of Service"]',
    ]
    assert not any(line.startswith(("Example / Privacy Policy", "Birdsite")) for line in lines)  # equal
    assert "5 documents of" in r.out and "3 compared, 1 differ (3 differences)" in r.out
    assert "2 not compared (no OTA counterpart found): Example (1), Solo (1)" in r.out
    assert r.err == ""
    assert {p.name: p.read_bytes() for p in ws.policies.iterdir()} == before  # nothing written


def test_compare_exit_0_when_in_step_and_a_combined_page_is_compared_with_its_own_part(ws):
    (ws.policies / "example.toml").write_text(
        'name = "Example"\n[documents."Terms of Service"]\nurl = "https://ex.example/t2"\nselect = ["article"]\n'
        'browser = true\n', encoding="utf-8")
    ota = ws.root / "ota"
    declaration(ota, "Example", {"Terms of Service": {"executeClientScripts": True, "select": "main", "combine": [
        {"fetch": "https://ex.example/t1"}, {"fetch": "https://ex.example/t2", "select": "article"}]}})
    r = ws.run("import-ota", str(ota), "--compare")
    assert r.code == 0, (r.out, r.err)
    assert r.out.splitlines() == [f"1 document of {ws.policies} against 1 OTA declaration: 1 compared, "
                                  "0 differ (0 differences)"]


def test_compare_reads_several_collections_and_skips_an_unreadable_file(ws):
    ours(ws)
    root = ws.root / "collections"
    declaration(root / "one-declarations" / "declarations", "Solo", privacy("https://solo.example/p"))
    declaration(root / "two-declarations" / "declarations", "Solo", privacy("https://solo.example/other"))
    (root / "two-declarations" / "declarations" / "Broken.json").write_text("{not json")
    r = ws.run("import-ota", str(root), "--compare", "--types", "privacy policy")
    assert r.code == 0, (r.out, r.err)  # Solo equals one of its two declarations
    assert not any(line.startswith("Solo /") for line in r.out.splitlines())
    assert "3 documents of" in r.out and "2 OTA declarations: 1 compared, 0 differ" in r.out
    assert "2 not compared (no OTA counterpart found): Example (1), Birdsite (1)" in r.out
    assert "Broken.json: invalid JSON" in r.err and r.err.count("\n") == 1


def test_compare_bad_input_is_one_line_exit_2(ws):
    ours(ws)
    path = declaration(ws.root / "ota", "Example", privacy())
    assert_one_line_error(ws.run("import-ota", str(path), "--compare", "--force"), "--compare writes nothing")
    assert_one_line_error(ws.run("import-ota", str(path), "--compare", "--dry-run"), "--compare writes nothing")
    assert_one_line_error(ws.run("import-ota", str(ws.root / "nope"), "--compare"), "no such file or folder")
    (ws.root / "bad").mkdir()
    (ws.root / "bad" / "X.json").write_text("[]")
    assert_one_line_error(ws.run("import-ota", str(ws.root / "bad"), "--compare"), "no usable OTA declaration to compare with: ",
                          "X.json: not an Open Terms Archive declaration")
    (ws.policies / "broken.toml").write_text('name = "Broken"\n[documents.P]\nurl = "ftp://x"\n')
    r = ws.run("import-ota", str(path), "--compare")
    assert_one_line_error(r, "broken.toml")


def test_compare_the_bundled_registry_against_its_own_import(ws):
    """A registry compared with OTA declarations made from it has no difference (round trip)."""
    bundled = Path(__file__).resolve().parents[1] / "policies"
    ota = ws.root / "ota"
    n = 0
    for path in sorted(bundled.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        terms = {}
        for dtype, spec in data["documents"].items():
            term = {"fetch": spec["url"]}
            for key in ("select", "remove"):
                if key in spec:
                    term[key] = spec[key]
            if spec.get("browser", data.get("browser", False)):
                term["executeClientScripts"] = True
            terms[dtype] = term
            n += 1
        declaration(ota, data["name"], terms, file=path.stem)
    r = ws.run("--policies", str(bundled), "import-ota", str(ota), "--compare")
    assert r.code == 0, r.out
    assert f"{n} compared, 0 differ" in r.out
