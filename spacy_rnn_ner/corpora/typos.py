"""TypoCorpus: spelling-correction training examples from a word list and real typo pairs.

Each Example holds a short run of misspelt words: the predicted doc has the
typos as tokens, the reference doc the same tokens with `token.norm_` set to
the correction (this is how `char_spell` reads its target). Synthetic typos are
drawn afresh each time the corpus is read (each epoch), from words sampled by
frequency; real pairs come from `typo<TAB>correction` files.
"""
import random
from pathlib import Path
from typing import Callable, Iterator, List, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab

from ..spelling.lexicon import LexiconFormatError, load_lexicon
from ..spelling.typos import TypoGenerator


@registry.readers("spacy_rnn_ner.TypoCorpus.v1")
def create_typo_corpus(
    lexicon: str,
    pairs: Sequence[str] = (),
    max_words: int = 80000,
    n_examples: int = 2000,
    words_per_example: int = 32,
    min_length: int = 3,
    freq_power: float = 0.3,
    seed: int = 0,
    vary_seed: bool = True,
    p_second: float = 0.25,
) -> Callable[[Language], Iterator[Example]]:
    """Read spelling Examples: synthetic typos of lexicon words, plus real pairs.

    lexicon (str): A `word count` file, or "wordfreq:LANG".
    pairs (Sequence[str]): Files of `misspelling<TAB>correction` lines (real errors).
    max_words (int): Sample target words among this many most frequent words.
    n_examples (int): Number of synthetic Examples per pass.
    words_per_example (int): Misspelt words per Example.
    min_length (int): Shortest word to misspell.
    freq_power (float): Sample words with probability count ** freq_power.
    seed (int): Random seed of the first pass.
    vary_seed (bool): Draw new typos on each pass (each training epoch).
    p_second (float): Probability of a second error in a misspelt word.
    """
    lex = load_lexicon(lexicon, max_words)
    real = [pair for path in pairs for pair in read_typo_pairs(path)]
    words = [w for w in lex.words() if len(w) >= min_length and w.isalpha()]
    weights = [lex.counts[w] ** freq_power for w in words]
    passes = [0]

    def read(nlp: Language) -> Iterator[Example]:
        pass_seed = seed + (passes[0] if vary_seed else 0)
        passes[0] += 1
        rng = random.Random(pass_seed)
        generator = TypoGenerator(p_second=p_second, seed=pass_seed)
        for _ in range(n_examples):
            targets = rng.choices(words, weights=weights, k=words_per_example)
            batch = [(generator(target, exclude=lex), target) for target in targets]
            yield make_typo_example(nlp.vocab, [(t, c) for t, c in batch if t != c])
        for start in range(0, len(real), words_per_example):
            yield make_typo_example(nlp.vocab, real[start : start + words_per_example])

    return read


def make_typo_example(vocab: Vocab, pairs: List[Tuple[str, str]]) -> Example:
    """An Example whose reference tokens carry the corrections as NORM."""
    words = [typo for typo, _ in pairs] or ["."]
    predicted = Doc(vocab, words=words)
    reference = Doc(vocab, words=words)
    for token, (_, correction) in zip(reference, pairs):
        token.norm_ = correction.lower()
    return Example(predicted, reference)


def read_typo_pairs(path: Union[str, Path]) -> List[Tuple[str, str]]:
    """Read `misspelling<TAB>correction` lines (blank lines and # comments skipped)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Typo pair file not found: {path}")
    pairs: List[Tuple[str, str]] = []
    with open(path, "rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8").strip()
            except UnicodeDecodeError as err:
                raise LexiconFormatError(path, line_no, f"not valid UTF-8 ({err.reason} at byte {err.start})") from None
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0] or not fields[1] or " " in fields[0]:
                raise LexiconFormatError(path, line_no, f"expected 'misspelling<TAB>correction', found {line!r}")
            pairs.append((fields[0], fields[1]))
    return pairs
