"""Readers for files of real spelling errors, and a document-level split.

- codespell's `dictionary.txt` (`typo->fix[, fix2]` lines; CC BY-SA 3.0),
- TOEFL-Spell's `Annotations.tsv` (learner essays; CC BY-SA 4.0),
- Norvig's `spell-testset1.txt` (`right: wrong1 wrong2` lines).

All readers lower-case and keep single alphabetic words only, the task
`char_spell` solves. A malformed line raises `LexiconFormatError` naming the
file and line.
"""
import hashlib
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

from .lexicon import LexiconFormatError

Pair = Tuple[str, str]


def _is_word(text: str) -> bool:
    return bool(text) and text.replace("'", "").isalpha()


def _open_lines(path: Union[str, Path]) -> List[str]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Spelling error file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def read_codespell(path: Union[str, Path]) -> List[Pair]:
    """(typo, fix) pairs from codespell's dictionary; lines with several fixes are skipped."""
    pairs: List[Pair] = []
    for line_no, line in enumerate(_open_lines(path), start=1):
        if not line.strip():
            continue
        if "->" not in line:
            raise LexiconFormatError(path, line_no, f"expected 'typo->fix', found {line!r}")
        typo, fixes = line.split("->", 1)
        fixes = fixes.strip().rstrip(",")
        if "," in fixes:
            continue  # ambiguous: no single gold correction
        typo, fix = typo.strip().lower(), fixes.strip().lower()
        if _is_word(typo) and _is_word(fix) and typo != fix:
            pairs.append((typo, fix))
    return pairs


def read_toefl_spell(path: Union[str, Path], error_type: str = "M") -> List[Tuple[str, str, str]]:
    """(document, misspelling, correction) rows of one error type from TOEFL-Spell."""
    rows: List[Tuple[str, str, str]] = []
    for line_no, line in enumerate(_open_lines(path), start=1):
        if line_no == 1 or not line.strip():
            continue  # header
        fields = line.split("\t")
        if len(fields) < 5:
            raise LexiconFormatError(path, line_no, f"expected 5 tab-separated fields, found {len(fields)}")
        if fields[3].strip() != error_type:
            continue
        rows.append((fields[0].strip(), fields[2].strip().lower(), fields[4].strip().lower()))
    return rows


def read_norvig(path: Union[str, Path]) -> List[Pair]:
    """(wrong, right) pairs from a `right: wrong1 wrong2 ...` file."""
    pairs: List[Pair] = []
    for line_no, line in enumerate(_open_lines(path), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise LexiconFormatError(path, line_no, f"expected 'right: wrong1 wrong2', found {line!r}")
        right, wrongs = line.split(":", 1)
        pairs.extend((wrong.lower(), right.strip().lower()) for wrong in wrongs.split())
    return pairs


def document_split(document: str, shares: Dict[str, float]) -> str:
    """Assign a document to a named part by a stable hash of its name."""
    value = int(hashlib.md5(document.encode("utf8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    total = 0.0
    for part, share in shares.items():
        total += share
        if value < total:
            return part
    return list(shares)[-1]


# TOEFL-Spell essays: "train" for fine-tuning the shipped model, "tune" for its
# ranking weights, "eval" held out for bench/spelling.py.
TOEFL_SPLIT = {"train": 0.5, "tune": 0.2, "eval": 0.3}


def toefl_part(rows: Iterable[Tuple[str, str, str]], part: str) -> List[Pair]:
    """The word pairs of one TOEFL_SPLIT part, kept when both sides are words."""
    return [
        (wrong, right)
        for document, wrong, right in rows
        if document_split(document, TOEFL_SPLIT) == part and _is_word(wrong) and _is_word(right) and wrong != right
    ]


def without_typos(pairs: Sequence[Pair], excluded: Iterable[Pair]) -> List[Pair]:
    """Drop pairs whose misspelling occurs in `excluded` (keep evaluation sets unseen)."""
    typos = {wrong for wrong, _ in excluded}
    return [pair for pair in pairs if pair[0] not in typos]
