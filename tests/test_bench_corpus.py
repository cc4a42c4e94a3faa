"""Smoke test of the benchmark corpus: realistic pages, conditional GET, and mutations that do what they say.

The benchmark figures are only worth something if the corpus is right: a server that never answers 304,
or a "date-only" change that also touches a clause, would make every tool look different from reality.
"""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import lxml.html
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from corpus import MAX_SIZE, MIN_SIZE, Corpus, CorpusServer  # noqa: E402

DATE_RE = re.compile(r"Last updated: [A-Z][a-z]+ \d{1,2}, \d{4}")


@pytest.fixture()
def corpus() -> Corpus:
    return Corpus(5, seed=7)


def _main_text(body: bytes) -> str:
    return lxml.html.fromstring(body).find(".//main").text_content()


def test_pages_are_realistic_and_deterministic(corpus: Corpus) -> None:
    bodies = [p.body for p in corpus.pages]
    assert len(set(bodies)) == 5
    assert bodies == [p.body for p in Corpus(5, seed=7).pages]
    for body in bodies:
        assert MIN_SIZE <= len(body) <= MAX_SIZE
        root = lxml.html.fromstring(body)
        for xpath in ("//header//nav", "//footer", "//*[contains(@class,'cookie-banner')]", "//main//h2",
                      "//main//h3", "//main//p", "//main//ul/li/ul/li", "//main//table//td", "//script"):
            assert root.xpath(xpath), xpath
        # a list is introduced by a lead-in sentence ending with a colon
        ul = root.xpath("//main//ul")[0]
        assert ul.getprevious().tag == "p" and ul.getprevious().text_content().endswith(":")
        assert DATE_RE.search(_main_text(body))
        assert "partners use cookies" in body.decode()
        assert "partners use cookies" not in _main_text(body)  # noise stays outside <main>
    # vocabulary varies: pages share few of their sentences
    sents = [set(_main_text(b).split(". ")) for b in bodies]
    assert len(sents[0] & sents[1]) < 0.2 * len(sents[0])


def test_server_answers_304_to_conditional_get(corpus: Corpus) -> None:
    with CorpusServer(corpus) as srv:
        with urllib.request.urlopen(srv.url(0)) as r:
            assert r.status == 200
            etag, lm = r.headers["ETag"], r.headers["Last-Modified"]
            assert r.read() == corpus.pages[0].body
        assert etag and lm
        req = urllib.request.Request(srv.url(0), headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 304
        req = urllib.request.Request(srv.url(0), headers={"If-Modified-Since": lm})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 304
        req = urllib.request.Request(srv.url(0), headers={"If-None-Match": '"other"'})
        with urllib.request.urlopen(req) as r:
            assert r.status == 200
        assert srv.take_stats() == {"200": 2, "304": 2}


def test_mutation_changes_exactly_the_chosen_pages(corpus: Corpus) -> None:
    before = [p.body for p in corpus.pages]
    with CorpusServer(corpus, hosts=3) as srv:  # pages spread over 127.0.0.1..3, as over real hosts
        assert [u.split("/")[2].split(":")[0] for u in srv.urls()[:4]] == \
            ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"]
        with urllib.request.urlopen(srv.url(0)) as r:
            etags = {i: corpus.pages[i].etag for i in range(5)}
            assert r.headers["ETag"] == etags[0]
        m = corpus.mutate(changed=0.4, date_only=0.2, seed=3)
        assert len(m["changed"]) == 2 and len(m["date_only"]) == 1
        assert not set(m["changed"]) & set(m["date_only"])
        touched = set(m["changed"]) | set(m["date_only"])
        for i, page in enumerate(corpus.pages):
            if i not in touched:
                assert page.body == before[i] and page.etag == etags[i]
                continue
            assert page.body != before[i] and page.etag != etags[i]
            req = urllib.request.Request(srv.url(i), headers={"If-None-Match": etags[i]})
            with urllib.request.urlopen(req) as r:  # the old ETag no longer matches: 200
                assert r.status == 200
        (d,) = m["date_only"]
        old, new = _main_text(before[d]), _main_text(corpus.pages[d].body)
        assert DATE_RE.sub("", old) == DATE_RE.sub("", new) and old != new
        assert before[d].replace(DATE_RE.search(old).group(0).encode(), b"") == \
            corpus.pages[d].body.replace(DATE_RE.search(new).group(0).encode(), b"")
        for i in m["changed"]:  # a clause changed, not only the date
            assert DATE_RE.sub("", _main_text(before[i])) != DATE_RE.sub("", _main_text(corpus.pages[i].body))
    corpus.reset()
    assert [p.body for p in corpus.pages] == before
