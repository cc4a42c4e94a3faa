"""Declarations: loading, validation errors (one line, exit 2), `add`, `list`."""

from __future__ import annotations

import pytest
from helpers import assert_one_line_error

from tracker.errors import DeclarationError
from tracker.sources.declarations import load_policies, parse_interval, slugify


def test_interval_parsing() -> None:
    assert parse_interval("12h") == 43200
    assert parse_interval("2s") == 2
    assert parse_interval("1d") == 86400
    assert parse_interval("30m") == 1800
    assert parse_interval(90) == 90
    for bad in ("soon", "12x", "-1h", "0s", True, [], "400d"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_slug_is_safe() -> None:
    assert slugify("Character.AI") == "character-ai"
    assert slugify("../../etc") == "etc"
    assert slugify("Ünïcode Ltd") == "unicode-ltd"
    assert slugify("///") == "service"


def test_valid_file_loads(tmp_path) -> None:
    (tmp_path / "x.toml").write_text(
        'name = "X"\nlang = "en"\n[documents."Privacy Policy"]\nurl = "https://x.com/en/privacy"\n'
        'select = ["main"]\nremove = [".cookie-banner"]\ninterval = "12h"\n'
        '[documents."Terms of Service"]\nurl = "https://x.com/en/tos"\n', encoding="utf-8")
    docs = load_policies(tmp_path)
    assert [(d.service, d.type, d.interval) for d in docs] == [("X", "Privacy Policy", 43200),
                                                               ("X", "Terms of Service", 86400)]
    assert docs[0].select == ("main",) and docs[0].remove == (".cookie-banner",) and docs[0].lang == "en"


BAD = [
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "https://x.com"\ncolour = "red"\n', "colour"),
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "ftp://x.com/p"\n', "url"),
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "not a url"\n', "url"),
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "https://x.com"\nselect = ["main >> p"]\n', "select"),
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "https://x.com"\nremove = ["[unclosed"]\n', "remove"),
    ('name = "X"\n[documents."Privacy Policy"]\nurl = "https://x.com"\ninterval = "often"\n', "interval"),
    ('[documents."Privacy Policy"]\nurl = "https://x.com"\n', "name"),
    ('name = "X"\n', "documents"),
    ('name = "../evil"\n[documents."Privacy Policy"]\nurl = "https://x.com"\n', "name"),
    ('name = "X"\n[documents."Privacy Policy"\nurl = ', "invalid TOML"),
]


@pytest.mark.parametrize("text,key", BAD, ids=[k for _, k in BAD])
def test_invalid_declaration_is_one_line_exit_2(ws, text: str, key: str) -> None:
    (ws.policies / "bad.toml").write_text(text, encoding="utf-8")
    r = ws.run("check")
    assert_one_line_error(r, "bad.toml", key)
    r = ws.run("list")
    assert_one_line_error(r, "bad.toml")


def test_duplicate_service_names(ws) -> None:
    for f in ("a.toml", "b.toml"):
        (ws.policies / f).write_text('name = "Same"\n[documents."Privacy Policy"]\nurl = "https://s.example/p"\n')
    r = ws.run("list")
    assert_one_line_error(r, "b.toml", "already declared", "a.toml")
    with pytest.raises(DeclarationError):
        load_policies(ws.policies)


def test_missing_policies_folder(ws) -> None:
    r = ws.run("--policies", str(ws.root / "nope"), "check")
    assert_one_line_error(r, "nope")


def test_add_writes_and_extends_declaration(ws) -> None:
    r = ws.run("add", "Example Social", "https://social.example/privacy", "--select", "main",
               "--remove", ".cookie", "--interval", "12h")
    assert r.code == 0, r.err
    path = ws.policies / "example-social.toml"
    assert path.exists()
    r = ws.run("add", "Example Social", "https://social.example/terms", "--type", "Terms of Service")
    assert r.code == 0, r.err
    docs = load_policies(ws.policies)
    assert [(d.type, d.url, d.select, d.interval) for d in docs] == [
        ("Privacy Policy", "https://social.example/privacy", ("main",), 43200),
        ("Terms of Service", "https://social.example/terms", (), 86400)]
    r = ws.run("list", "--json")
    assert r.code == 0
    assert [i["state"] for i in r.json()] == ["never checked", "never checked"]


@pytest.mark.parametrize("args,needle", [
    (("../../escape", "https://e.example/p"), "service name"),
    (("Good", "javascript:alert(1)"), "url"),
    (("Good", "https://e.example/p", "--select", "p[["), "select"),
    (("Good", "https://e.example/p", "--interval", "fortnightly"), "interval"),
])
def test_add_refuses_bad_input(ws, args, needle) -> None:
    r = ws.run("add", *args)
    assert_one_line_error(r, needle)
    assert list(ws.policies.iterdir()) == []
    assert not (ws.root.parent / "escape.toml").exists()


@pytest.mark.slow  # 1.1 million code points
def test_control_character_test_matches_unicode_categories_for_every_code_point() -> None:
    import sys
    import unicodedata

    from tracker.sources.declarations import _has_control

    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        assert _has_control(f"Name {c}") == unicodedata.category(c).startswith("C"), hex(cp)
