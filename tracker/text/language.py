"""Which language a policy's text is written in, from its function words and its script.

Why not a detector library: detectors misread short interface strings, and what is needed here is
narrower and must be sure: is this long text in the language declared (or the one the stored versions
were in)? A policy is thousands of words of running prose, in which a language's commonest function
words ("the", "and", "of" / "der", "und", "die" / "le", "et", "des") make up a third of the words; a
handful of such lists tells the languages apart with a wide margin. Non-Latin scripts are told by
their characters. When the text is short, mixed or in a language not listed, the answer is None
("cannot tell"), never a guess: a guard acts only on a sure answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# The commonest function words of each language, leaving out words that are as common in another
# listed language ("a", "en", "de", "la", "in", "die"/"die" are ambiguous and left out where they
# would blur a pair).
_STOPWORDS: dict[str, str] = {
    "en": "the and of to you your we our or for with that this is are be by on not from as may will have "
          "if which any such when other it can",
    "de": "der und die das nicht ist wir sie ihre ihrer ihnen mit auf für von zu den dem des eine einer "
          "oder auch werden wird sind bei aus wenn durch",
    "fr": "le les et des du est nous vous votre vos pour dans sur une qui que ou par pas avec sont au aux "
          "être ces peut",
    "es": "el los las y del que en para por con una su sus usted nosotros es se al como o no puede "
          "cuando esta este",
    "it": "il gli le e di che per con una del della dei delle sono è non ai alla nel si come può questo "
          "questa vostri",
    "pt": "o os as e do da dos das que para com uma não por você seus suas nós é ao se como pode "
          "quando este esta",
    "nl": "de het en van een ons onze u uw wij we zijn met voor niet op als dat die deze kan worden "
          "wordt bij",
    "sv": "och att det som för med av är på inte till den en ett vi du din dina våra kan om eller har "
          "vara",
    "da": "og at det som for med af er på ikke til den en et vi du din dine vores kan om eller har være",
    "no": "og at det som for med av er på ikke til den en et vi du din dine våre kan om eller har være",
    "fi": "ja on että tai se ei jos kun ovat voi sekä myös tämä näitä joka jotka meidän sinun",
    "pl": "na do że nie się jest to jak lub przez dla od są może oraz jeśli tym",
    "cs": "na se je že to do pro jako nebo by jsou které který vaše naše osobní údaje",
    "tr": "ve bir bu için ile da de olarak veya gibi olan daha kadar sizin bizim kişisel verilerinizi",
    "ro": "și în cu pe că nu să sau pentru este sunt care dumneavoastră noi datele",
    "hu": "és hogy nem egy vagy is meg ha ez azt amely ön adatait",
    "id": "dan yang di untuk dengan dari ini atau tidak kami anda dalam akan pada dapat",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# Languages written so alike that function words cannot tell them apart reliably: never a mismatch.
_ALIKE = [frozenset({"da", "no", "nb", "nn"}), frozenset({"id", "ms"}), frozenset({"sr", "hr", "bs"})]
# Scripts and the languages written in them (a text in one script is in none of the others').
_SCRIPT_OF = {"ja": "japanese", "zh": "han", "ko": "hangul", "ru": "cyrillic", "uk": "cyrillic", "bg": "cyrillic",
              "sr": "cyrillic", "be": "cyrillic", "mk": "cyrillic", "kk": "cyrillic", "ar": "arabic",
              "fa": "arabic", "ur": "arabic", "he": "hebrew", "yi": "hebrew", "el": "greek", "th": "thai",
              "hi": "devanagari", "mr": "devanagari", "ne": "devanagari"}

MIN_WORDS = 80  # fewer words than this say nothing sure
MIN_SHARE = 0.12  # the best language's function words make at least this share of the words...
MARGIN = 2.0  # ...and at least this many times the runner-up's
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def primary(tag: str | None) -> str | None:
    """The primary subtag of a language tag, lower case: ``en-GB`` -> ``en``, ``pt_BR`` -> ``pt``."""
    if not tag:
        return None
    head = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return head if head.isalpha() and 2 <= len(head) <= 3 else None


def script(text: str, sample: int = 20000) -> str | None:
    """The dominant script of the letters of ``text`` ("latin", "cyrillic", "han", "japanese", ...), or
    None with no letters. Japanese is Han with kana, told by the kana."""
    counts: dict[str, int] = {}
    # each distinct character is named once (a page has a few hundred, out of 20,000); Counter keeps
    # the order of first occurrence, so ties are broken as if every character were read in turn
    for ch, n in Counter(text[:sample]).items():
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith(("HIRAGANA", "KATAKANA")):
            key = "kana"
        elif name.startswith("CJK"):
            key = "han"
        else:
            key = name.split(" ", 1)[0].lower()
        counts[key] = counts.get(key, 0) + n
    if not counts:
        return None
    total = sum(counts.values())
    if counts.get("kana", 0) >= 0.1 * total:
        return "japanese"
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] >= 0.5 * total else None


def detect(text: str, sample: int = 20000) -> str | None:
    """The language of ``text`` when it is sure: an ISO 639-1 code for a listed Latin-script language,
    the script's name ("cyrillic", "han", ...) for other scripts, None when it cannot tell."""
    kind = script(text, sample)
    if kind is None:
        return None
    if kind != "latin":
        return kind
    # each distinct word counted once, then each language's few function words looked up: the same
    # shares as testing every word against every language, in a tenth of the lookups
    words = Counter(w.lower() for w in _WORD.findall(text[:sample]))
    total = sum(words.values())
    if total < MIN_WORDS:
        return None
    scores = sorted(((sum(words[w] for w in vocab) / total, lang) for lang, vocab in _WORDS.items()), reverse=True)
    (best, lang), (second, other) = scores[0], scores[1]
    if best < MIN_SHARE:
        return None
    if best < MARGIN * second and not alike(lang, other):
        return None
    return lang


def alike(a: str | None, b: str | None) -> bool:
    """Whether two language codes (or scripts) may be the same language as far as :func:`detect` tells."""
    if a is None or b is None:
        return True
    if a == b:
        return True
    return any(a in group and b in group for group in _ALIKE)


def matches(tag: str | None, detected: str | None) -> bool:
    """Whether a declared or stored language tag agrees with a :func:`detect` answer. Unknown either
    way is agreement: only a sure difference counts."""
    code = primary(tag)
    if code is None or detected is None:
        return True
    wanted = _SCRIPT_OF.get(code, "latin")
    if detected in _WORDS:  # a listed Latin-script language
        if wanted != "latin":
            return False
        listed = code in _WORDS or any(code in group for group in _ALIKE)
        return alike(code, detected) if listed else True  # e.g. Catalan: function words cannot tell
    if detected == "japanese":
        return code == "ja"
    if detected == "han":
        return code in ("zh", "ja")  # a Japanese page in kanji only is rare but possible
    return wanted == detected


def name(code: str | None) -> str:
    """A readable name for a language code or script, for messages."""
    names = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "pl": "Polish",
             "cs": "Czech", "tr": "Turkish", "ro": "Romanian", "hu": "Hungarian", "id": "Indonesian",
             "cyrillic": "a Cyrillic-script language", "han": "Chinese", "japanese": "Japanese",
             "hangul": "Korean", "arabic": "an Arabic-script language", "hebrew": "Hebrew", "greek": "Greek",
             "thai": "Thai", "devanagari": "a Devanagari-script language"}
    return names.get(code or "", code or "unknown")
