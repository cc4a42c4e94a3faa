"""Suspicious-content checks: what must never be recorded as a policy change.

Open Terms Archive recorded a Google page's bot wall as a "version" hundreds of times; every such
false change would reach feed readers as an alarm. These pure functions decide, from the extracted
text alone, whether a fetched page is the policy at all.
"""

from __future__ import annotations

import re

from tracker.models import Document

MIN_RATIO = 0.20  # extracted text under 20% of the previous version is an error/login/bot page
MIN_CHARS = 200  # shorter than this is not a policy (an app shell, a placeholder, an error stub)

# Phrases of bot walls, captchas, login walls and error pages. They are only decisive on short pages:
# a real policy may well mention "captcha" or "sign in" somewhere in 10,000 words.
_BLOCK_PATTERNS = [
    r"\bcaptcha\b", r"are you (a )?(human|robot)", r"verify (that )?you are (a )?human", r"\bbot (check|detection)\b",
    r"unusual traffic", r"access (is )?denied", r"request (was )?blocked", r"\bforbidden\b", r"just a moment",
    r"checking (if the site connection is secure|your browser)", r"enable (javascript|cookies)",
    r"please (log|sign) in", r"^\W*loading\W*$", r"\bloading\s*(\.\.\.|…)", r"sign in to (continue|view)", r"log in to (continue|view)", r"page not found",
    r"\b404\b.{0,20}(not found|error)", r"error 404", r"\b50[0-4]\b.{0,30}(error|unavailable|gateway)", r"temporarily unavailable", r"service unavailable", r"rate limit",
    r"too many requests", r"something went wrong", r"cloudflare", r"ddos protection", r"attention required",
    r"vérifi\w+ que vous (n'êtes pas un robot|êtes humain)", r"accès refusé",
]
_BLOCK_RE = re.compile("|".join(_BLOCK_PATTERNS), re.I | re.M)
SHORT_PAGE = 3000  # characters under which block phrases are taken as a verdict


def blocked_reason(text: str, title: str | None = None) -> str | None:
    """A short explanation when the page looks like a bot wall, login or error page, else None."""
    sample = f"{title or ''}\n{text}"
    if len(text) < SHORT_PAGE:
        m = _BLOCK_RE.search(sample)
        if m:
            return f"looks like a bot wall, login or error page ({m.group(0).strip()!r} on a short page)"
    elif title and _BLOCK_RE.search(title) and len(text) < 2 * SHORT_PAGE:
        return f"page title {title.strip()!r} looks like an error or bot page"
    return None


_CLOSING_TAG = re.compile(rb"</(?:body|html)\s*>", re.I)


def truncated(body: bytes, previous_body: bytes | None) -> str | None:
    """Explain when an HTML page looks cut short: the stored version's page closed ``</body>`` or
    ``</html>`` and this one closes neither (a complete response carrying half a document passes
    every transfer check and, at over 20% of the text, the length guard too). Pages that never
    close those tags are not affected: the rule compares with the same page's stored snapshot.
    A page cut short whose closing tags were put back is told by its words (:func:`lost_tail`).
    """
    if not previous_body:
        return None
    if _CLOSING_TAG.search(previous_body) and not _CLOSING_TAG.search(body):
        return "page ends before </body> or </html>, which the stored version had (truncated response)"
    return lost_tail(body, previous_body)


# (a script cut short runs to the end of the page: its code is not words of the page either)
_SKIPPED = re.compile(rb"<(script|style|noscript|template)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)
_TAG_B = re.compile(rb"<[^>]*>")
_WORD_B = re.compile(rb"\w+")
SLICES = 20  # the stored page's words are compared in this many equal parts
TAIL_MIN_LOST = 0.3  # a cut page lost at least this share of the stored page's words...
KEPT, GONE = 0.8, 0.3  # ...the parts before the cut mostly there (on average), those after it gone (on average)
MOSTLY = 0.6  # ...and none of the parts after the cut mostly there (wording a page repeats may survive)
NOTHING_NEW = 0.9  # and the page adds nothing: this share of its wording is the stored page's
MIN_WORDS = 200  # stored pages shorter than this are not judged (too few words to place a cut)


def _page_words(body: bytes) -> list[bytes]:
    text = _TAG_B.sub(b" ", _SKIPPED.sub(b" ", body))
    return _WORD_B.findall(text.lower())


def lost_tail(body: bytes, previous_body: bytes) -> str | None:
    """Explain when a page is the first part of the stored page and nothing else: its beginning
    word for word, then its later part gone at once (a response cut short, with its closing tags
    intact). A rewrite changes wording throughout or adds some; a cut only removes, from one point
    to the end (a footer after the cut may survive, as the last part is not required to be gone)."""
    old, new = _page_words(previous_body), _page_words(body)
    if len(old) < MIN_WORDS or len(new) > (1 - TAIL_MIN_LOST) * len(old):
        return None
    new_set = set(zip(new, new[1:], new[2:], strict=False))
    old_set = set(zip(old, old[1:], old[2:], strict=False))
    if not new_set or len(new_set & old_set) < NOTHING_NEW * len(new_set):
        return None
    step = len(old) / SLICES
    cover = []
    for i in range(SLICES):
        part = old[int(i * step): int((i + 1) * step) + 2]
        grams = list(zip(part, part[1:], part[2:], strict=False))
        cover.append(sum(g in new_set for g in grams) / len(grams) if grams else 1.0)
    cut = next((i for i in range(SLICES) if cover[i] < GONE), None)
    if cut is None or cut == 0 or cut > SLICES * (1 - TAIL_MIN_LOST):
        return None
    head, tail = cover[:cut - 1], cover[cut:SLICES - 1]
    if (head and sum(head) < KEPT * len(head)) or (tail and (sum(tail) >= GONE * len(tail) or max(tail) >= MOSTLY)):
        return None
    return (f"page stops {cut * 100 // SLICES}% of the way into the stored version: its beginning is there word "
            f"for word, the rest ({len(old) - len(new)} of {len(old)} words) is gone (response cut short)")


def too_short(new_length: int, previous_length: int, ratio: float = MIN_RATIO) -> str | None:
    """Explain when the new text is implausibly short compared with the last stored version."""
    if new_length < MIN_CHARS:
        return f"only {new_length} characters of text"
    if previous_length and new_length < ratio * previous_length:
        return (f"text is {new_length} characters, under {ratio:.0%} of the previous version's "
                f"{previous_length} (likely an error, login or bot page)")
    return None


# --------------------------------------------------------------------------- pages that are not the policy
#
# Each rule below reads general signals of a kind of page (what its buttons say, what its words are
# about, where it was served from, which language it is written in), never the wording of one site's
# page: the thresholds are wide, and each rule needs two independent signals before it refuses a page.

_TAG = re.compile(r"<[^>]*>")
_BUTTONS = re.compile(
    r"<button\b[^>]*>(.{0,400}?)</button\s*>"
    r"|<input\b[^>]*\btype\s*=\s*[\"']?(?:submit|button)\b[^>]*>"
    r"|<a\b[^>]*\brole\s*=\s*[\"']?button\b[^>]*>(.{0,400}?)</a\s*>",
    re.I | re.S)
_VALUE = re.compile(r"\bvalue\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
# What a consent dialog's buttons say: one that accepts, in the languages policies are commonly in.
_ACCEPT = re.compile(
    r"^\W*(?:i\s+)?(?:accept|allow|agree|consent)\b|^\W*(?:ok|okay|got it)\W*$|\baccept (?:all|cookies)"
    r"|tout accepter|^\W*(?:j'accepte|accepter)|alle akzeptieren|^\W*(?:akzeptieren|zustimmen|einverstanden)"
    r"|aceptar|accetta|aceitar|accepteren|akkoord|godkänn|acceptera|accepter", re.I)
# Words of a consent notice: what it asks about. A policy mentions them too, which is why a page is a
# wall only when they fill most of its text AND it has an accepting button AND it is short.
_CONSENT_WORDS = re.compile(
    r"\bcookies?\b|\bconsent|\bpartners\b|\bvendors?\b|legitimate interest|store and/or access"
    r"|personali[sz]ed (?:ads|advertising|content)|\btracking technolog|\bpreferences\b|einwilligung"
    r"|zustimmung|\bconsentement|\btraceurs\b|consentimiento|\bconsenso\b|toestemming|samtycke", re.I)
CONSENT_SHARE = 0.5  # at least this share of the text's characters is about cookies and consent
WALL_MAX = 6000  # characters: a consent notice, even with its list of purposes, is shorter than this
SHRUNK = 0.5  # ...or, next to a stored version, under this share of its length


def _buttons(html: str, limit: int = 300) -> list[str]:
    """The labels of the page's buttons (button elements, submit/button inputs, links acting as buttons)."""
    out = []
    for m in _BUTTONS.finditer(html):
        if m.group(1) is not None or m.group(2) is not None:
            label = _TAG.sub(" ", m.group(1) if m.group(1) is not None else m.group(2))
        else:
            v = _VALUE.search(m.group(0))
            label = next((g for g in v.groups() if g), "") if v else ""
        label = " ".join(label.split())
        if label:
            out.append(label)
        if len(out) >= limit:
            break
    return out


def consent_wall(text: str, html: str, previous_length: int = 0, cookie_document: bool = False) -> str | None:
    """Explain when the page is a cookie-consent wall standing in for the content: a button that
    accepts, most of the text about cookies and consent, and a page short for a policy (or much
    shorter than the stored version). A cookie policy is judged only against its stored version."""
    n = len(text)
    short = n < WALL_MAX and not cookie_document
    if not (short or (previous_length and n < SHRUNK * previous_length)):
        return None
    accepting = next((b for b in _buttons(html) if _ACCEPT.search(b)), None)
    if accepting is None:
        # Buttons drawn with divs: their labels may survive extraction as short lines of their own.
        accepting = next((ln for ln in text.splitlines() if len(ln) < 40 and _ACCEPT.search(ln)), None)
    if accepting is None:
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    about = sum(len(ln) for ln in lines if _CONSENT_WORDS.search(ln))
    total = sum(len(ln) for ln in lines) or 1
    if about < CONSENT_SHARE * total:
        return None
    return (f"looks like a cookie-consent wall, not the policy ({about / total:.0%} of its {n} characters are "
            f"about cookies and consent; a button says {accepting[:40]!r})")


_PASSWORD = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.I)
_LOGIN_WORDS = re.compile(
    r"\bsign[\s-]?in\b|\blog[\s-]?in\b|\blogin\b|\bsign[\s-]?on\b|\banmelden\b|\banmeldung\b|\bconnexion\b"
    r"|se connecter|iniciar sesi[oó]n|\baccedi\b|\bentrar\b|\binloggen\b|logga in|\bauthenticat", re.I)
_POLICY_WORDS = re.compile(
    r"privacy|policy|terms|conditions|notice|cookie|datenschutz|confidentialit|privacidad|privacidade"
    r"|conditions|nutzungsbedingungen|condiciones|legal", re.I)
_HEADING = re.compile(r"<h[12]\b[^>]*>(.{0,300}?)</h[12]\s*>", re.I | re.S)


def login_page(html: str, title: str | None) -> str | None:
    """Explain when the page is a sign-in form: a password field, and a title or main heading about
    signing in (and not about a policy). A policy page with a small login box in its header has the
    field but neither such a title nor such a heading, so it passes."""
    if not _PASSWORD.search(html):
        return None
    names = [title or ""] + [" ".join(_TAG.sub(" ", m.group(1)).split()) for m in _HEADING.finditer(html[:200000])][:3]
    for name in names:
        if name and _LOGIN_WORDS.search(name) and not _POLICY_WORDS.search(name):
            return f"looks like a sign-in page, not the policy (a password field, and {name[:60]!r})"
    return None


def off_site(declared_url: str, final_url: str | None) -> str | None:
    """Explain when the page was served by another site than the declared one (a redirect to a
    login, a consent host, a parked domain): its text is that site's, not the policy. A policy that
    really moved needs its new address declared (``url = ...``)."""
    from urllib.parse import urlsplit

    from tracker.capture.netpolicy import same_site

    if not final_url:
        return None
    a, b = (urlsplit(declared_url).hostname or "").lower(), (urlsplit(final_url).hostname or "").lower()
    if not a or not b or same_site(a, b):
        return None
    return (f"redirected to another site ({b}, not {a}): held, not recorded; if the policy moved "
            f"there, declare its new url")


_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.I)


def page_lang(html: str) -> str | None:
    """The page's own ``<html lang>`` (None when absent)."""
    m = _HTML_LANG.search(html[:20000])
    return m.group(1) if m else None


def other_language(text: str, html_lang: str | None, declared: str | None, previous: str | None) -> str | None:
    """Explain when the page is in another language than the declared one (``lang = ...``) or than
    the stored versions: a site that served its German edition to a check of the English one would
    otherwise "change" every clause, and again when the English page returns.

    The text's language (told by its function words or its script, only when sure) is compared with
    the declaration; without one, the page's ``<html lang>`` with the stored versions' language, and
    only when the text does not contradict the page's own tag (a wrong tag alone refuses nothing)."""
    from tracker.text import language

    if not declared and not previous:  # nothing to compare with: a first check of an undeclared language
        return None
    detected = language.detect(text)
    if declared:
        if detected is not None and not language.matches(declared, detected):
            return (f"the page is in {language.name(detected)}, not in the declared language "
                    f"(lang = {declared!r}): another edition of the page was served")
        if detected is None and html_lang and language.primary(html_lang) != language.primary(declared):
            return (f"the page says it is in {html_lang!r}, not in the declared language (lang = {declared!r}): "
                    "another edition of the page was served")
        return None
    if detected is not None and not language.matches(previous, detected) and (
            html_lang is None or language.matches(html_lang, detected)):
        return (f"the page is in {language.name(detected)}, while the stored versions are in {previous!r} "
                "(another edition of the page was served; declare lang = ... to say which one is wanted)")
    if (detected is None and html_lang and language.primary(html_lang) != language.primary(previous)):
        return (f"the page says it is in {html_lang!r}, while the stored versions are in {previous!r} "
                "(another edition of the page was served; declare lang = ... to say which one is wanted)")
    return None


def not_the_policy(doc: Document, text: str, html: str, title: str | None, previous_length: int = 0,
                   previous_lang: str | None = None) -> tuple[str, str] | None:
    """(reason, explanation) when an extracted page is not the policy: a sign-in page, a consent
    wall, or another language's edition. ``html``: the page's markup ("" for text and Markdown)."""
    if html and (why := login_page(html, title)):
        return "login-page", why
    cookie_document = "cookie" in doc.type.lower()
    if html and (why := consent_wall(text, html, previous_length, cookie_document)):
        return "consent-wall", why
    if why := other_language(text, page_lang(html) if html else None, doc.lang, previous_lang):
        return "language", why
    return None
