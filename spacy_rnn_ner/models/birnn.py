"""The BiRNN tagger: any tok2vec, a bidirectional LSTM/GRU over each document,
and per-token tag scores, with a CRF (or softmax) decoder.

Documents longer than `window_size` tokens are read in overlapping windows;
each window contributes the scores of its central tokens, so context is kept
at the seams and decoding still runs over the whole document.
"""
from collections import Counter
from functools import lru_cache
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model
from thinc.types import Floats2d

from .torch_bridge import length_sorted_chunks, torch_device, torch_module, wrap_module

DECODERS = ("crf", "softmax")
# Settings that change how the tagger runs but not its weights. Thinc saves a
# model's attrs with its weights; these are taken from the config instead.
RUNTIME_SETTINGS = (
    "window_size", "window_overlap", "batch_tokens", "fixed_dropout", "lm_weight", "inference_precision"
)
# Precision of the RNN's matrix products in prediction (training is always float32).
# "auto" is bfloat16 on a CPU with AMX (Intel Sapphire Rapids and later), whose
# bfloat16 units run an LSTM about four times as fast; float32 elsewhere.
INFERENCE_PRECISIONS = ("float32", "bfloat16", "auto")
# The RNN's cost grows with the padded length of a batch: a window shorter than this
# share of its batch's longest goes to a new batch (the CRF loops, which pay per step
# and not per token, keep whole batches).
RNN_MIN_FILL = 0.7


@registry.architectures("spacy_rnn_ner.BiRNNTagger.v3")
def build_birnn_tagger_v3(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    depth: int = 1,
    rnn_type: str = "lstm",
    dropout: Optional[float] = 0.5,
    decoder: str = "crf",
    window_size: int = 512,
    window_overlap: int = 64,
    batch_tokens: int = 32768,
    doc_pooling: bool = True,
    lm_weight: float = 0.1,
    lm_vocab_size: int = 5000,
    lm_width: int = 64,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """BiRNNTagger.v2, plus a language-model objective in training (Rei 2017): the
    forward RNN's state at each token also learns to predict the next word, the
    backward RNN's the previous word. Prediction is unchanged and the heads'
    weights are not used by it.

    lm_weight (float): Weight of the language-model loss beside the tagging
        loss, both averaged over the batch's tokens (the LM loss of a token sums
        its next-word and previous-word terms); 0 turns the objective off (the
        heads are still built and saved).
    lm_vocab_size (int): The most frequent training words (NORM) the heads predict;
        all others are one "other" class. Set at initialization.
    lm_width (int): Width of each head's hidden layer.
    The heads read the first RNN layer, whose states have not seen the word they
    predict. The tok2vec must not mix context (a window encoder would show each
    token its neighbours, and the next word would be trivial to predict). The
    other settings are those of spacy_rnn_ner.BiRNNTagger.v2.
    """
    if lm_weight < 0.0:
        raise ValueError(f"lm_weight must be 0 or more, got {lm_weight}.")
    if lm_vocab_size < 1 or lm_width < 1:
        raise ValueError(f"lm_vocab_size and lm_width must be positive, got {lm_vocab_size} and {lm_width}.")
    model = build_birnn_tagger_v2(
        tok2vec, hidden_width, depth, rnn_type, dropout, decoder, window_size, window_overlap, batch_tokens,
        doc_pooling, nO,
    )
    model.attrs.update(
        {
            "lm_weight": lm_weight,
            "lm_vocab_size": lm_vocab_size,
            "lm_width": lm_width,
            "lm_words": numpy.zeros((0,), dtype="uint64"),
        }
    )
    return model


@registry.architectures("spacy_rnn_ner.BiRNNTagger.v2")
def build_birnn_tagger_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    depth: int = 1,
    rnn_type: str = "lstm",
    dropout: Optional[float] = 0.5,
    decoder: str = "crf",
    window_size: int = 512,
    window_overlap: int = 64,
    batch_tokens: int = 32768,
    doc_pooling: bool = True,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """BiRNNTagger.v1, plus document pooling: each token's tag scores also read
    the mean RNN state over all occurrences of its lower-cased word in the
    document (within a window), so a name's clearest context informs its other
    mentions.

    doc_pooling (bool): Whether to add the pooled state. The other settings are
        those of spacy_rnn_ner.BiRNNTagger.v1.
    """
    model = build_birnn_tagger(
        tok2vec, hidden_width, depth, rnn_type, dropout, decoder, window_size, window_overlap, batch_tokens, nO
    )
    model.attrs["doc_pooling"] = doc_pooling
    return model


@registry.architectures("spacy_rnn_ner.BiRNNTagger.v1")
def build_birnn_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    depth: int = 1,
    rnn_type: str = "lstm",
    dropout: Optional[float] = 0.5,
    decoder: str = "crf",
    window_size: int = 512,
    window_overlap: int = 64,
    batch_tokens: int = 32768,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Score tags for each token with a bidirectional RNN over the whole document.

    tok2vec (Model[List[Doc], List[Floats2d]]): Token features: our char CNN
        embedder, any spaCy tok2vec, or a Tok2VecListener.
    hidden_width (int): Units per direction.
    depth (int): Number of stacked bidirectional layers.
    rnn_type (str): "lstm" or "gru".
    dropout (Optional[float]): Dropout on the RNN's inputs and outputs. None
        follows the `[training] dropout` setting instead.
    decoder (str): "crf" for a linear-chain CRF, "softmax" for per-token
        probabilities (decoded under the same tag-scheme constraints).
    window_size (int): Documents longer than this are read in windows.
    window_overlap (int): Context tokens on each side of a window that only
        provide context to the window's central tokens.
    batch_tokens (int): Upper bound on padded tokens per RNN batch.
    nO (Optional[int]): Number of tags; set by the component from its labels.
    """
    if rnn_type not in ("lstm", "gru"):
        raise ValueError(f"Unknown rnn_type '{rnn_type}': expected 'lstm' or 'gru'.")
    if decoder not in DECODERS:
        raise ValueError(f"Unknown decoder '{decoder}': expected one of {', '.join(DECODERS)}.")
    if window_overlap < 0:
        raise ValueError(f"window_overlap must be 0 or more, got {window_overlap}.")
    if window_size <= 2 * window_overlap:
        raise ValueError(
            f"window_size ({window_size}) must be larger than twice window_overlap ({window_overlap})."
        )
    return Model(
        "birnn_tagger",
        _forward,
        init=_init,
        layers=[tok2vec],
        dims={"nO": nO, "nI": None},
        attrs={
            "hidden_width": hidden_width,
            "depth": depth,
            "rnn_type": rnn_type,
            "fixed_dropout": dropout,
            "dropout_rate": 0.0,
            "decoder": decoder,
            "window_size": window_size,
            "window_overlap": window_overlap,
            "batch_tokens": batch_tokens,
            "doc_pooling": False,
        },
    )


def build_encoder(
    model: Model, n_tags: int, constraints: Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]
) -> None:
    """Create the torch layer for n_tags tags, once the tag inventory is known.

    Called by the component at `initialize` and before loading weights, so the
    torch module's shapes always come from the stored labels.
    """
    if has_encoder(model):
        if model.get_dim("nO") != n_tags:
            raise ValueError(
                f"The tagger was built for {model.get_dim('nO')} tags, not {n_tags}: "
                "labels cannot change after initialization."
            )
        return
    from .torch_modules import BiRNNEncoder

    tok2vec = model.layers[0]
    if not tok2vec.has_dim("nO") or tok2vec.get_dim("nO") is None:
        raise ValueError("The tok2vec layer must declare its output width (nO).")
    n_inputs = tok2vec.get_dim("nO")
    allowed, allowed_start, allowed_end = constraints
    module = BiRNNEncoder(
        n_inputs,
        model.attrs["hidden_width"],
        n_tags,
        depth=model.attrs["depth"],
        rnn_type=model.attrs["rnn_type"],
        use_crf=model.attrs["decoder"] == "crf",
        allowed=allowed,
        allowed_start=allowed_start,
        allowed_end=allowed_end,
        doc_pooling=model.attrs.get("doc_pooling", False),
        lm_vocab_size=model.attrs.get("lm_vocab_size", 0),
        lm_width=model.attrs.get("lm_width", 64),
    )
    model.set_dim("nI", n_inputs)
    model.set_dim("nO", n_tags)
    model.layers.append(wrap_module(module))


def has_language_model(model: Model) -> bool:
    return model.attrs.get("lm_vocab_size", 0) > 0


def set_lm_vocabulary(model: Model, counts: "Counter[int]") -> None:
    """Give the language-model heads the `lm_vocab_size` most frequent words of
    `counts` (NORM hash -> occurrences in the training data)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: model.attrs["lm_vocab_size"]]
    model.attrs["lm_words"] = numpy.sort(numpy.asarray([key for key, _ in ranked], dtype="uint64"))


def pop_language_model_loss(model: Model) -> Optional[float]:
    """The language-model loss (summed over tokens, times lm_weight) of the
    training batches since the last call; None without the objective."""
    if not (has_language_model(model) and has_encoder(model)) or model.attrs["lm_weight"] <= 0.0:
        return None
    if not len(model.attrs["lm_words"]):  # no vocabulary yet: the objective is off
        return None
    return model.attrs["lm_weight"] * encoder_module(model).pop_lm_loss()


def lm_word_ids(model: Model, doc: Doc) -> numpy.ndarray:
    """Each token's class for the language-model heads: 1 + its rank among the
    sorted vocabulary, or 0 for a word outside it."""
    from .known_words import vocabulary_positions

    position, known = vocabulary_positions(model.attrs["lm_words"], doc)
    return numpy.where(known, position + 1, 0).astype("int32")


def runtime_settings(model: Model) -> Dict[str, Any]:
    """The tagger's settings that do not change its weights (see RUNTIME_SETTINGS)."""
    return {name: model.attrs[name] for name in RUNTIME_SETTINGS if name in model.attrs}


def set_inference_precision(model: Model, precision: str) -> None:
    """Choose the RNN's precision in prediction: one of INFERENCE_PRECISIONS."""
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"Unknown inference_precision '{precision}': expected one of {', '.join(INFERENCE_PRECISIONS)}."
        )
    model.attrs["inference_precision"] = precision


def inference_dtype(model: Model, device_type: str) -> str:
    """The dtype ("float32" or "bfloat16") the RNN predicts in on a device of this type."""
    precision = model.attrs.get("inference_precision", "float32")
    if precision == "auto":
        return "bfloat16" if device_type == "cpu" and cpu_has_amx() else "float32"
    return precision


@lru_cache(maxsize=None)
def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (and so fast bfloat16 matrix products)."""
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # a torch without the check
        return False


def has_encoder(model: Model) -> bool:
    return len(model.layers) > 1


def drop_encoder(model: Model) -> None:
    """Remove the torch layer (RNN, output layer, CRF), so that `build_encoder`
    makes a fresh one: re-initializing a trained component starts afresh."""
    if has_encoder(model):
        model.layers.pop()
        model.set_dim("nO", None, force=True)


def encoder_module(model: Model) -> Any:
    """The BiRNNEncoder torch module (with the CRF, if any)."""
    if not has_encoder(model):
        raise ValueError("The tagger has no tag inventory yet: initialize the component first.")
    return torch_module(model.layers[1])


def _init(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Any] = None) -> None:
    model.layers[0].initialize(X=X)


class Window(NamedTuple):
    doc: int
    start: int
    end: int
    keep_start: int  # first token whose scores this window provides
    keep_end: int


def plan_windows(lengths: Sequence[int], size: int, overlap: int) -> List[Window]:
    """Cut each sequence into windows of at most `size` tokens.

    Consecutive windows overlap by 2 * overlap tokens; every token is kept
    from exactly one window, at least `overlap` tokens from that window's
    inner edges where the sequence allows. Empty sequences get no window.
    """
    windows = []
    for doc_index, length in enumerate(lengths):
        if length <= size:
            if length > 0:
                windows.append(Window(doc_index, 0, length, 0, length))
            continue
        keep_start = 0
        while keep_start < length:
            start = max(0, keep_start - overlap)
            end = min(length, start + size)
            keep_end = end if end == length else end - overlap
            windows.append(Window(doc_index, start, end, keep_start, keep_end))
            keep_start = keep_end
    return windows


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    tok2vec, encoder = model.layers[0], model.layers[1]
    features, backprop_tok2vec = tok2vec(docs, is_train)
    ops = model.ops
    n_tags = model.get_dim("nO")
    lengths = [len(doc) for doc in docs]
    windows = plan_windows(lengths, model.attrs["window_size"], model.attrs["window_overlap"])
    dropout = _dropout(model) if is_train else 0.0
    scores = [ops.alloc2f(length, n_tags) for length in lengths]
    words = [doc.to_array("LOWER") for doc in docs] if model.attrs.get("doc_pooling") else None
    use_lm = is_train and has_language_model(model) and len(model.attrs["lm_words"]) > 0
    lm_weight = model.attrs["lm_weight"] if use_lm else 0.0
    lm_ids = [lm_word_ids(model, doc) for doc in docs] if lm_weight > 0.0 else None
    # The tagging loss is averaged over the batch's tokens: so is the LM loss.
    lm_scale = lm_weight / max(1, sum(lengths))
    precision = None if is_train else inference_dtype(model, torch_device(encoder).type)
    chunk_backprops = []
    window_sizes = [w.end - w.start for w in windows]
    for chunk in length_sorted_chunks(window_sizes, model.attrs["batch_tokens"], RNN_MIN_FILL):
        members = [windows[i] for i in chunk]
        inputs = [features[w.doc][w.start : w.end] for w in members]
        window_lengths = ops.asarray1i([window_sizes[i] for i in chunk])
        padded = ops.pad(inputs)
        groups = None if words is None else ops.asarray2i(word_groups(words, members, padded.shape[1]))
        lm_targets = None if lm_ids is None else ops.asarray2i(window_targets(lm_ids, members, padded.shape[1]))
        args = ArgsKwargs(
            args=(padded, window_lengths, groups, lm_targets),
            kwargs={"dropout": dropout, "lm_scale": lm_scale, "inference_dtype": precision},
        )
        padded_scores, backprop_chunk = encoder(args, is_train)
        for i, window in enumerate(members):
            lo, hi = window.keep_start - window.start, window.keep_end - window.start
            scores[window.doc][window.keep_start : window.keep_end] = padded_scores[i, lo:hi]
        chunk_backprops.append((members, padded.shape, backprop_chunk))

    def backprop(d_scores: List[Floats2d]) -> List[Doc]:
        d_features = [ops.alloc2f(*feature.shape) for feature in features]
        for members, shape, backprop_chunk in chunk_backprops:
            d_padded = ops.alloc3f(shape[0], shape[1], n_tags)
            for i, window in enumerate(members):
                lo, hi = window.keep_start - window.start, window.keep_end - window.start
                d_padded[i, lo:hi] = d_scores[window.doc][window.keep_start : window.keep_end]
            d_inputs = backprop_chunk(d_padded)
            if d_inputs is None:
                continue
            for i, window in enumerate(members):
                d_features[window.doc][window.start : window.end] += d_inputs[i, : window.end - window.start]
        return backprop_tok2vec(d_features)

    return scores, backprop


def word_groups(words: List[numpy.ndarray], windows: Sequence[Window], width: int) -> numpy.ndarray:
    """(n_windows, width) ids that are equal for tokens of the same word within a window."""
    groups = numpy.zeros((len(windows), width), dtype="int32")
    for row, window in enumerate(windows):
        _, inverse = numpy.unique(words[window.doc][window.start : window.end], return_inverse=True)
        groups[row, : len(inverse)] = inverse
    return groups


def window_targets(ids: List[numpy.ndarray], windows: Sequence[Window], width: int) -> numpy.ndarray:
    """(n_windows, width) language-model targets: the word ids of the tokens each
    window keeps (so that a token of two overlapping windows counts once), -1
    for its context tokens and padding."""
    targets = numpy.full((len(windows), width), -1, dtype="int32")
    for row, window in enumerate(windows):
        lo, hi = window.keep_start - window.start, window.keep_end - window.start
        targets[row, lo:hi] = ids[window.doc][window.keep_start : window.keep_end]
    return targets


def _dropout(model: Model) -> float:
    fixed = model.attrs["fixed_dropout"]
    return model.attrs["dropout_rate"] if fixed is None else fixed


def tagging_loss(
    model: Model, scores: List[Floats2d], gold_masks: List[numpy.ndarray]
) -> Tuple[float, List[Floats2d]]:
    """Sum of per-document NLLs and its gradient per token, averaged over tokens."""
    import torch

    module = encoder_module(model)
    device = next(module.parameters()).device
    ops = model.ops
    n_tokens = max(1, sum(len(s) for s in scores))
    d_scores = [ops.alloc2f(*s.shape) for s in scores]
    total = 0.0
    lengths = [len(s) for s in scores]
    nonempty = [i for i, length in enumerate(lengths) if length]
    for chunk in length_sorted_chunks([lengths[i] for i in nonempty], model.attrs["batch_tokens"]):
        members = [nonempty[i] for i in chunk]
        padded = torch.tensor(ops.to_numpy(ops.pad([scores[i] for i in members])), device=device)
        padded.requires_grad_()
        mask = torch.tensor(_pad_masks([gold_masks[i] for i in members]), device=device)
        chunk_lengths = torch.tensor([lengths[i] for i in members], device=device)
        loss = module.loss(padded, chunk_lengths, mask).sum()
        (loss / n_tokens).backward()
        grad = ops.asarray3f(padded.grad.cpu().numpy())
        for row, i in enumerate(members):
            d_scores[i] = grad[row, : lengths[i]]
        total += float(loss.detach())
    return total, d_scores


class Decoded(NamedTuple):
    tags: numpy.ndarray  # tag id per token
    unary: numpy.ndarray  # log P(y_t = tags[t])
    pairwise: numpy.ndarray  # log P(y_t = tags[t], y_t+1 = tags[t+1])


def decode(model: Model, scores: List[Floats2d]) -> List[Decoded]:
    """Decode the best valid tag path of each document, with path marginals.

    Documents longer than `window_size` are decoded in segments cut between
    two tokens that are confidently outside any entity (the most confident
    pair in the last `window_overlap` tokens; a plain cut when that is 0), so an
    entity crosses a cut only when no such pair exists there. Each segment's
    path is valid on its own; segments of all
    documents are decoded together in length-sorted batches.
    """
    import torch

    module = encoder_module(model)
    device = next(module.parameters()).device
    ops = model.ops
    host_scores = [ops.to_numpy(s) for s in scores]
    segments = [
        (doc, start, end)
        for doc, doc_scores in enumerate(host_scores)
        for start, end in decoding_segments(doc_scores, model.attrs["window_size"], model.attrs["window_overlap"])
    ]
    parts: List[Optional[Decoded]] = [None] * len(segments)
    lengths = [end - start for _, start, end in segments]
    with torch.inference_mode():
        for chunk in length_sorted_chunks(lengths, model.attrs["batch_tokens"]):
            padded = torch.as_tensor(
                _pad_floats([host_scores[segments[i][0]][segments[i][1] : segments[i][2]] for i in chunk]),
                device=device,
            )
            chunk_lengths = torch.tensor([lengths[i] for i in chunk], device=device)
            tags, unary, pairwise = (t.cpu().numpy() for t in module.decode(padded, chunk_lengths))
            for row, i in enumerate(chunk):
                n = lengths[i]
                parts[i] = Decoded(tags[row, :n], unary[row, :n], pairwise[row, : n - 1])
    return _join_segments(segments, parts, len(scores))


def decoding_segments(scores: numpy.ndarray, size: int, overlap: int) -> List[Tuple[int, int]]:
    """Cut a document's (n_tokens, n_tags) scores into segments of at most `size` tokens.

    Each cut falls in the last `overlap` tokens of a segment, between the two
    adjacent tokens most confidently tagged 'O' (tag 0).
    """
    length = len(scores)
    if length == 0:
        return []
    if scores.shape[1] > 1:
        outside_margin = scores[:, 0] - scores[:, 1:].max(axis=1)
    else:
        outside_margin = numpy.zeros(length, dtype="f")
    segments = []
    start = 0
    while length - start > size:
        low, high = start + size - overlap, start + size
        if overlap == 0:
            cut = high  # no room to choose: a plain cut
        else:
            # cut before token c: both c-1 and c should be confidently 'O'
            both_outside = numpy.minimum(outside_margin[low - 1 : high - 1], outside_margin[low:high])
            cut = low + int(numpy.argmax(both_outside))
        segments.append((start, cut))
        start = cut
    segments.append((start, length))
    return segments


def _join_segments(
    segments: List[Tuple[int, int, int]], parts: List[Decoded], n_docs: int
) -> List[Decoded]:
    empty = numpy.zeros((0,), dtype="f")
    by_doc: List[List[Decoded]] = [[] for _ in range(n_docs)]
    for (doc, _, _), part in zip(segments, parts):
        by_doc[doc].append(part)
    results = []
    for pieces in by_doc:
        if not pieces:
            results.append(Decoded(numpy.zeros((0,), dtype="i"), empty, empty))
            continue
        pairwise = [pieces[0].pairwise]
        for previous, current in zip(pieces, pieces[1:]):
            # Across a cut the segments are independent: P(a, b) = P(a) P(b).
            pairwise.append(numpy.array([previous.unary[-1] + current.unary[0]], dtype="f"))
            pairwise.append(current.pairwise)
        results.append(
            Decoded(
                numpy.concatenate([p.tags for p in pieces]),
                numpy.concatenate([p.unary for p in pieces]),
                numpy.concatenate(pairwise),
            )
        )
    return results


def _pad_floats(arrays: List[numpy.ndarray]) -> numpy.ndarray:
    max_len = max(len(a) for a in arrays)
    padded = numpy.zeros((len(arrays), max_len, arrays[0].shape[1]), dtype="f")
    for i, array in enumerate(arrays):
        padded[i, : len(array)] = array
    return padded


def _pad_masks(masks: List[numpy.ndarray]) -> numpy.ndarray:
    max_len = max(len(m) for m in masks)
    padded = numpy.ones((len(masks), max_len, masks[0].shape[1]), dtype=bool)
    for i, mask in enumerate(masks):
        padded[i, : len(mask)] = mask
    return padded
