"""A word table over the training vocabulary, with one shared row for unknown words.

Hashed embeddings (spaCy's HashEmbed) give a word never seen in training the sum
of rows that were trained for other words. A tagger then reads a confident but
random signal on exactly the tokens that matter most on new text: unseen names.
This table gives every unseen word the same "unknown" row instead, and in
training replaces rare words by it now and then (Lample et al. 2016), so the
model learns what to do with a word it does not know: read its characters,
affixes and context.
"""
from collections import Counter
from typing import Any, Callable, Iterable, List, Optional, Tuple

import numpy
from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d, Ints1d

UNKNOWN_ROW = 0
KNOWN_WORD_EMBED = "known_word_embed"


def known_word_embed(
    width: int, rows: int, min_count: int = 1, rare_unknown_rate: float = 0.5
) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token's NORM by a table of the words seen in training.

    width (int): The width of each word vector.
    rows (int): The size of the table; the `rows - 1` most frequent training words
        with at least `min_count` occurrences get a row, all others share row 0.
    min_count (int): How often a word must occur in training to get its own row.
    rare_unknown_rate (float): In training, the probability that a word seen only
        once is read as unknown.
    """
    if rows < 2:
        raise ValueError(f"A known-word table needs at least 2 rows, got {rows}.")
    if not 0.0 <= rare_unknown_rate < 1.0:
        raise ValueError(f"rare_unknown_rate must be in [0, 1), got {rare_unknown_rate}.")
    return Model(
        KNOWN_WORD_EMBED,
        _forward,
        init=_init,
        params={"E": None},
        dims={"nO": width, "nV": rows},
        attrs={
            "min_count": min_count,
            "rare_unknown_rate": rare_unknown_rate,
            "words": numpy.zeros((0,), dtype="uint64"),
            "rare": numpy.zeros((0,), dtype="bool"),
        },
    )


def set_known_words(model: Model, counts: "Counter[int]") -> int:
    """Give every known-word table inside `model` the vocabulary of `counts`
    (NORM hash -> occurrences in the training data). Returns how many tables were set."""
    n_set = 0
    for node in model.walk():
        if node.name != KNOWN_WORD_EMBED:
            continue
        kept = [(n, key) for key, n in counts.items() if n >= node.attrs["min_count"]]
        kept.sort(key=lambda item: (-item[0], item[1]))
        kept = kept[: node.get_dim("nV") - 1]
        words = numpy.asarray([key for _, key in kept], dtype="uint64")
        occurrences = numpy.asarray([n for n, _ in kept], dtype="int64")
        order = numpy.argsort(words)
        node.attrs["words"] = words[order]
        node.attrs["rare"] = occurrences[order] == 1
        n_set += 1
    return n_set


def count_norms(docs: Iterable[Doc]) -> "Counter[int]":
    """Occurrences of each NORM hash in `docs`."""
    counts: Counter = Counter()
    for doc in docs:
        if len(doc):
            counts.update(doc.to_array(NORM).tolist())
    return counts


def has_known_word_table(model: Model) -> bool:
    return any(node.name == KNOWN_WORD_EMBED for node in model.walk())


def _init(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Any] = None) -> None:
    rows, width = model.get_dim("nV"), model.get_dim("nO")
    scale = numpy.sqrt(3.0 / width)
    table = numpy.random.uniform(-scale, scale, (rows, width)).astype("float32")
    model.set_param("E", model.ops.asarray2f(table))


def vocabulary_positions(words: numpy.ndarray, doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Each token's position in `words` (sorted NORM hashes) and whether it is there."""
    norms = doc.to_array(NORM).astype("uint64")
    if not len(words):
        return numpy.zeros(len(norms), dtype="int64"), numpy.zeros(len(norms), dtype="bool")
    position = numpy.minimum(numpy.searchsorted(words, norms), len(words) - 1)
    return position, words[position] == norms


def word_rows(model: Model, doc: Doc, is_train: bool) -> Ints1d:
    """Each token's row: its word's own, or UNKNOWN_ROW."""
    position, known = vocabulary_positions(model.attrs["words"], doc)
    if not len(model.attrs["words"]):
        return numpy.full(len(position), UNKNOWN_ROW, dtype="int64")
    if is_train and model.attrs["rare_unknown_rate"] > 0.0:
        dropped = model.attrs["rare"][position] & (numpy.random.random(len(position)) < model.attrs["rare_unknown_rate"])
        known &= ~dropped
    return numpy.where(known, position + 1, UNKNOWN_ROW).astype("int64")


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Any]:
    table = model.get_param("E")
    ids = [model.ops.asarray1i(word_rows(model, doc, is_train)) for doc in docs]
    outputs = [table[row_ids] for row_ids in ids]

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        d_table = model.ops.alloc2f(*table.shape)
        for row_ids, d_output in zip(ids, d_outputs):
            if len(row_ids):
                model.ops.scatter_add(d_table, row_ids, d_output)
        model.inc_grad("E", d_table)
        return []

    return outputs, backprop


@registry.callbacks("spacy_rnn_ner.known_words.v1")
def make_known_words_callback(paths: List[str]) -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback: give every known-word table in the
    pipeline (CharCNNEmbed.v3 inside any component, e.g. spaCy's own `ner` or a
    shared `tok2vec`) the vocabulary of these corpora (.spacy files or folders of
    them, usually `${paths.train}`). rnn_ner does this by itself for its own model."""

    def set_vocabulary(nlp: Language) -> Language:
        counts: Counter = Counter()
        for path in paths:
            if path:
                counts.update(count_norms(eg.predicted for eg in Corpus(path)(nlp)))
        for _, component in nlp.components:
            model = getattr(component, "model", None)
            if isinstance(model, Model):
                set_known_words(model, counts)
        return nlp

    return set_vocabulary
