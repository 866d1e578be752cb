"""A word list with frequencies: read from a `word count` file or from the wordfreq package."""
import gzip
import math
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple, Union


class LexiconFormatError(ValueError):
    """A lexicon file has a line that cannot be read; the message names file and line."""

    def __init__(self, path: Union[str, Path], line_no: int, problem: str) -> None:
        super().__init__(f"{path}, line {line_no}: {problem}")
        self.path = str(path)
        self.line_no = line_no


class Lexicon:
    """Lower-cased words with counts, most frequent first."""

    def __init__(self, counts: Dict[str, float]) -> None:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        self.counts: Dict[str, float] = dict(ordered)
        total = sum(self.counts.values()) or 1.0
        self._log_total = math.log(total)
        self._log_floor = math.log(0.5) - self._log_total

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def __len__(self) -> int:
        return len(self.counts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def log_prob(self, word: str) -> float:
        """Log relative frequency (unknown words get half a count)."""
        count = self.counts.get(word)
        return math.log(count) - self._log_total if count else self._log_floor

    def words(self) -> List[str]:
        return list(self.counts)

    def top(self, n: int) -> "Lexicon":
        """The `n` most frequent words."""
        return Lexicon(dict(list(self.counts.items())[:n])) if n else self

    def with_domain_words(self, counts: Dict[str, float]) -> "Lexicon":
        """Add the words of a domain corpus ("Glamorgan", "wickets"), with counts scaled
        to this lexicon's total as if the corpus were a sample of the same text; a word
        keeps the larger of its two counts."""
        added: Dict[str, float] = {}
        for word, count in counts.items():  # "Apple" and "apple" add up
            if count > 0 and word.replace("'", "").isalpha():
                added[word.lower()] = added.get(word.lower(), 0.0) + count
        scale = sum(self.counts.values()) / (sum(added.values()) or 1.0) if self.counts else 1.0
        merged = dict(self.counts)
        for word, count in added.items():
            merged[word] = max(merged.get(word, 0.0), count * scale)
        return Lexicon(merged)

    def to_text(self) -> str:
        return "".join(f"{word}\t{_format_count(count)}\n" for word, count in self.counts.items())

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write `word<TAB>count` lines (gzip-compressed if the name ends in .gz)."""
        path = Path(path)
        data = self.to_text().encode("utf-8")
        path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)

    @classmethod
    def from_disk(cls, path: Union[str, Path], min_count: float = 0, max_words: int = 0) -> "Lexicon":
        """Read a `word count` file (space or tab separated; .gz allowed), one word a line.

        Raises LexiconFormatError naming the file and line on a malformed line.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Lexicon file not found: {path}")
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        counts = _sum_counts(_parse_lines(path, data))
        if not counts:
            raise LexiconFormatError(path, 0, "the file holds no words")
        lexicon = cls({w: c for w, c in counts.items() if c >= min_count})
        return lexicon.top(max_words)

    @classmethod
    def from_text(cls, text: str, source: str = "<lexicon>") -> "Lexicon":
        return cls(_sum_counts(_parse_lines(source, text.encode("utf-8"))))

    @classmethod
    def from_wordfreq(cls, lang: str, max_words: int = 80000) -> "Lexicon":
        """Take the `max_words` most frequent alphabetic words of `lang` from the wordfreq package."""
        try:
            import wordfreq
        except ImportError as err:
            raise ImportError("Install the optional 'wordfreq' package to build a lexicon from it.") from err
        counts: Dict[str, float] = {}
        for word in wordfreq.iter_wordlist(lang, "best"):
            if word.isalpha():
                counts[word] = wordfreq.word_frequency(word, lang) * 1e9
            if len(counts) >= max_words:
                break
        return cls(counts)


def load_lexicon(source: Union[str, Path], max_words: int = 0) -> Lexicon:
    """Load a lexicon from a file path, or from wordfreq with `wordfreq:LANG`."""
    text = str(source)
    if text.startswith("wordfreq:"):
        return Lexicon.from_wordfreq(text.split(":", 1)[1], max_words or 80000)
    return Lexicon.from_disk(text, max_words=max_words)


def count_corpus_words(path: Union[str, Path], vocab: Any = None) -> Dict[str, float]:
    """Lower-cased alphabetic word counts of a corpus: a spaCy DocBin (.spacy), a
    directory of them (as `spacy.Corpus.v1` reads), or a `word count` file."""
    from collections import Counter

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Domain word file not found: {path}")
    if not path.is_dir() and path.suffix != ".spacy":
        return dict(Lexicon.from_disk(path).counts)
    from spacy.tokens import DocBin
    from spacy.training.corpus import walk_corpus
    from spacy.vocab import Vocab

    files = walk_corpus(path, ".spacy")
    if not files:
        raise ValueError(f"Domain word directory has no .spacy files: {path}")

    counts: Counter = Counter()
    for file in files:
        for doc in DocBin().from_disk(file).get_docs(vocab or Vocab()):
            counts.update(token.lower_ for token in doc if token.is_alpha)
    return dict(counts)


def _parse_lines(path: Union[str, Path], data: bytes) -> Iterable[Tuple[str, float]]:
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError as err:
            raise LexiconFormatError(path, line_no, f"not valid UTF-8 ({err.reason})") from None
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise LexiconFormatError(path, line_no, f"expected 'word count', found {len(fields)} fields: {line!r}")
        word, count_text = fields
        try:
            count = float(count_text)
        except ValueError:
            raise LexiconFormatError(path, line_no, f"count {count_text!r} is not a number") from None
        if not math.isfinite(count) or count <= 0:
            raise LexiconFormatError(path, line_no, f"count {count_text!r} must be a positive number")
        yield word.lower(), count


def _sum_counts(pairs: Iterable[Tuple[str, float]]) -> Dict[str, float]:
    counts: Dict[str, float] = {}
    for word, count in pairs:
        counts[word] = counts.get(word, 0.0) + count
    return counts


def _format_count(count: float) -> str:
    return str(int(count)) if float(count).is_integer() else repr(count)
