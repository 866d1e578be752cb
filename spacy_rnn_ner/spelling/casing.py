"""Casing patterns shared by the speller and the embedder that reads its corrections."""
from typing import Optional


def casing_pattern(text: str) -> Optional[str]:
    """"lower", "title" or "upper", repairing the casing slips typing makes
    ("THe", "rTent": title; "ENGLIzH": upper); None for other mixed casing
    ("McDonald", "eBaY"). A brand written like a slip ("iPhone", "eBay") reads as
    title too; the shipped speller leaves both alone because its lexicon has them."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    if text.islower():
        return "lower"
    if text.isupper():
        return "upper" if len(letters) > 1 else "title"
    if text[:1].isupper() and text[1:].islower():
        return "title"
    n_upper = sum(c.isupper() for c in letters)
    if len(letters) >= 4 and n_upper == len(letters) - 1:
        return "upper"  # one letter typed without shift
    if len(text) >= 3 and text[2:].islower() and text[:2] != text[:2].lower():
        return "title"  # shift held over two letters ("THe") or a transposed capital ("rTent")
    return None


def match_casing(word: str, original: str) -> str:
    """Give `word` the casing pattern of `original` ("Networc" -> "Network",
    "rTent" -> "Trent")."""
    pattern = casing_pattern(original)
    if pattern == "upper":
        return word.upper()
    if pattern == "title":
        return word[:1].upper() + word[1:]
    return word
