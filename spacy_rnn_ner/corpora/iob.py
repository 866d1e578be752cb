"""Streaming reader for CoNLL-style column files (CoNLL-2003, CoNLL-2002, WNUT-17, OntoNotes).

One token per line, columns separated by whitespace (or a given separator),
the NER tag in a chosen column; blank or whitespace-only lines end sentences;
a line whose first column is `-DOCSTART-` starts a new document.
"""
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.iob_utils import biluo_tags_to_spans, iob_to_biluo
from spacy.util import registry
from spacy.vocab import Vocab

DOCSTART = "-DOCSTART-"
TAG_SCHEMES = ("IOB1", "IOB2", "BILUO")


class CorpusFormatError(ValueError):
    """A column file has a line that cannot be read; the message names file and line."""

    def __init__(self, path: Union[str, Path], line_no: int, problem: str) -> None:
        super().__init__(f"{path}, line {line_no}: {problem}")
        self.path = str(path)
        self.line_no = line_no
        self.problem = problem


class Sentence(NamedTuple):
    words: List[str]
    tags: List[str]
    first_line: int


@registry.readers("spacy_rnn_ner.IOBCorpus.v1")
def create_iob_corpus(
    path: Union[str, Path],
    ner_column: int = -1,
    separator: Optional[str] = None,
    tag_scheme: str = "IOB2",
    strict: bool = False,
    n_sents: int = 0,
    limit: int = 0,
) -> Callable[[Language], Iterator[Example]]:
    """Read Examples from a column file, streaming, one Example per document.

    path (Path): The column file.
    ner_column (int): Index of the NER tag column (negative counts from the end).
    separator (Optional[str]): Column separator; None splits on any whitespace.
    tag_scheme (str): "IOB1", "IOB2" or "BILUO".
    strict (bool): Reject tag sequences that break the scheme (e.g. I-X after O in IOB2).
    n_sents (int): Also end a document after this many sentences (0: only at -DOCSTART-).
    limit (int): Stop after this many documents (0: no limit).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"Corpus file not found: {path}")

    def read(nlp: Language) -> Iterator[Example]:
        for i, doc in enumerate(read_iob_docs(nlp.vocab, path, ner_column, separator, tag_scheme, strict, n_sents)):
            if limit and i >= limit:
                break
            yield Example(Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]), doc)

    return read


def read_iob_docs(
    vocab: Vocab,
    path: Union[str, Path],
    ner_column: int = -1,
    separator: Optional[str] = None,
    tag_scheme: str = "IOB2",
    strict: bool = False,
    n_sents: int = 0,
) -> Iterator[Doc]:
    """Yield one Doc per document, with sentence starts and entities set."""
    tag_scheme = tag_scheme.upper()
    if tag_scheme not in TAG_SCHEMES:
        raise ValueError(f"Unknown tag_scheme '{tag_scheme}': expected one of {', '.join(TAG_SCHEMES)}.")
    document: List[Sentence] = []
    for item in _read_sentences(path, ner_column, separator):
        if item is None:
            if document:
                yield _make_doc(vocab, path, document, tag_scheme, strict)
            document = []
            continue
        document.append(item)
        if n_sents and len(document) >= n_sents:
            yield _make_doc(vocab, path, document, tag_scheme, strict)
            document = []
    if document:
        yield _make_doc(vocab, path, document, tag_scheme, strict)


def _read_sentences(path: Path, ner_column: int, separator: Optional[str]) -> Iterator[Optional[Sentence]]:
    """Yield Sentences, and None at each document boundary."""
    words: List[str] = []
    tags: List[str] = []
    first_line = 0
    n_columns: Optional[int] = None
    with open(path, "rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise CorpusFormatError(path, line_no, f"not valid UTF-8 ({err.reason} at byte {err.start})") from None
            line = line.rstrip("\r\n")
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
                n_columns = len(columns)
                if not -n_columns <= ner_column < n_columns:
                    raise CorpusFormatError(path, line_no, f"ner_column {ner_column} does not exist in a line of {n_columns} columns")
            elif len(columns) != n_columns:
                raise CorpusFormatError(path, line_no, f"expected {n_columns} columns, found {len(columns)}: {line!r}")
            if not words:
                first_line = line_no
            words.append(columns[0])
            tags.append(columns[ner_column])
    if words:
        yield Sentence(words, tags, first_line)


def _make_doc(vocab: Vocab, path: Path, sentences: List[Sentence], tag_scheme: str, strict: bool) -> Doc:
    words: List[str] = []
    sent_starts: List[bool] = []
    biluo: List[str] = []
    for sentence in sentences:
        words.extend(sentence.words)
        sent_starts.extend([True] + [False] * (len(sentence.words) - 1))
        biluo.extend(_to_biluo(path, sentence, tag_scheme, strict))
    doc = Doc(vocab, words=words, sent_starts=sent_starts)
    doc.ents = biluo_tags_to_spans(doc, biluo)
    return doc


def _to_biluo(path: Path, sentence: Sentence, tag_scheme: str, strict: bool) -> List[str]:
    for offset, tag in enumerate(sentence.tags):
        if tag != "O" and (len(tag) < 3 or tag[1] != "-" or tag[0] not in ("BILU" if tag_scheme == "BILUO" else "BI")):
            raise CorpusFormatError(path, sentence.first_line + offset, f"invalid {tag_scheme} tag '{tag}'")
    if strict:
        _check_strict(path, sentence, tag_scheme)
    if tag_scheme == "BILUO":
        return list(sentence.tags)
    return iob_to_biluo(sentence.tags)


def _check_strict(path: Path, sentence: Sentence, tag_scheme: str) -> None:
    previous = "O"
    for offset, tag in enumerate(sentence.tags + ["O"]):
        prefix, label = tag[:1], tag[2:]
        prev_prefix, prev_label = previous[:1], previous[2:]
        open_entity = prev_prefix in ("B", "I") if tag_scheme != "BILUO" else prev_prefix in ("B", "I")
        if tag_scheme == "IOB2" and prefix == "I" and not (open_entity and label == prev_label):
            where = sentence.first_line + offset
            raise CorpusFormatError(path, where, f"'{tag}' follows '{previous}' (IOB2 needs B-{label} first)")
        if tag_scheme == "BILUO":
            continues = prefix in ("I", "L") and label == prev_label
            if open_entity != continues:
                where = sentence.first_line + min(offset, len(sentence.tags) - 1)
                raise CorpusFormatError(path, where, f"'{tag}' cannot follow '{previous}' in BILUO")
        previous = tag
