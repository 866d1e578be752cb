"""CharSpeller: a character-level encoder-decoder scoring corrections of a misspelt word.

The typo is read by a bidirectional GRU; a GRU decoder with (Luong) attention
over the typo's characters gives log P(candidate | typo), one character at a
time. The component ranks lexicon candidates with it (teacher-forced, all
candidates in one batch) and, when no candidate is within the edit-distance
limit, decodes with a beam search that only follows paths of a lexicon trie.

torch is imported inside functions only; the module itself stays light.
"""
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy
from spacy.util import registry
from thinc.api import ArgsKwargs, Model
from thinc.types import Floats1d

from .torch_bridge import torch_module, wrap_module

PAD, BOS, EOS, UNK = 0, 1, 2, 3
N_SPECIAL = 4
DIRECTIONS = ("posterior", "channel")


@registry.architectures("spacy_rnn_ner.CharSpeller.v1")
def build_char_speller(
    char_width: int = 32,
    hidden_width: int = 128,
    max_length: int = 30,
    dropout: float = 0.1,
    direction: str = "posterior",
) -> Model[List[Tuple[str, str]], Floats1d]:
    """Build a char encoder-decoder relating a misspelt word and its correction.

    The torch layer is created by `build_speller_module` once the character
    inventory is known (the component does it at initialize and before loading).
    Input: (source, target) pairs; output: the negative log-likelihood of each
    target given its source. With direction "posterior" the model reads the
    typo and spells the correction, log P(word | typo), and can decode with a
    lexicon-constrained beam search; with "channel" it reads the word and
    spells the typo, log P(typo | word): a noisy-channel error model.

    char_width (int): Width of the character embeddings.
    hidden_width (int): Width of each GRU direction (encoder) and of the decoder.
    max_length (int): Longer words are cut to this many characters.
    dropout (float): Dropout on embeddings and decoder outputs during training.
    direction (str): "posterior" (typo -> word) or "channel" (word -> typo).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"Unknown direction '{direction}': expected one of {', '.join(DIRECTIONS)}.")
    return Model(
        "char_speller",
        _forward,
        layers=[],
        attrs={
            "char_width": char_width,
            "hidden_width": hidden_width,
            "max_length": max_length,
            "dropout": dropout,
            "direction": direction,
            "chars": "",
        },
    )


def build_speller_module(model: Model, chars: str) -> None:
    """Create the torch layer for a character inventory (called before training or loading)."""
    from .spell_torch import CharSeq2Seq

    module = CharSeq2Seq(
        n_chars=len(chars) + N_SPECIAL,
        char_width=model.attrs["char_width"],
        hidden_width=model.attrs["hidden_width"],
        dropout=model.attrs["dropout"],
    )
    model.attrs["chars"] = chars
    model.layers.clear()
    model.layers.append(wrap_module(module))


def has_module(model: Model) -> bool:
    return len(model.layers) > 0


def speller_module(model: Model) -> Any:
    if not has_module(model):
        raise ValueError("The char speller has no character inventory yet: initialize the component first.")
    return torch_module(model.layers[0])


class CharEncoder:
    """Map words to padded id arrays with the model's character inventory."""

    def __init__(self, chars: str, max_length: int) -> None:
        self.ids: Dict[str, int] = {char: i + N_SPECIAL for i, char in enumerate(chars)}
        self.max_length = max_length

    def encode(self, word: str) -> List[int]:
        return [self.ids.get(char, UNK) for char in word[: self.max_length]]

    def batch(self, words: Sequence[str], bos: bool = False, eos: bool = False) -> Tuple[numpy.ndarray, numpy.ndarray]:
        rows = [([BOS] if bos else []) + self.encode(w) + ([EOS] if eos else []) for w in words]
        lengths = numpy.asarray([max(1, len(r)) for r in rows], dtype="int64")
        array = numpy.zeros((len(rows), int(lengths.max()) if len(rows) else 1), dtype="int64")
        for i, row in enumerate(rows):
            array[i, : len(row)] = row
        return array, lengths


def char_encoder(model: Model) -> CharEncoder:
    return CharEncoder(model.attrs["chars"], model.attrs["max_length"])


def _forward(model: Model, pairs: List[Tuple[str, str]], is_train: bool):
    encoder = char_encoder(model)
    typos, typo_lengths = encoder.batch([typo for typo, _ in pairs])
    targets, _ = encoder.batch([target for _, target in pairs], bos=True, eos=True)
    inputs = ArgsKwargs(args=(typos, typo_lengths, targets), kwargs={})
    return model.layers[0](inputs, is_train)


def score_candidates(
    model: Model, typos: Sequence[str], candidates: Sequence[Sequence[str]], chunk_size: int = 2048
) -> List[numpy.ndarray]:
    """log P(candidate | typo) for each typo's candidates (one array per typo)."""
    import torch

    module = speller_module(model)
    encoder = char_encoder(model)
    flat = [(i, c) for i, cands in enumerate(candidates) for c in cands]
    if not flat:
        return [numpy.zeros((0,), dtype="float32") for _ in typos]
    if model.attrs.get("direction") == "channel":
        return _split(_score_channel(module, encoder, typos, flat, chunk_size), candidates)
    to_device = _to_device(module)
    typo_ids, typo_lengths = encoder.batch(typos)
    chunks: List[numpy.ndarray] = []
    with torch.no_grad():
        module.eval()
        memory = module.encode(to_device(typo_ids), to_device(typo_lengths))
        for start in range(0, len(flat), chunk_size):
            part = flat[start : start + chunk_size]
            target_ids, _ = encoder.batch([c for _, c in part], bos=True, eos=True)
            rows = to_device(numpy.asarray([i for i, _ in part], dtype="int64"))
            chunks.append(module.sequence_log_prob(memory, rows, to_device(target_ids)).cpu().numpy())
    return _split(numpy.concatenate(chunks), candidates)


def _to_device(module: Any) -> Callable[[numpy.ndarray], Any]:
    """numpy -> tensor on the module's device (a GPU after spacy.require_gpu())."""
    import torch

    device = next(module.parameters()).device
    return lambda array: torch.as_tensor(array, device=device)


def _score_channel(module: Any, encoder: "CharEncoder", typos: Sequence[str], flat: List[Tuple[int, str]],
                   chunk_size: int) -> numpy.ndarray:
    """log P(typo | candidate): encode each candidate, spell the typo."""
    import torch

    to_device = _to_device(module)
    chunks: List[numpy.ndarray] = []
    with torch.no_grad():
        module.eval()
        for start in range(0, len(flat), chunk_size):
            part = flat[start : start + chunk_size]
            source_ids, source_lengths = encoder.batch([c for _, c in part])
            target_ids, _ = encoder.batch([typos[i] for i, _ in part], bos=True, eos=True)
            memory = module.encode(to_device(source_ids), to_device(source_lengths))
            rows = to_device(numpy.arange(len(part), dtype="int64"))
            chunks.append(module.sequence_log_prob(memory, rows, to_device(target_ids)).cpu().numpy())
    return numpy.concatenate(chunks)


def _split(flat_scores: numpy.ndarray, candidates: Sequence[Sequence[str]]) -> List[numpy.ndarray]:
    results: List[numpy.ndarray] = []
    start = 0
    for cands in candidates:
        results.append(flat_scores[start : start + len(cands)])
        start += len(cands)
    return results


def is_channel_model(model: Model) -> bool:
    return model.attrs.get("direction") == "channel"


def constrained_beam_search(
    model: Model, typo: str, trie: Dict[str, Any], beam_size: int = 8, max_extra: int = 3
) -> List[Tuple[str, float]]:
    """Decode `typo` with a beam that only follows lexicon paths; returns (word, log prob) pairs.

    trie (Dict[str, Any]): Nested dicts of characters; the key "" marks a word end.
    """
    import torch

    module = speller_module(model)
    encoder = char_encoder(model)
    char_ids = encoder.ids
    typo_ids, typo_lengths = encoder.batch([typo])
    max_steps = min(len(typo) + max_extra, encoder.max_length)
    finished: List[Tuple[str, float]] = []
    to_device = _to_device(module)
    with torch.no_grad():
        module.eval()
        memory = module.encode(to_device(typo_ids), to_device(typo_lengths))
        state = module.initial_state(memory)
        # Each beam: (prefix, log prob, trie node, last char id).
        beams: List[Tuple[str, float, Dict[str, Any], int]] = [("", 0.0, trie, BOS)]
        for _ in range(max_steps + 1):
            prev = to_device(numpy.asarray([beam[3] for beam in beams], dtype="int64"))
            rows = to_device(numpy.zeros(len(beams), dtype="int64"))
            log_probs, state = module.step(memory, rows, prev, state)
            log_probs = log_probs.cpu()
            expansions: List[Tuple[float, int, str, int]] = []
            for b, (prefix, score, node, _) in enumerate(beams):
                row = log_probs[b]
                if "" in node and prefix:
                    finished.append((prefix, score + float(row[EOS])))
                for char in node:
                    if char and char in char_ids:
                        expansions.append((score + float(row[char_ids[char]]), b, char, char_ids[char]))
            expansions.sort(key=lambda item: -item[0])
            expansions = expansions[:beam_size]
            worst_kept = sorted((f[1] for f in finished), reverse=True)[beam_size - 1] if len(finished) >= beam_size else None
            if worst_kept is not None:
                expansions = [e for e in expansions if e[0] > worst_kept]
            if not expansions:
                break
            keep = to_device(numpy.asarray([b for _, b, _, _ in expansions], dtype="int64"))
            state = state.index_select(1, keep)
            beams = [
                (beams[b][0] + char, score, beams[b][2][char], char_id) for score, b, char, char_id in expansions
            ]
    return sorted(finished, key=lambda item: -item[1])[:beam_size]
