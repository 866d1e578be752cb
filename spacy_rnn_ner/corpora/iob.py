"""Streaming reader for CoNLL-style column files (CoNLL-2003, CoNLL-2002, WNUT-17, OntoNotes).

One token per line, columns separated by whitespace (or a given separator),
the NER tag in a chosen column; blank or whitespace-only lines end sentences
(WNUT-17's train file marks breaks with a line holding a single TAB); a line
whose first column is `-DOCSTART-` starts a new document, with or without a
blank line after it (CoNLL-2002 Dutch has none).

Tag schemes: IOB1 (I-X may open an entity, B-X only separates two adjacent
entities of the same type), IOB2 (every entity opens with B-X), BILUO and
IOBES (S-X/E-X, read as U-X/L-X). Lenient decoding (the default) never drops
a tagged token: an entity opened with I-X, or a BILUO entity left open, is
kept and counted in a warning. `strict=True` turns every such sequence into
a `CorpusFormatError` naming the file and line.

The file is read line by line; only the current document is held in memory.
Files without `-DOCSTART-` lines would be one huge document: cut them with
`n_sents` or `max_doc_tokens`.
"""
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.iob_utils import biluo_tags_to_spans, iob_to_biluo
from spacy.util import registry
from spacy.vocab import Vocab

DOCSTART = "-DOCSTART-"
TAG_SCHEMES = ("IOB1", "IOB2", "BILUO", "IOBES")
PREFIXES = {"IOB1": "BI", "IOB2": "BI", "BILUO": "BILU", "IOBES": "BIES"}
IOBES_TO_BILUO = {"S": "U", "E": "L"}
# A document this long without any boundary usually means a file without -DOCSTART-.
LONG_DOC_WARNING = 20000


class CorpusFormatError(ValueError):
    """Input that cannot be read; the message names the file and the line (or row) and the problem."""

    def __init__(self, path: Union[str, Path], line_no: int, problem: str, unit: str = "line") -> None:
        super().__init__(f"{path}, {unit} {line_no}: {problem}")
        self.path = str(path)
        self.line_no = line_no
        self.problem = problem
        self.unit = unit


class Sentence(NamedTuple):
    words: List[str]
    tags: List[str]
    first_line: int


class _Repairs:
    """Counts tag sequences that lenient decoding had to repair, for one warning per file."""

    def __init__(self) -> None:
        self.count = 0
        self.first_line = 0
        self.example = ""

    def add(self, line_no: int, problem: str) -> None:
        if not self.count:
            self.first_line, self.example = line_no, problem
        self.count += 1


@registry.readers("spacy_rnn_ner.IOBCorpus.v1")
def create_iob_corpus(
    path: Union[str, Path],
    ner_column: int = -1,
    separator: Optional[str] = None,
    tag_scheme: str = "IOB2",
    strict: bool = False,
    n_sents: int = 0,
    limit: int = 0,
    max_doc_tokens: int = 0,
    labels: Optional[List[str]] = None,
    augmenter: Optional[Callable[[Language, Example], Iterable[Example]]] = None,
) -> Callable[[Language], Iterator[Example]]:
    """Read Examples from a column file, streaming, one Example per document.

    path (Path): The column file.
    ner_column (int): Index of the NER tag column (negative counts from the end).
    separator (Optional[str]): Column separator; None splits on any whitespace.
    tag_scheme (str): "IOB1", "IOB2", "BILUO" or "IOBES".
    strict (bool): Reject tag sequences that break the scheme (e.g. I-X after O in IOB2).
    n_sents (int): Also end a document after this many sentences (0: only at -DOCSTART-).
    limit (int): Stop after this many documents (0: no limit).
    max_doc_tokens (int): Also end a document before it would pass this many tokens;
        sentences are never split (0: no limit).
    labels (Optional[List[str]]): The entity labels allowed; another label is an error.
    augmenter (Optional[Callable]): A spaCy augmenter applied to each Example.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"Corpus file not found: {path}")
    _check_scheme(tag_scheme)

    def read(nlp: Language) -> Iterator[Example]:
        docs = read_iob_docs(
            nlp.vocab, path, ner_column, separator, tag_scheme, strict, n_sents,
            max_doc_tokens=max_doc_tokens, labels=labels,
        )
        for i, doc in enumerate(docs):
            if limit and i >= limit:
                break
            predicted = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            example = Example(predicted, doc)
            if augmenter is None:
                yield example
            else:
                yield from augmenter(nlp, example)

    return read


def read_iob_docs(
    vocab: Vocab,
    path: Union[str, Path],
    ner_column: int = -1,
    separator: Optional[str] = None,
    tag_scheme: str = "IOB2",
    strict: bool = False,
    n_sents: int = 0,
    max_doc_tokens: int = 0,
    labels: Optional[Iterable[str]] = None,
) -> Iterator[Doc]:
    """Yield one Doc per document, with sentence starts and entities set.

    See `create_iob_corpus` for the arguments.
    """
    path = Path(path)
    tag_scheme = _check_scheme(tag_scheme)
    allowed = set(labels) if labels is not None else None
    repairs = _Repairs()

    def make_doc(sentences: List[Sentence]) -> Doc:
        return _make_doc(vocab, path, sentences, tag_scheme, strict, allowed, repairs)

    document: List[Sentence] = []
    n_tokens = 0
    try:
        for item in _read_sentences(path, ner_column, separator):
            if item is None or (max_doc_tokens and document and n_tokens + len(item.words) > max_doc_tokens):
                if document:
                    yield make_doc(document)
                document, n_tokens = [], 0
                if item is None:
                    continue
            document.append(item)
            n_tokens += len(item.words)
            if n_sents and len(document) >= n_sents:
                yield make_doc(document)
                document, n_tokens = [], 0
        if document:
            yield make_doc(document)
    except GeneratorExit:  # the reader stopped early (a limit): still report what it repaired
        _warn_repairs(path, repairs, tag_scheme)
        raise
    _warn_repairs(path, repairs, tag_scheme)


def _warn_repairs(path: Path, repairs: "_Repairs", tag_scheme: str) -> None:
    if repairs.count:
        warnings.warn(
            f"{path}: {repairs.count} sentence(s) have tags that break the {tag_scheme} scheme, read "
            f"leniently (first at line {repairs.first_line}: {repairs.example}). "
            f"Check tag_scheme, or use strict=True to reject them.",
            stacklevel=3,
        )


def _check_scheme(tag_scheme: str) -> str:
    upper = tag_scheme.upper()
    if upper not in TAG_SCHEMES:
        raise ValueError(f"Unknown tag_scheme '{tag_scheme}': expected one of {', '.join(TAG_SCHEMES)}.")
    return upper


def column_separator(value: Optional[str]) -> Optional[str]:
    """A separator given on the command line: "\\t", "TAB" or "tab" mean a tab."""
    return "\t" if value in ("\\t", "TAB", "tab") else value


def _read_sentences(path: Path, ner_column: int, separator: Optional[str]) -> Iterator[Optional[Sentence]]:
    """Yield Sentences, and None at each document boundary."""
    words: List[str] = []
    tags: List[str] = []
    first_line = 0
    n_columns: Optional[int] = None
    with open(path, "rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            line = _decode(path, line_no, raw)
            if not line.strip():
                if words:
                    yield Sentence(words, tags, first_line)
                    words, tags = [], []
                continue
            columns = line.split(separator) if separator else line.split()
            if columns[0] == DOCSTART:
                if words:
                    yield Sentence(words, tags, first_line)
                    words, tags = [], []
                yield None
                continue
            if n_columns is None:
                n_columns = _check_first_line(path, line_no, line, columns, ner_column)
            elif len(columns) != n_columns:
                raise CorpusFormatError(path, line_no, f"expected {n_columns} columns, found {len(columns)}: {line!r}")
            if not columns[0]:
                raise CorpusFormatError(path, line_no, f"empty word column: {line!r}")
            if not words:
                first_line = line_no
            words.append(columns[0])
            tags.append(columns[ner_column].strip())
    if words:
        yield Sentence(words, tags, first_line)


def _decode(path: Path, line_no: int, raw: bytes) -> str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorpusFormatError(path, line_no, f"not valid UTF-8 ({err.reason} at byte {err.start} of the line)") from None
    if line_no == 1:
        line = line.lstrip("\ufeff")
    line = line.rstrip("\r\n")
    if "\r" in line:
        raise CorpusFormatError(
            path, line_no, "carriage return inside a line: the file seems to use bare CR line endings; convert it to LF"
        )
    return line


def _check_first_line(path: Path, line_no: int, line: str, columns: List[str], ner_column: int) -> int:
    """Check the first token line and return the number of columns every line must have."""
    n_columns = len(columns)
    if n_columns < 2:
        raise CorpusFormatError(path, line_no, f"expected a word and a tag column, found {n_columns} column: {line!r}")
    if not -n_columns <= ner_column < n_columns or ner_column in (0, -n_columns):
        raise CorpusFormatError(
            path, line_no, f"ner_column {ner_column} is not a tag column in a line of {n_columns} columns: {line!r}"
        )
    return n_columns


def _make_doc(
    vocab: Vocab,
    path: Path,
    sentences: List[Sentence],
    tag_scheme: str,
    strict: bool,
    labels: Optional[Set[str]],
    repairs: _Repairs,
) -> Doc:
    words: List[str] = []
    sent_starts: List[bool] = []
    biluo: List[str] = []
    for sentence in sentences:
        words.extend(sentence.words)
        sent_starts.extend([True] + [False] * (len(sentence.words) - 1))
        biluo.extend(_to_biluo(path, sentence, tag_scheme, strict, labels, repairs))
    # Column files carry no whitespace: leave spaces unknown, so that spaCy's
    # Corpus (spacy train / evaluate) keeps these tokens instead of retokenizing.
    doc = Doc(vocab, words=words, sent_starts=sent_starts)
    doc.ents = biluo_tags_to_spans(doc, biluo)
    if len(doc) > LONG_DOC_WARNING:
        warnings.warn(
            f"{path}: document starting at line {sentences[0].first_line} has {len(doc)} tokens. "
            f"If the file has no -DOCSTART- lines, set n_sents or max_doc_tokens.",
            stacklevel=3,
        )
    return doc


def _to_biluo(
    path: Path, sentence: Sentence, tag_scheme: str, strict: bool, labels: Optional[Set[str]], repairs: _Repairs
) -> List[str]:
    """Validate one sentence's tags and convert them to a valid BILUO sequence."""
    tags = [_check_tag(path, sentence.first_line + i, tag, tag_scheme, labels) for i, tag in enumerate(sentence.tags)]
    problem = _first_violation(tags, tag_scheme)
    if problem is not None:
        offset, message = problem
        if strict:
            raise CorpusFormatError(path, sentence.first_line + offset, message)
        repairs.add(sentence.first_line + offset, message)
    if tag_scheme in ("BILUO", "IOBES"):
        return tags if problem is None else _repair_biluo(tags)
    return iob_to_biluo(tags)


def _check_tag(path: Path, line_no: int, tag: str, tag_scheme: str, labels: Optional[Set[str]]) -> str:
    """Return the tag (IOBES prefixes mapped to BILUO), or raise if it is not a tag of the scheme."""
    if tag == "O":
        return tag
    prefix, dash, label = tag.partition("-")
    if not dash or not label or len(prefix) != 1 or prefix not in PREFIXES[tag_scheme]:
        expected = ", ".join(f"{p}-TYPE" for p in PREFIXES[tag_scheme])
        raise CorpusFormatError(path, line_no, f"unknown {tag_scheme} tag '{tag}' (expected O, {expected})")
    if labels is not None and label not in labels:
        raise CorpusFormatError(path, line_no, f"unknown entity label '{label}' in tag '{tag}' (allowed: {', '.join(sorted(labels))})")
    if tag_scheme == "IOBES":
        return f"{IOBES_TO_BILUO.get(prefix, prefix)}-{label}"
    return tag


def _first_violation(tags: Sequence[str], tag_scheme: str) -> Optional[Tuple[int, str]]:
    """Return (offset, problem) for the first tag that breaks the scheme, or None."""
    previous = "O"
    for offset, tag in enumerate(list(tags) + ["O"]):
        problem = _violation(previous, tag, tag_scheme)
        if problem is not None:
            return min(offset, len(tags) - 1), problem
        previous = tag
    return None


def _violation(previous: str, tag: str, tag_scheme: str) -> Optional[str]:
    prefix, label = tag[:1], tag[2:]
    prev_prefix, prev_label = previous[:1], previous[2:]
    inside_same = prev_prefix in ("B", "I") and prev_label == label
    if tag_scheme == "IOB2":
        if prefix == "I" and not inside_same:
            return f"'{tag}' follows '{previous}': an IOB2 entity must start with B-{label}"
    elif tag_scheme == "IOB1":
        if prefix == "B" and not inside_same:
            return f"'{tag}' follows '{previous}': in IOB1, B-{label} only separates two adjacent {label} entities"
    else:
        scheme = "BILUO" if tag_scheme == "BILUO" else "IOBES"
        if prev_prefix in ("B", "I") and not (prefix in ("I", "L") and label == prev_label):
            return f"'{_shown(tag, scheme)}' follows '{_shown(previous, scheme)}': the open {prev_label} entity must continue or end first"
        if prev_prefix not in ("B", "I") and prefix in ("I", "L"):
            return f"'{_shown(tag, scheme)}' follows '{_shown(previous, scheme)}': an entity must start with {_shown('B-' + label, scheme)} or {_shown('U-' + label, scheme)}"
    return None


def _shown(tag: str, scheme: str) -> str:
    """Write a BILUO tag back in the file's scheme, for messages."""
    if scheme == "IOBES" and tag[:1] in ("U", "L"):
        return ("S" if tag[0] == "U" else "E") + tag[1:]
    return tag


def _repair_biluo(tags: Sequence[str]) -> List[str]:
    """Turn a broken BILUO sequence into a valid one without dropping any tagged token."""
    spans: List[Tuple[str, int, int]] = []
    open_label: Optional[str] = None
    start = 0
    for i, tag in enumerate(tags):
        prefix, label = tag[:1], tag[2:]
        continues = open_label == label and prefix in ("I", "L")
        if open_label is not None and not continues:
            spans.append((open_label, start, i - 1))
            open_label = None
        if prefix == "O":
            continue
        if open_label is None:
            open_label, start = label, i
        if prefix in ("L", "U"):
            spans.append((label, start, i))
            open_label = None
    if open_label is not None:
        spans.append((open_label, start, len(tags) - 1))
    out = ["O"] * len(tags)
    for label, first, last in spans:
        if first == last:
            out[first] = f"U-{label}"
        else:
            out[first], out[last] = f"B-{label}", f"L-{label}"
            for j in range(first + 1, last):
                out[j] = f"I-{label}"
    return out
