"""Control characters from servers and names never reach a terminal, a log or a feed raw (issue 19)."""

from __future__ import annotations

import logging

from werkzeug import Response

from tracker.publish.termsafe import SafeFormatter


def test_check_lines_and_list_escape_what_a_server_sends(ws, httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_handler(
        lambda r: Response("<html><head><title>\x1b]0;owned\x07Sign in</title></head><body><form>"
                           "<input type=password></form></body></html>", content_type="text/html"))
    ws.declare("Example", httpserver.url_for("/privacy"))
    r = ws.run("check")
    assert r.code == 3
    assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err
    r = ws.run("list")
    assert "\x1b" not in r.out


def test_the_daemon_log_formatter_escapes_messages_but_keeps_tracebacks() -> None:
    fmt = SafeFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "%s: failed", ("Acme\n2026 INFO forged\x1b[2J",),
                               None)
    line = fmt.format(record)
    assert "\n" not in line and "\x1b" not in line and "\\n2026 INFO forged\\x1b[2J" in line
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "crashed", (), sys.exc_info())
    assert "Traceback" in fmt.format(record) and "\n" in fmt.format(record)
