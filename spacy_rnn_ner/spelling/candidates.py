"""Candidate generation: lexicon words within a small edit distance of a typo.

A symmetric-deletion index (the idea behind SymSpell): every lexicon word is
stored under the strings obtained by deleting up to `max_distance` characters
from its first `prefix_length` characters. A typo's own deletions then meet
the deletions of every word within that many edits; each meeting is checked
with the optimal-string-alignment (Damerau-Levenshtein) distance.
"""
from itertools import combinations
from typing import Dict, Iterable, List, Set, Tuple


class DeletionIndex:
    """Find lexicon words within `max_distance` OSA edits of a string.

    words (Iterable[str]): The lexicon words (lower case).
    max_distance (int): The largest edit distance looked up (1 or 2).
    prefix_length (int): Deletions are taken from this many leading characters.
    """

    def __init__(self, words: Iterable[str], max_distance: int = 2, prefix_length: int = 7) -> None:
        if max_distance < 1:
            raise ValueError(f"max_distance must be at least 1, got {max_distance}.")
        self.max_distance = max_distance
        self.prefix_length = prefix_length
        self.index: Dict[str, List[str]] = {}
        for word in words:
            for key in self._deletions(word[:prefix_length]):
                bucket = self.index.get(key)
                if bucket is None:
                    self.index[key] = [word]
                else:
                    bucket.append(word)

    def _deletions(self, prefix: str) -> Set[str]:
        keys = {prefix}
        n = len(prefix)
        for k in range(1, min(self.max_distance, n) + 1):
            for positions in combinations(range(n), k):
                keys.add("".join(c for i, c in enumerate(prefix) if i not in positions))
        return keys

    def lookup(self, text: str, max_distance: int = -1) -> List[Tuple[str, int]]:
        """Words within `max_distance` edits of `text` (default: the index's), nearest first."""
        limit = self.max_distance if max_distance < 0 else min(max_distance, self.max_distance)
        seen: Set[str] = set()
        found: List[Tuple[str, int]] = []
        for key in self._deletions(text[: self.prefix_length]):
            for word in self.index.get(key, ()):
                if word in seen:
                    continue
                seen.add(word)
                if abs(len(word) - len(text)) > limit:
                    continue
                distance = osa_distance(text, word, limit)
                if distance <= limit:
                    found.append((word, distance))
        found.sort(key=lambda item: item[1])
        return found


def osa_distance(a: str, b: str, limit: int = 1 << 30) -> int:
    """Optimal string alignment distance (edits + adjacent transpositions), capped at limit + 1.

    Only the diagonal band |i - j| <= limit is computed: cells outside it cost
    more than `limit` anyway.
    """
    if a == b:
        return 0
    n, m = len(a), len(b)
    limit = min(limit, max(n, m))
    big = limit + 1
    if abs(n - m) > limit:
        return big
    previous2: List[int] = []
    previous = [j if j <= limit else big for j in range(m + 1)]
    for i in range(1, n + 1):
        current = [big] * (m + 1)
        if i <= limit:
            current[0] = i
        row_min = current[0]
        ai = a[i - 1]
        for j in range(max(1, i - limit), min(m, i + limit) + 1):
            value = previous[j - 1] + (ai != b[j - 1])
            other = previous[j] + 1
            if other < value:
                value = other
            other = current[j - 1] + 1
            if other < value:
                value = other
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                other = previous2[j - 2] + 1
                if other < value:
                    value = other
            if value > big:
                value = big
            current[j] = value
            if value < row_min:
                row_min = value
        if row_min > limit:
            return big
        previous2, previous = previous, current
    return previous[m] if previous[m] < big else big
