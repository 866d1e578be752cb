"""Time several pipelines in one process, in turn, on the CoNLL-2003 test texts.

    python bench/pipe_speed.py --threads 1 bench/runs/exp/base_s0/model-best \
        bench/runs/exp/summed_s0/model-best bench/runs/conll2003_spacy_ner/model-best
    python bench/pipe_speed.py --threads 1 --rnn-ner-precision float32 auto PIPELINE...

Each round runs `nlp.pipe` (batch 256) over the raw test texts with every pipeline
one after the other; the best of the rounds is printed in words/s (spaCy tokens).
Timing in turn cancels much of the machine's drift between separate runs, but
pipelines in one process slow each other (see docs/benchmarks.md): for comparisons,
run one pipeline per process. On the project's VM glibc's memory trimming costs spaCy's
`ner` up to a third of its speed; time with and without it
(MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=1000000000 in the environment).
Needs `python bench/conll2003.py prepare` first.
"""
import argparse
import time
from pathlib import Path

import spacy
from spacy.training import Corpus

from spacy_rnn_ner.models.birnn import INFERENCE_PRECISIONS

TEST = Path(__file__).resolve().parent / "data" / "conll2003" / "test.spacy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("pipelines", nargs="+", help="pipeline directories")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--rnn-ner-precision", nargs="+", default=None, choices=INFERENCE_PRECISIONS,
        help="load each pipeline with an rnn_ner once per inference precision",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    names, pipelines = [], []
    for path in args.pipelines:
        nlp = spacy.load(path)
        if "rnn_ner" not in nlp.pipe_names or not args.rnn_ner_precision:
            names.append(path)
            pipelines.append(nlp)
            continue
        for precision in args.rnn_ner_precision:
            names.append(f"{path} [{precision}]")
            pipelines.append(spacy.load(path, config={"components.rnn_ner.inference_precision": precision}))
    texts = [eg.reference.text for eg in Corpus(TEST)(pipelines[0])]
    n_words = sum(len(doc) for doc in pipelines[0].tokenizer.pipe(texts))
    best = [0.0] * len(pipelines)
    for _ in range(args.rounds):
        for i, nlp in enumerate(pipelines):
            start = time.perf_counter()
            for _doc in nlp.pipe(texts, batch_size=256):
                pass
            best[i] = max(best[i], n_words / (time.perf_counter() - start))
    for name, words_per_s in zip(names, best):
        print(f"{words_per_s:10,.0f} words/s  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
