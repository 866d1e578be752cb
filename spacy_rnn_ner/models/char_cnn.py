"""CNN character features (Ma & Hovy 2016) combined with spaCy's hashed word features."""
from typing import Any, List, Optional, Tuple, Union

import numpy
from spacy.ml.models import MultiHashEmbed
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model, concatenate
from thinc.types import Floats2d, Ints1d, Ints2d

from .torch_bridge import wrap_module

PADDING_ID = 0
N_DIRECT_CHARS = 256  # code points below this get their own id; others are hashed


@registry.architectures("spacy_rnn_ner.CharCNNEmbed.v1")
def build_char_cnn_embed(
    width: int,
    attrs: List[Union[str, int]],
    rows: List[int],
    include_static_vectors: bool = False,
    char_width: int = 30,
    char_filters: int = 50,
    char_window_widths: List[int] = [3],
    max_chars: int = 20,
    n_chars: int = 512,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token by hashed lexical features plus a character CNN.

    The output for each token is the concatenation of spaCy's MultiHashEmbed
    vector (`width` wide) and the max-pooled character convolutions
    (`char_filters * len(char_window_widths)` wide). Usable as the `embed`
    layer of `spacy.Tok2Vec.v2`, or as the tok2vec of `spacy_rnn_ner.BiRNNTagger.v1`.

    width (int): The width of the hashed word features.
    attrs (List[str]): Token attributes to hash, as for MultiHashEmbed.
    rows (List[int]): Number of rows for each attribute's hash table.
    include_static_vectors (bool): Whether to add the pipeline's static vectors.
    char_width (int): The width of each character embedding.
    char_filters (int): Number of filters for each convolution width.
    char_window_widths (List[int]): Widths of the character windows convolved.
    max_chars (int): Longer words keep their first and last max_chars // 2 characters.
    n_chars (int): Size of the character table; rarer code points share rows by hashing.
    word_dropout (float): In training, the share of tokens whose hashed word
        features are zeroed, so the model learns to recognise unseen words from
        their characters and context.
    """
    words, chars = _hashed_and_char_features(
        width, attrs, rows, include_static_vectors, char_width, char_filters,
        char_window_widths, max_chars, n_chars, word_dropout,
    )
    return _concatenated([words, chars], width + chars.get_dim("nO"), read_corrections=False)


@registry.architectures("spacy_rnn_ner.CharCNNEmbed.v2")
def build_char_cnn_embed_v2(
    width: int,
    attrs: List[Union[str, int]],
    rows: List[int],
    include_static_vectors: bool = False,
    char_width: int = 30,
    char_filters: int = 50,
    char_window_widths: List[int] = [3],
    max_chars: int = 20,
    n_chars: int = 512,
    word_dropout: float = 0.0,
    read_corrections: bool = True,
) -> Model[List[Doc], List[Floats2d]]:
    """As CharCNNEmbed.v1; with `read_corrections`, a word whose NORM a spelling
    corrector changed (char_spell writes "germany" for "Germnay") is embedded
    as the corrected word, in its original casing ("Germany"): its characters,
    affixes and shape, not only its NORM. Weights are those of v1, so a model
    trained with v1 can be loaded with v2 to read char_spell's corrections.
    Alphabetic NORM exceptions of the tokenizer ("dont" -> "do" + "nt", NORM
    "not") are read the same way, so train and predict with the same version.

    read_corrections (bool): Embed corrected words instead of their typos.
    """
    model = build_char_cnn_embed(
        width, attrs, rows, include_static_vectors, char_width, char_filters,
        char_window_widths, max_chars, n_chars, word_dropout,
    )
    return _concatenated(model.layers, model.get_dim("nO"), read_corrections)


@registry.architectures("spacy_rnn_ner.CharCNNEmbed.v3")
def build_char_cnn_embed_v3(
    width: int,
    attrs: List[Union[str, int]],
    rows: List[int],
    word_width: int = 100,
    word_rows: int = 30000,
    word_min_count: int = 1,
    rare_unknown_rate: float = 0.5,
    include_static_vectors: bool = False,
    char_width: int = 30,
    char_filters: int = 50,
    char_window_widths: List[int] = [3],
    max_chars: int = 20,
    n_chars: int = 512,
    word_dropout: float = 0.0,
    read_corrections: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """As CharCNNEmbed.v2, plus a table of the words seen in training (by NORM)
    in which every unseen word shares one "unknown" row, so a new name reads as
    unknown instead of as the hashed rows of other words. `attrs` are the hashed
    features beside it (e.g. PREFIX, SUFFIX, SHAPE). The vocabulary is taken
    from the training data when the pipeline is initialized (rnn_ner does this;
    for other components use the callback `spacy_rnn_ner.known_words.v1`).

    word_width (int): The width of the word table's vectors.
    word_rows (int): The size of the word table (row 0 is "unknown").
    word_min_count (int): How often a word must occur in training to get a row.
    rare_unknown_rate (float): In training, how often a word seen once is read as unknown.
    word_dropout (float): In training, the share of tokens whose hashed features are zeroed.
    """
    from .known_words import known_word_embed

    words = known_word_embed(word_width, word_rows, word_min_count, rare_unknown_rate)
    hashed, chars = _hashed_and_char_features(
        width, attrs, rows, include_static_vectors, char_width, char_filters,
        char_window_widths, max_chars, n_chars, word_dropout,
    )
    return _concatenated([words, hashed, chars], word_width + width + chars.get_dim("nO"), read_corrections)


@registry.architectures("spacy_rnn_ner.CharCNNEmbed.v4")
def build_char_cnn_embed_v4(
    width: int,
    attrs: List[Union[str, int]],
    rows: List[int],
    word_width: int = 100,
    word_rows: int = 30000,
    word_min_count: int = 1,
    rare_unknown_rate: float = 0.5,
    char_width: int = 30,
    char_filters: int = 50,
    char_window_widths: List[int] = [3],
    max_chars: int = 20,
    n_chars: int = 512,
    word_dropout: float = 0.0,
    read_corrections: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """As CharCNNEmbed.v3, with the hashed features' vectors summed instead of
    concatenated and mixed by a Maxout layer (spaCy's MultiHashEmbed): for the
    RNN's linear input layer a sum of free vectors serves as well as their
    concatenation, and the Maxout's matrix product, about a fifth of the
    tagging time on a CPU, is gone. No static vectors.
    """
    from .known_words import known_word_embed

    words = known_word_embed(word_width, word_rows, word_min_count, rare_unknown_rate)
    hashed, chars = _hashed_and_char_features(
        width, attrs, rows, False, char_width, char_filters,
        char_window_widths, max_chars, n_chars, word_dropout, summed=True,
    )
    return _concatenated([words, hashed, chars], word_width + width + chars.get_dim("nO"), read_corrections)


def summed_hash_embed(width: int, attrs: List[Union[str, int]], rows: List[int]) -> Model[List[Doc], List[Floats2d]]:
    """One hashed table per attribute (as in MultiHashEmbed), their vectors summed."""
    from spacy.ml.featureextractor import FeatureExtractor
    from thinc.api import HashEmbed, add, chain, list2ragged, ragged2list, with_array

    if len(rows) != len(attrs):
        raise ValueError(f"Mismatched lengths: {len(rows)} rows for {len(attrs)} attrs.")
    tables = [HashEmbed(width, n_rows, column=i, seed=8 + i, dropout=0.0) for i, n_rows in enumerate(rows)]
    model = chain(FeatureExtractor(attrs), list2ragged(), with_array(add(*tables)), ragged2list())
    model.set_dim("nO", width)
    return model


def _hashed_and_char_features(
    width: int,
    attrs: List[Union[str, int]],
    rows: List[int],
    include_static_vectors: bool,
    char_width: int,
    char_filters: int,
    char_window_widths: List[int],
    max_chars: int,
    n_chars: int,
    word_dropout: float,
    summed: bool = False,
) -> Tuple[Model[List[Doc], List[Floats2d]], Model[List[Doc], List[Floats2d]]]:
    """spaCy's MultiHashEmbed, or with `summed` the hashed vectors summed (with
    token dropout if asked), and the character CNN."""
    if summed:
        hashed = summed_hash_embed(width, attrs, rows)
    else:
        hashed = MultiHashEmbed(
            width=width, attrs=attrs, rows=rows, include_static_vectors=include_static_vectors
        )
    chars = char_cnn_features(
        char_width=char_width,
        n_filters=char_filters,
        window_widths=char_window_widths,
        max_chars=max_chars,
        n_chars=n_chars,
    )
    if word_dropout > 0.0:
        hashed = token_dropout(hashed, word_dropout)
    return hashed, chars


def _concatenated(layers: List[Model], n_out: int, read_corrections: bool) -> Model[List[Doc], List[Floats2d]]:
    """The layers' outputs side by side; with `read_corrections`, computed on each doc
    with its corrected words (the same nodes either way, so weights load across)."""
    if read_corrections:
        return Model(
            "concatenate_corrected",
            _concatenate_corrected_forward,
            init=_init_layers,
            layers=list(layers),
            dims={"nO": n_out},
        )
    model = concatenate(*layers)
    model.set_dim("nO", n_out)
    return model


def _init_layers(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Any] = None) -> None:
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)


def _concatenate_corrected_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], callable]:
    if not docs:
        return [], lambda d_outputs: []
    docs = [corrected_doc(doc) for doc in docs]
    results = [layer(docs, is_train) for layer in model.layers]
    widths = [output[0].shape[1] for output, _ in results]
    outputs = [model.ops.xp.hstack(parts) for parts in zip(*(output for output, _ in results))]

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        start = 0
        for (_, backprop_layer), width in zip(results, widths):
            backprop_layer([d[:, start : start + width] for d in d_outputs])
            start += width
        return []

    return outputs, backprop


def corrected_doc(doc: Doc) -> Doc:
    """The doc with each word whose NORM is a different alphabetic word replaced by
    that word in the original's casing pattern; the doc itself if there is none."""
    from ..spelling.casing import match_casing

    if not len(doc):
        return doc
    norms = doc.to_array("NORM")
    changed = numpy.nonzero(norms != doc.to_array("LOWER"))[0]
    replacements = {}
    for i in changed.tolist():
        token = doc[i]
        if token.is_alpha and token.norm_.isalpha():
            replacements[i] = match_casing(token.norm_, token.text)
    if not replacements:
        return doc
    words = [replacements.get(t.i, t.text) for t in doc]
    corrected = Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc])
    for i in changed.tolist():
        if i not in replacements:
            corrected[i].norm_ = doc[i].norm_
    return corrected


def token_dropout(layer: Model[List[Doc], List[Floats2d]], rate: float) -> Model[List[Doc], List[Floats2d]]:
    """Zero each token's whole output vector with probability `rate` in training."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"word_dropout must be in [0, 1), got {rate}.")
    return Model(
        f"token_dropout({layer.name})",
        _token_dropout_forward,
        init=_init_inner,
        layers=[layer],
        attrs={"token_dropout": rate},
        dims={"nO": layer.get_dim("nO") if layer.has_dim("nO") else None},
    )


def _init_inner(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Any] = None) -> None:
    model.layers[0].initialize(X=X, Y=Y)


def _token_dropout_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], callable]:
    outputs, backprop_layer = model.layers[0](docs, is_train)
    rate = model.attrs["token_dropout"]
    if not is_train or rate == 0.0:
        return outputs, backprop_layer
    masks = [model.ops.asarray2f(numpy.random.random((len(y), 1)) >= rate) for y in outputs]
    outputs = [y * mask for y, mask in zip(outputs, masks)]

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        return backprop_layer([d * mask for d, mask in zip(d_outputs, masks)])

    return outputs, backprop


def char_cnn_features(
    char_width: int,
    n_filters: int,
    window_widths: List[int],
    max_chars: int,
    n_chars: int,
) -> Model[List[Doc], List[Floats2d]]:
    """The character CNN alone: one max-pooled feature vector per token."""
    if not window_widths:
        raise ValueError("char_window_widths must name at least one convolution width.")
    if n_chars <= N_DIRECT_CHARS:
        raise ValueError(f"n_chars must be larger than {N_DIRECT_CHARS}, got {n_chars}.")
    from .torch_modules import CharCNN

    module = CharCNN(n_chars, char_width, n_filters, window_widths)
    return Model(
        "char_cnn",
        _char_cnn_forward,
        layers=[wrap_module(module)],
        attrs={"max_chars": max_chars, "n_chars": n_chars, "dropout_rate": 0.0},
        dims={"nO": n_filters * len(window_widths)},
    )


def _char_cnn_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], callable]:
    lengths = [len(doc) for doc in docs]
    n_out = model.get_dim("nO")
    if sum(lengths) == 0:
        return [model.ops.alloc2f(0, n_out) for _ in docs], lambda d_outputs: []
    char_ids, token_types = docs_to_char_ids(docs, model.attrs["max_chars"], model.attrs["n_chars"])
    dropout = model.attrs["dropout_rate"] if is_train else 0.0
    inputs = ArgsKwargs(args=(char_ids, token_types), kwargs={"dropout": dropout})
    features, backprop_torch = model.layers[0](inputs, is_train)
    outputs = model.ops.unflatten(model.ops.asarray2f(features), lengths)

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        backprop_torch(model.ops.flatten(d_outputs))
        return []

    return outputs, backprop


def docs_to_char_ids(docs: List[Doc], max_chars: int, n_chars: int) -> Tuple[Ints2d, Ints1d]:
    """Character ids of each distinct word in the batch, and each token's word index."""
    orths = numpy.concatenate([doc.to_array("ORTH") for doc in docs])
    unique_orths, token_types = numpy.unique(orths, return_inverse=True)
    strings = docs[0].vocab.strings
    words = [strings[int(orth)] for orth in unique_orths]
    return words_to_char_ids(words, max_chars, n_chars), token_types.astype(numpy.int64)


def words_to_char_ids(words: List[str], max_chars: int, n_chars: int) -> Ints2d:
    """Encode words as (n_words, width) character ids; width <= max_chars."""
    width = min(max_chars, max((len(word) for word in words), default=1)) or 1
    head = width - width // 2
    fitted = (word if len(word) <= width else word[:head] + word[len(word) - (width - head) :] for word in words)
    text = "".join(word.ljust(width, "\0") for word in fitted)
    codes = numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32).reshape(len(words), width)
    hashed = N_DIRECT_CHARS + codes % (n_chars - N_DIRECT_CHARS)
    return numpy.where(codes < N_DIRECT_CHARS, codes, hashed).astype(numpy.int64)
