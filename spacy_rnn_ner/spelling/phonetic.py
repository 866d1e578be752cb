"""Candidates that sound alike: lexicon words sharing a phonetic key with a typo.

Misspellings by sound ("perpul" for purple, "courtens" for curtains) are often
more than two edits away, out of reach of the deletion index. An English
consonant-skeleton key (spellings of the same sound merged, vowels after the
first letter dropped, doubled letters collapsed) groups such words together;
the candidates found this way are then ranked by the neural model like any other.
"""
import re
from typing import Dict, Iterable, List, Tuple

from .candidates import osa_distance

# Applied in order: spellings of one sound are mapped to one letter or pair.
_SPELLINGS = (
    ("ph", "f"), ("ght", "t"), ("gh", "g"), ("tch", "ch"), ("sch", "sk"), ("ck", "k"),
    ("wh", "w"), ("wr", "r"), ("kn", "n"), ("ps", "s"), ("dg", "j"), ("qu", "kw"), ("x", "ks"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_SILENT_OR_VOWEL = re.compile(r"[aeiouyhw']")
_DOUBLED = re.compile(r"(.)\1+")


def phonetic_key(word: str) -> str:
    """A key shared by English words that sound alike: "purple" and "perpul" -> "prpl".

    A leading vowel becomes "V", so "aunt" and "arnt" keep a first letter in common.
    """
    text = word.lower()
    for spelling, sound in _SPELLINGS:
        text = text.replace(spelling, sound)
    text = _SOFT_C.sub("s", text).replace("c", "k").replace("q", "k").replace("z", "s")
    if not text:
        return ""
    first = "V" if text[0] in "aeiouy" else text[0]
    return _DOUBLED.sub(r"\1", first + _SILENT_OR_VOWEL.sub("", text[1:]))


class PhoneticIndex:
    """Lexicon words grouped by `phonetic_key`.

    words (Iterable[str]): The lexicon words (lower case).
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.index: Dict[str, List[str]] = {}
        for word in words:
            self.index.setdefault(phonetic_key(word), []).append(word)

    def lookup(self, text: str, min_distance: int, max_distance: int) -> List[Tuple[str, int]]:
        """Words with the key of `text` that are more than `min_distance` and at most
        `max_distance` OSA edits away, nearest first."""
        found = []
        for word in self.index.get(phonetic_key(text), ()):
            if abs(len(word) - len(text)) > max_distance:
                continue
            distance = osa_distance(text, word, max_distance)
            if min_distance < distance <= max_distance:
                found.append((word, distance))
        found.sort(key=lambda item: item[1])
        return found
