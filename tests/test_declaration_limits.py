"""Declaration files that are hostile or odd: nesting, size, number of documents, a byte order mark,
credentials in URLs. Each is one line naming the file (exit 2), never a traceback or `internal error`,
and a running daemon keeps running."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_one_line_error

from tracker.errors import DeclarationError
from tracker.sources.declarations import MAX_DOCUMENTS, check_url, load_file, parse_declaration
from tracker.sources.toml_read import MAX_DEPTH, MAX_FILE_BYTES

GOOD = 'name = "Good"\n[documents."Privacy Policy"]\nurl = "https://good.example/privacy"\n'


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


NESTED = {
    "arrays": GOOD + "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "inline tables": GOOD + "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
    "dotted keys": GOOD + "x" + ".y" * 200 + " = 1\n",
    "table header": GOOD + "[" + ".".join(["t"] * 200) + "]\nk = 1\n",
}


@pytest.mark.parametrize("kind", list(NESTED))
def test_deep_nesting_is_one_line_naming_the_file(tmp_path, kind) -> None:
    path = write(tmp_path, "deep.toml", NESTED[kind])
    with pytest.raises(DeclarationError) as e:
        load_file(path)
    assert str(e.value).startswith(f"{path}: nested too deeply"), e.value
    assert "\n" not in str(e.value)


def test_brackets_inside_strings_and_comments_do_not_count(tmp_path) -> None:
    sel = "main" + "[data-x]" * (MAX_DEPTH + 5)
    path = write(tmp_path, "ok.toml", GOOD + f'select = ["{sel}"]  # {"[" * 50}\n')
    (doc,) = load_file(path)
    assert doc.select == (sel,)
    literal = write(tmp_path, "lit.toml", GOOD + "x = \'\'\'" + "{" * 60 + "\'\'\'\n" + 'y = """' + "[" * 60 + '"""\n')
    with pytest.raises(DeclarationError, match="x: unknown key"):  # parsed; fails on the unknown key only
        load_file(literal)


def test_nested_toml_in_check_is_exit_2_naming_the_file(ws, httpserver) -> None:
    """The nested file is named in one line and skipped; the good one is still checked (issue 18)."""
    httpserver.expect_request("/p").respond_with_data("<main><p>" + "We keep your data safe. " * 20 + "</p></main>",
                                                      content_type="text/html")
    ws.declare("Good", httpserver.url_for("/p"))
    path = write(ws.policies, "deep.toml", NESTED["arrays"])
    r = ws.run("check")
    assert r.code == 2, (r.code, r.err)
    named = [line for line in r.err.splitlines() if str(path) in line]
    assert len(named) == 1 and "nested too deeply" in named[0]
    assert "Good / Privacy Policy: new" in r.out
    assert "internal error" not in r.err and "RecursionError" not in r.err


def test_nested_toml_in_validate_is_exit_2_naming_the_file(ws) -> None:
    path = write(ws.policies, "deep.toml", NESTED["arrays"])
    r = ws.run("validate")
    assert r.code == 2 and str(path) in r.err and "internal error" not in r.err, (r.code, r.err)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path) -> None:
    path = write(tmp_path, "big.toml", GOOD + "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(DeclarationError) as e:
        load_file(path)
    assert str(e.value) == f"{path}: over {MAX_FILE_BYTES // 1024} KB; not a declaration (too large to load)"


def test_too_many_documents(tmp_path) -> None:
    docs = "".join(f'[documents."Doc {i}"]\nurl = "https://x.example/{i}"\n' for i in range(MAX_DOCUMENTS + 1))
    path = write(tmp_path, "many.toml", 'name = "Many"\n' + docs)
    with pytest.raises(DeclarationError, match=rf"^{path}: documents: {MAX_DOCUMENTS + 1} documents, more than"):
        load_file(path)
    ok = write(tmp_path, "enough.toml", 'name = "Enough"\n' + docs.split('[documents."Doc 5"]')[0])
    assert len(load_file(ok)) == 5


def test_a_utf8_byte_order_mark_is_accepted(tmp_path) -> None:
    path = write(tmp_path, "bom.toml", b"\xef\xbb\xbf" + GOOD.encode())
    (doc,) = load_file(path)
    assert doc.service == "Good"


def test_not_utf8_says_where(tmp_path) -> None:
    path = write(tmp_path, "latin.toml", GOOD.encode() + b'# caf\xe9\n')
    with pytest.raises(DeclarationError, match=r"not UTF-8 text \(invalid byte at offset \d+\)"):
        load_file(path)


def test_a_daemon_keeps_running_when_a_nested_file_is_dropped_in(ws, httpserver) -> None:
    text = "".join(f"<p>Clause {i}: we keep the data you give us for as long as your account exists.</p>"
                   for i in range(8))
    httpserver.expect_request("/p").respond_with_data(f"<html><body>{text}</body></html>", content_type="text/html")
    ws.declare("Good", httpserver.url_for("/p"), interval="1h")
    log = ws.root / "daemon.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "run", "--poll", "0.2", "--jitter", "0"],
                                env=ws.env(), cwd=ws.root, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deep = write(ws.policies, "deep.toml", NESTED["arrays"])
            end = time.monotonic() + 60
            while "nested too deeply" not in log.read_text() and time.monotonic() < end and proc.poll() is None:
                time.sleep(0.1)
            assert proc.poll() is None, log.read_text()
            assert f"{deep}: nested too deeply" in log.read_text()
            time.sleep(0.5)
            assert proc.poll() is None, log.read_text()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


# --------------------------------------------------------------------------- credentials in URLs


@pytest.mark.parametrize("url", ["https://user:hunter2@example.com/privacy", "https://hunter2@example.com/p",
                                 "https://user:hunter2@example.com:8443/p", "http://:hunter2@example.com/"])
def test_credentials_in_a_url_are_refused_without_showing_them(url) -> None:
    with pytest.raises(ValueError) as e:
        check_url(url)
    assert "hunter2" not in str(e.value) and "***@example.com" in str(e.value)
    assert "user name or password" in str(e.value)


def test_credentials_in_a_declaration_are_one_line_naming_the_file_and_key(ws) -> None:
    path = ws.declare("Secret", "https://user:hunter2@example.com/privacy")
    r = ws.run("check")
    assert_one_line_error(r, str(path), 'documents."Privacy Policy".url', "user name or password")
    assert "hunter2" not in r.err + r.out


def test_credentials_in_a_history_url_are_refused() -> None:
    spec = {"name": "S", "documents": {"P": {"url": "https://example.com/p", "history": [
        {"until": "2022-01-01T00:00:00Z", "url": "https://u:hunter2@example.com/old"}]}}}
    with pytest.raises(DeclarationError) as e:
        parse_declaration(spec, "s.toml")
    assert str(e.value).startswith('s.toml: documents."P".history: entry 1:') and "hunter2" not in str(e.value)
