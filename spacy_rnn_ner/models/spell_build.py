"""Build the shipped English char_spell model (lexicon + weights) from freely licensed data.

    nice -n 10 python -m spacy_rnn_ner.models.spell_build \
        --lexicon ../shared/spelling/wordfreq/frequency_dictionary_en_82_765.txt \
        --output spacy_rnn_ner/data/char_spell_en --minutes 14

The lexicon is SymSpell's frequency dictionary (MIT; counts from Google Books
Ngrams, CC BY 3.0); the training pairs are synthetic typos of its words only.
After training, the ranking weights (model, frequency, edit distance) are
tuned on held-out synthetic typos.
"""
import argparse
import contextlib
import itertools
import random
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from thinc.api import Optimizer

from ..corpora.typos import create_typo_corpus
from ..spelling.real_errors import read_codespell, read_norvig, read_toefl_spell, toefl_part, without_typos
from ..spelling.typos import TypoGenerator


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--lexicon", required=True, help="`word count` file (or wordfreq:LANG)")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--max-words", type=int, default=80000)
    parser.add_argument("--minutes", type=float, default=14.0, help="training time budget")
    parser.add_argument("--batch-words", type=int, default=128)
    parser.add_argument("--learn-rate", type=float, default=0.003)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dev-size", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--direction", default="posterior", choices=["posterior", "channel"])
    parser.add_argument("--p-second", type=float, default=0.25, help="probability of a second error per typo")
    parser.add_argument("--tune-only", action="store_true", help="only re-tune the ranking of --output")
    parser.add_argument("--init", type=Path, help="fine-tune this saved char_spell model instead of starting afresh")
    parser.add_argument("--codespell", type=Path, help="codespell dictionary.txt: real typing errors (CC BY-SA 3.0)")
    parser.add_argument("--toefl", type=Path, help="TOEFL-Spell Annotations.tsv: learner errors (CC BY-SA 4.0)")
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="Norvig-format test file whose misspellings are never trained on (repeatable)")
    parser.add_argument("--real-share", type=float, default=0.5, help="share of updates on real error pairs")
    parser.add_argument("--use-averages", action="store_true",
                        help="save the optimizer's parameter averages instead of the last weights "
                             "(the tune accuracy of the last weights is printed beside)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    spacy.util.fix_random_seed(args.seed)
    nlp = spacy.blank("en")
    real_train, real_tune = real_error_pairs(args)
    if args.tune_only:
        speller = nlp.add_pipe("char_spell", config={"pretrained": str(args.output)})
        tune_ranking(speller, real_tune or make_dev_pairs(speller.lexicon, args.dev_size, seed=10**6 + args.seed))
        speller.to_disk(args.output)
        return 0
    corpus = create_typo_corpus(args.lexicon, max_words=args.max_words, n_examples=10**9,
                                words_per_example=args.batch_words, seed=args.seed + 1, p_second=args.p_second)
    if real_train:
        corpus = mix_real_pairs(corpus, real_train, args.real_share, args.batch_words, args.seed)
    if args.init:
        speller = nlp.add_pipe("char_spell", config={"pretrained": str(args.init)})
        speller.clear_cache()
        optimizer = train(nlp, corpus, args.minutes * 60, args.learn_rate)
        tune_pairs = real_tune or make_dev_pairs(speller.lexicon, args.dev_size, seed=10**6 + args.seed)
        save_tuned(nlp, speller, tune_pairs, args.output, optimizer.averages if args.use_averages else None)
        return 0
    model = {"@architectures": "spacy_rnn_ner.CharSpeller.v1", "char_width": 32, "hidden_width": 128,
             "max_length": 30, "dropout": 0.1, "direction": args.direction}
    speller = nlp.add_pipe(
        "char_spell", config={"pretrained": None, "lexicon": args.lexicon, "max_words": args.max_words, "model": model}
    )
    nlp.initialize(lambda: itertools.islice(corpus(nlp), 2))
    optimizer = train(nlp, corpus, args.minutes * 60, args.learn_rate)
    dev = make_dev_pairs(speller.lexicon, args.dev_size, seed=10**6 + args.seed, p_second=args.p_second)
    save_tuned(nlp, speller, real_tune or dev, args.output, optimizer.averages if args.use_averages else None)
    return 0


def save_tuned(nlp: Language, speller, pairs: List[Tuple[str, str]], output: Path, averages: Optional[Dict]) -> None:
    """Tune the ranking on `pairs` and save the speller to `output`: with the last
    weights, or, given the optimizer's `averages`, with the averaged ones (after
    printing what the last weights reach, for comparison)."""
    output.mkdir(parents=True, exist_ok=True)
    if averages is not None:
        print("last weights:", end=" ")
        tune_ranking(speller, pairs)
        print("averaged weights:", end=" ")
    with nlp.use_params(averages) if averages is not None else contextlib.nullcontext():
        speller.clear_cache()
        tune_ranking(speller, pairs)
        speller.to_disk(output)
    speller.clear_cache()
    print(f"Saved to {output}")


def real_error_pairs(args: argparse.Namespace) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """Real (typo, word) pairs to train on, and held-out ones to tune the ranking on.

    Training: codespell's pairs and TOEFL-Spell's "train" essays; ranking: the
    "tune" essays. TOEFL's "eval" essays and every misspelling of the --exclude
    files (Norvig's test set) are never used.
    """
    excluded = [pair for path in args.exclude for pair in read_norvig(path)]
    train_pairs: List[Tuple[str, str]] = []
    tune_pairs: List[Tuple[str, str]] = []
    if args.toefl:
        rows = read_toefl_spell(args.toefl)
        excluded += toefl_part(rows, "eval")
        train_pairs += toefl_part(rows, "train")
        tune_pairs += toefl_part(rows, "tune")
    if args.codespell:
        train_pairs += read_codespell(args.codespell)
    train_pairs = without_typos(train_pairs, excluded + tune_pairs)
    tune_pairs = without_typos(tune_pairs, excluded)
    if train_pairs or tune_pairs:
        print(f"real error pairs: {len(train_pairs)} to train on, {len(tune_pairs)} to tune the ranking on")
    return train_pairs, tune_pairs


def mix_real_pairs(synthetic, real: List[Tuple[str, str]], share: float, batch_words: int, seed: int):
    """A corpus whose batches are real pairs with probability `share` (in [0, 1)), else
    synthetic; real pairs are drawn without replacement, reshuffled when used up."""
    from ..corpora.typos import make_typo_example

    if not 0.0 <= share < 1.0:
        raise ValueError(f"--real-share must be in [0, 1), got {share}.")
    if not real or share == 0.0:
        return synthetic

    def read(nlp: Language):
        rng = random.Random(seed)
        pool: List[Tuple[str, str]] = []

        def draw() -> Tuple[str, str]:
            nonlocal pool
            if not pool:
                pool = list(real)
                rng.shuffle(pool)
            return pool.pop()

        for example in synthetic(nlp):
            while rng.random() < share:
                yield make_typo_example(nlp.vocab, [draw() for _ in range(batch_words)])
            yield example

    return read


def train(nlp: Language, corpus, seconds: float, learn_rate: float) -> Optimizer:
    """Update the pipeline on `corpus` for `seconds`; returns the optimizer (with
    its parameter averages)."""
    from thinc.api import Adam

    optimizer = Adam(learn_rate, grad_clip=5.0)
    start = time.time()
    total, steps = 0.0, 0
    for example in corpus(nlp):
        losses = nlp.update([example], sgd=optimizer, drop=0.1)
        total += losses["char_spell"]
        steps += 1
        if steps % 200 == 0:
            print(f"step {steps:6d}  {time.time() - start:6.0f}s  loss {total / 200:.3f}", flush=True)
            total = 0.0
        if time.time() - start > seconds:
            break
    return optimizer


def make_dev_pairs(lexicon, n: int, seed: int, freq_power: float = 0.5, p_second: float = 0.25) -> List[Tuple[str, str]]:
    """Held-out synthetic (typo, word) pairs for tuning the ranking."""
    rng = random.Random(seed)
    generator = TypoGenerator(p_second=p_second, seed=seed)
    words = [w for w in lexicon.words() if len(w) >= 3]
    weights = [lexicon.counts[w] ** freq_power for w in words]
    pairs = []
    for word in rng.choices(words, weights=weights, k=n):
        typo = generator(word, exclude=lexicon)
        if typo != word:
            pairs.append((typo, word))
    return pairs


def tune_ranking(speller, pairs: List[Tuple[str, str]]) -> Dict[str, float]:
    """Grid-search the frequency and distance weights for top-1 accuracy on `pairs`."""
    from .speller import score_candidates

    typos = [t for t, _ in pairs]
    candidates = [speller.candidates(t, prune=False) for t in typos]
    scores = score_candidates(speller.model, typos, [[c for c, _ in cands] for cands in candidates])
    best = (-1.0, dict(speller.cfg["ranking"]))
    for freq_weight in [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0, 1.2, 1.4, 1.7, 2.0]:
        for distance_weight in [0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -8.0, -10.0]:
            correct = 0
            for (_, gold), cands, model_scores in zip(pairs, candidates, scores):
                if not cands:
                    continue
                ranked = max(
                    zip(cands, model_scores),
                    key=lambda item: float(item[1]) + freq_weight * speller.lexicon.log_prob(item[0][0])
                    + distance_weight * item[0][1],
                )
                correct += ranked[0][0] == gold
            accuracy = correct / max(1, len(pairs))
            if accuracy > best[0]:
                best = (accuracy, {"model_weight": 1.0, "freq_weight": freq_weight, "distance_weight": distance_weight})
    speller.cfg["ranking"] = best[1]
    speller.clear_cache()
    print(f"ranking {best[1]}: dev top-1 {best[0]:.3f} on {len(pairs)} pairs")
    return best[1]


if __name__ == "__main__":
    raise SystemExit(main())
