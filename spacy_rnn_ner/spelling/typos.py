"""Synthetic typo generator, shared by the TypoCorpus reader and the typo augmenter.

Error types, each a function `(word, rng) -> word`: insertions and substitutions
of keyboard neighbours, deletions, transpositions, doubled and dropped double
letters, and phonetic confusions (e.g. "ph" <-> "f", "ie" <-> "ei").
"""
import random
from typing import Callable, Container, Dict, List, Optional, Tuple

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
VOWELS = "aeiouy"
PHONETIC_CONFUSIONS: Tuple[Tuple[str, str], ...] = (
    ("ph", "f"), ("ie", "ei"), ("ei", "ie"), ("c", "k"), ("k", "c"), ("c", "s"), ("s", "c"),
    ("tion", "sion"), ("sion", "tion"), ("able", "ible"), ("ible", "able"), ("ance", "ence"),
    ("ence", "ance"), ("ant", "ent"), ("ent", "ant"), ("er", "or"), ("or", "er"), ("ar", "er"),
    ("ou", "o"), ("gh", ""), ("wh", "w"), ("y", "i"), ("i", "y"), ("ck", "k"), ("x", "ks"),
    ("qu", "kw"), ("z", "s"), ("s", "z"), ("ea", "ee"), ("ee", "ea"), ("al", "el"), ("le", "el"),
    ("ful", "full"), ("ly", "ley"), ("ss", "s"), ("ll", "l"), ("e", ""), ("sc", "s"), ("ci", "si"),
    ("a", "e"), ("e", "a"), ("e", "i"), ("i", "e"), ("o", "u"), ("u", "o"), ("a", "o"),
)


def _keyboard_neighbours() -> Dict[str, str]:
    positions = {char: (row, col) for row, keys in enumerate(KEYBOARD_ROWS) for col, char in enumerate(keys)}
    neighbours: Dict[str, str] = {}
    for char, (row, col) in positions.items():
        near = [
            other
            for other, (o_row, o_col) in positions.items()
            if other != char and abs(o_row - row) <= 1 and abs((o_col + 0.5 * o_row) - (col + 0.5 * row)) <= 1.0
        ]
        neighbours[char] = "".join(near)
    return neighbours


KEYBOARD_NEIGHBOURS = _keyboard_neighbours()


def _random_letter(word: str, rng: random.Random) -> str:
    return rng.choice("abcdefghijklmnopqrstuvwxyz" if word.isascii() else sorted(set(word.lower())))


def _similar_letter(char: str, word: str, rng: random.Random) -> str:
    """A keyboard neighbour (most of the time), another vowel for a vowel, or any letter."""
    lower = char.lower()
    roll = rng.random()
    if lower in KEYBOARD_NEIGHBOURS and roll < 0.6:
        new = rng.choice(KEYBOARD_NEIGHBOURS[lower])
    elif lower in VOWELS and roll < 0.85:
        new = rng.choice([v for v in VOWELS if v != lower])
    else:
        new = _random_letter(word, rng)
    return new.upper() if char.isupper() else new


def substitute(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + _similar_letter(word[i], word, rng) + word[i + 1 :]


def insert(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) + 1)
    base = word[min(i, len(word) - 1)]
    return word[:i] + _similar_letter(base, word, rng) + word[i:]


def delete(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(len(word))
    return word[:i] + word[i + 1 :]


def transpose(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def double_letter(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[: i + 1] + word[i] + word[i + 1 :]


def drop_double(word: str, rng: random.Random) -> str:
    doubles = [i for i in range(len(word) - 1) if word[i] == word[i + 1]]
    if not doubles:
        return delete(word, rng)
    i = rng.choice(doubles)
    return word[:i] + word[i + 1 :]


def phonetic(word: str, rng: random.Random) -> str:
    lower = word.lower()
    options = [(src, dst) for src, dst in PHONETIC_CONFUSIONS if src in lower]
    if not options:
        return substitute(word, rng)
    src, dst = rng.choice(options)
    starts = [i for i in range(len(lower)) if lower.startswith(src, i)]
    i = rng.choice(starts)
    return word[:i] + _cased_like(dst, word[i : i + len(src)]) + word[i + len(src) :]


def _cased_like(new: str, old: str) -> str:
    """`new` in the casing of the segment it replaces ("PH" -> "F", "Kn" -> "Cn")."""
    if old.isupper() and len(old) > 1:
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


TypoFunction = Callable[[str, random.Random], str]
TYPO_FUNCTIONS: Dict[str, TypoFunction] = {
    "substitute": substitute,
    "insert": insert,
    "delete": delete,
    "transpose": transpose,
    "double": double_letter,
    "drop_double": drop_double,
    "phonetic": phonetic,
}
DEFAULT_WEIGHTS: Dict[str, float] = {
    "substitute": 0.22,
    "insert": 0.12,
    "delete": 0.18,
    "transpose": 0.1,
    "double": 0.08,
    "drop_double": 0.1,
    "phonetic": 0.2,
}


class TypoGenerator:
    """Make realistic misspellings of a word, reproducibly from a seed.

    weights (Optional[Dict[str, float]]): Relative weight of each error type.
    p_second (float): Probability of a second error in the same word.
    seed (int): Random seed.
    """

    def __init__(self, weights: Optional[Dict[str, float]] = None, p_second: float = 0.25, seed: int = 0) -> None:
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(weights) - set(TYPO_FUNCTIONS)
        if unknown:
            raise ValueError(f"Unknown typo types {sorted(unknown)}: expected some of {sorted(TYPO_FUNCTIONS)}.")
        self.names: List[str] = list(weights)
        self.weights: List[float] = [float(weights[name]) for name in self.names]
        self.p_second = p_second
        self.rng = random.Random(seed)

    def __call__(self, word: str, exclude: Container[str] = ()) -> str:
        """Return a misspelling of `word` that differs from it (and from `exclude`), if one is found."""
        for _ in range(8):
            typo = self._apply_one(word)
            if self.rng.random() < self.p_second:
                typo = self._apply_one(typo)
            if typo and typo != word and typo not in exclude:
                return typo
        return word

    def _apply_one(self, word: str) -> str:
        if not word:
            return word
        name = self.rng.choices(self.names, weights=self.weights)[0]
        return TYPO_FUNCTIONS[name](word, self.rng)
