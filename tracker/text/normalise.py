"""Comparison form of a clause: what must be equal for two wordings to count as "the same".

The stored text stays faithful to the page; this form is only used to decide identity (clause ids)
and significance. It erases what changes between captures without changing the meaning: encoding
accidents (mojibake), Unicode variants, white space, typographic quotes and dashes, Markdown
emphasis and link targets, list numbering, tracking/session query parameters, obfuscated e-mail
addresses and letter case.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tracker.store.codec import clause_id as clause_id  # defined with the storage format, which relies on it

_MOJIBAKE_HINT = re.compile("[\u00c2\u00c3\u00c5\u00e2\u00ef\u00f0\u00ce\u00d0\u00d1\ufffd]")

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u3000": " ", "\u2002": " ", "\u2003": " ", "\t": " ", "\r": " ", "\n": " ",
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
})

# Markdown: images and links keep their text, lose their target; autolinks keep the address.
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_MD_REFLINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_EMPH = re.compile(r"(\*{1,3}|(?<!\w)_{1,3}|~~)(?=\S)(.+?)(?<=\S)(?:\1(?!\w)|(?<=\*)\1)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_MD_BULLET = re.compile(r"^\s*(?:[-*+>]\s+)+")
_MD_STRAY = re.compile(r"\*{2,}|(?<!\w)_+(?=\s|\w)|(?<=\w)_+(?!\w)")  # unpaired "** x**", "_ x_"
_MD_MARKS = re.compile(r"[*_\[\]<>#\\~`]")  # any of these: maybe Markdown
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
# Leading enumerators: "3.1 ", "12. ", "(a) ", "a) ", "iv. " - renumbering is noise.
_ENUM = re.compile(r"^(?:\(?\d{1,3}(?:\.\d{1,3})+\.?\)?|\(?\d{1,3}[.)]|\(\d{1,3}\)|\(?[a-z][.)]|\([a-z]\)"
                   r"|\(?[ivx]{1,5}[.)])\s+", re.I)
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.I)
_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|_hs\w+|yclid|igshid|si|ref|ref_src"
    r"|ref_url|s_cid|cid|trk|trkinfo|sessionid|session_id|sid|jsessionid|phpsessid|aspsessionid\w*"
    r"|token|_nc_\w+|oh|oe|ved|ei|usg|sa|source|campaign|spm|share_id|feature|locale_redirect)$", re.I)
_PATH_SESSION = re.compile(r";(?:jsessionid|sid|phpsessid)=[^/?#]*", re.I)
_AT = r"\s*(?:\[at\]|\(at\)|\{at\}|<at>|\[@\]|\(@\)|\s@\s|\sat\s(?=\S+\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)))\s*"
_DOT = r"\s*(?:\[dot\]|\(dot\)|\{dot\}|<dot>|\sdot\s)\s*"
_EMAIL_OBF = re.compile(rf"\b([\w.+-]+){_AT}([\w-]+(?:(?:{_DOT}|\.)[\w-]+)+)\b", re.I)
_DOT_RE = re.compile(_DOT, re.I)
_EMAIL_HINT = re.compile(r"[\[({<]\s*(?:at|@)\s*[\])}>]|\s@\s|\sat\s[\w.-]+\s*(?:[\[({<]dot[\])}>]|\sdot\s)", re.I)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?%)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")


def repair(text: str) -> str:
    """Unicode repair: mojibake (via ftfy, only when suspicious characters are present) and NFC."""
    if not text.isascii():
        if _MOJIBAKE_HINT.search(text):
            import ftfy

            text = ftfy.fix_text(text, uncurl_quotes=False, fix_latin_ligatures=True)
        text = unicodedata.normalize("NFC", text)
    return text


def clean_url(url: str) -> str:
    """Drop tracking and session parameters and fragments, so a re-tagged link compares equal."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = _PATH_SESSION.sub("", parts.path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def _deobfuscate_email(m: re.Match[str]) -> str:
    return f"{m.group(1)}@{_DOT_RE.sub('.', m.group(2))}"


def strip_markdown(text: str) -> str:
    """Markdown inline markup to plain text (links keep their text, emphasis goes)."""
    if not _MD_MARKS.search(text):
        return text
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_REFLINK.sub(r"\1", text)
    text = _MD_AUTOLINK.sub(r"\1", text)
    for _ in range(3):  # nested emphasis (***x***, **_x_**)
        new = _MD_EMPH.sub(r"\2", text)
        if new == text:
            break
        text = new
    text = _MD_HEADING.sub("", text)
    text = _MD_BULLET.sub("", text)
    text = _MD_STRAY.sub("", text.replace("`", ""))
    return _MD_ESCAPE.sub(r"\1", text)


def normalise(text: str) -> str:
    """Comparison form (see module doc). Idempotent: normalise(normalise(x)) == normalise(x)."""
    if text.isascii() and _plain(text):  # most clauses: no step of the full path but two would change them
        text = text.strip()
        m = _ENUM.match(text)
        return (text[m.end():] if m else text).casefold()
    return _normalise_full(text)


def _normalise_full(text: str) -> str:
    """Every step of ``normalise``, whatever the text (the short cut above must agree with it)."""
    if not text.isascii():
        text = repair(text).translate(_TRANSLATE)
    text = strip_markdown(text)
    if "http" in text:
        text = _URL.sub(lambda m: clean_url(m.group(0)), text)
    if _may_hide_email(text) and _EMAIL_HINT.search(text):
        text = _EMAIL_OBF.sub(_deobfuscate_email, text)
    if "  " in text or not text.isprintable():  # other white space is unprintable: nothing to squash
        text = " ".join(text.split())  # str.split breaks on exactly what \s matches, faster than re.sub
    text = text.strip()
    m = _ENUM.match(text)  # anchored at the start: one match at most
    if m:
        text = text[m.end():]
    # Only single ASCII spaces are left, so plain substring tests find every place the regexes would
    # change, far more cheaply than running the regexes on every clause.
    if (" ," in text or " ." in text or " ;" in text or " :" in text or " !" in text or " ?" in text
            or " %" in text or " )" in text or " ]" in text or "( " in text or "[ " in text):
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    return text.casefold()


# Characters after which ``normalise`` needs its full path (for ASCII text): Markdown marks, "@",
# brackets (an obfuscated "(at)", a space after an opening bracket) and control characters; and a
# space before another space or before closing punctuation.
_SPECIAL_CHARS = re.compile(r"[*_\[\]<>#\\~`@({\x00-\x1f\x7f]")
_SPACE_BEFORE = re.compile(r" [ ,.;:!?%)\]]")


def _plain(text: str) -> bool:
    """ASCII text that no step of ``normalise`` but the enumerator and letter case would change.

    Two single-purpose searches and substring tests (cheaper than one regex of alternatives).
    """
    return not (_SPECIAL_CHARS.search(text) or _SPACE_BEFORE.search(text) or "http" in text
                or "dot" in text.lower())


def _may_hide_email(text: str) -> bool:
    """Cheap necessary condition for ``_EMAIL_HINT``: "@", "dot", or "at" next to a bracket."""
    if "@" in text:
        return True
    low = text.lower()
    return "dot" in low or ("at" in low and any(c in text for c in "[({<"))


_MONTHS = (r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|fevr|mars|avr|mai|juin|juil|août|aout"
           r"|sept|déc|dec|januar|februar|märz|dezember|enero|febrero|marzo|abril|mayo|junio|julio|agosto"
           r"|septiembre|octubre|noviembre|diciembre")
_META_LEAD = re.compile(
    r"^(?:this (?:privacy )?(?:policy|notice|statement) (?:was )?(?:last )?(?:updated|modified|revised)"
    r"|(?:last|latest) (?:updated|modified|revised|update|revision)|updated|modified|revised|effective"
    r"|effective date|date of last revision|version|published|in effect|valid from|as of"
    r"|date d'effet|dernière mise à jour|derniere mise a jour|mis à jour|en vigueur|entrée en vigueur"
    r"|stand|gültig ab|zuletzt aktualisiert|última actualización|ultima actualizacion|fecha de entrada"
    r"|ultimo aggiornamento|data di entrata|última atualização)\b", re.I)
# The lead words without the word boundary: every body _META_LEAD or _GLUED accepts starts with one.
_META_START = re.compile(_META_LEAD.pattern.removesuffix(r")\b") + ")", re.I)
_GLUED = re.compile(rf"^((?:last )?(?:updated|modified|revised|effective))(?=\d|(?:{_MONTHS}))", re.I)
_DATE_HINT = re.compile(rf"\d|\b(?:{_MONTHS})", re.I)


_META_FILLER = re.compile(rf"\b(?:{_MONTHS})[a-zé]*\.?|\b(?:on|of|the|from|and|at|le|du|de|des|am|vom|del|el"
                          r"|policy|privacy|notice|statement|date|version|last|updated|effective|this|is|was"
                          r"|archived|versions|download|pdf|print|previous|view)\b|\d+(?:st|nd|rd|th|er)?|[^\w\s]",
                          re.I)


# "Last updated: June 30, 2023. To see prior versions, click here.": the pointer to the archive of
# earlier versions is part of the date stamp, not a term
_PRIOR_VERSIONS = re.compile(r"(?:^|[.;:]\s+|\s-\s)(?:to (?:see|view|read|access|find) |(?:you can )?(?:see|view|find) |"
                             r"click here (?:to (?:see|view) |for )|for )?(?:the |our |all )?(?:prior|previous|earlier"
                             r"|past|older|archived) (?:versions?|editions?|polic(?:y|ies))\b[^.]{0,60}\.?\s*$")


def is_metadata(norm: str) -> bool:
    """A "Last updated: ..." / "Effective ..." line: a date stamp, not a term of the policy.

    Needs the lead words, a date, and almost nothing else: "Effective 1 May 2024, we will share your
    data..." is a real clause and stays significant. A trailing pointer to earlier versions ("To see
    prior versions, click here.") belongs to the stamp.
    """
    if len(norm) > 240:
        return False
    if "versions" in norm or "version" in norm or "editions" in norm or "polic" in norm:
        m = _PRIOR_VERSIONS.search(norm)
        if m and m.start() > 0:
            norm = norm[:m.start()]
    if len(norm) > 160:
        return False
    body = norm.lstrip("*_#:-| ").strip()
    if not _META_START.match(body):  # most clauses: rejected without the substitution below
        return False
    body = _GLUED.sub(r"\1 ", body)
    m = _META_LEAD.match(body)  # anchored, so it fails fast: checked before the date search
    if not m or not _DATE_HINT.search(norm):
        return False
    rest = _META_FILLER.sub(" ", body[m.end():]).split()
    return len(rest) <= 3


# Cloudflare's e-mail protection shows "[email protected]" where the page has an address: a capture
# with scripts and one without differ only there.
EMAIL_PLACEHOLDER = "[email protected]"
_EMAIL = re.compile(r"\[email(?:\s|&#160;|&nbsp;)protected\]|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", re.I)


def mask_emails(norm: str) -> str:
    """``norm`` with every e-mail address and obfuscation placeholder as one token ("<email>"): two
    clauses equal in this form differ only by how an address was captured."""
    return _EMAIL.sub("<email>", norm) if "@" in norm or "protected]" in norm else norm


# OTA's Markdown of a link whose text holds a block ("<a><div>…</div></a>") leaves the link's end on a
# line of its own: "](https://lm.facebook.com/l.php?u=…&h=…)", whose tracking token changes at every
# capture; an image inside such a link leaves "[![alt](data:…)" before it.
_LINK_TAIL = re.compile(r"\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_IMAGE_MD = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_WORDISH = re.compile(r"\w")


def is_link_fragment(text: str) -> bool:
    """A clause that is only the residue of a link or image split over lines: the tail
    ``](target "title")``, or an opening ``[`` before an image. Such a line is markup, not a term."""
    t = text.strip()
    if not t.startswith(("](", "[", "![")):
        return False
    t = _LINK_TAIL.sub(" ", _IMAGE_MD.sub(" ", t))
    t = _URL.sub(" ", t)
    return _WORDISH.search(t) is None
