"""CoNLL-2003: what an ensemble of trained rnn_ner models would score (an upper bound, not a product).

    python bench/conll2003_ensemble.py --split dev bench/runs/exp/avg bench/runs/exp/avg_seed1 ...

Each run directory holds a `model-best` pipeline trained by `spacy train` (see
bench/conll2003.py). Every model scores the split's documents (CoNLL tokens kept,
as `spacy evaluate` reads them); the ensemble averages their tag scores per token
and decodes them with the first model's CRF (transitions and constraints). Prints
each model's entity F1 and the ensemble's, with spaCy's ents scorer. Decoding with
N models costs N times the single model's time; training costs N runs.
"""
import argparse
from pathlib import Path
from typing import List, Optional, Sequence

import numpy
import spacy
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Corpus, Example

from spacy_rnn_ner.models.birnn import decode

DATA = Path(__file__).resolve().parents[1] / "bench" / "data" / "conll2003"


def tag_scores(nlp, docs: List[Doc], batch_size: int = 32) -> List[numpy.ndarray]:
    """The rnn_ner model's (n_tokens, n_tags) scores for each document."""
    model = nlp.get_pipe("rnn_ner").model
    scores: List[numpy.ndarray] = []
    for start in range(0, len(docs), batch_size):
        scores += [model.ops.to_numpy(s) for s in model.predict(docs[start : start + batch_size])]
    return scores


def entity_f1(nlp, examples: List[Example], scores: List[numpy.ndarray]) -> float:
    """Entity F1 of the documents decoded from `scores` by nlp's rnn_ner."""
    pipe = nlp.get_pipe("rnn_ner")
    docs = [eg.predicted.copy() for eg in examples]
    pipe.set_annotations(docs, decode(pipe.model, [pipe.model.ops.asarray2f(s) for s in scores]))
    return 100 * Scorer.score_spans([Example(d, eg.reference) for d, eg in zip(docs, examples)], "ents")["ents_f"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories with a model-best pipeline")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    args = parser.parse_args(argv)
    pipelines = [spacy.load(run / "model-best") for run in args.runs]
    tag_names = pipelines[0].get_pipe("rnn_ner").tag_names
    for run, nlp in zip(args.runs, pipelines):
        if nlp.get_pipe("rnn_ner").tag_names != tag_names:
            raise ValueError(f"{run}: its rnn_ner has other tags than {args.runs[0]}'s; cannot average scores.")
    examples = list(Corpus(DATA / f"{args.split}.spacy")(pipelines[0]))
    docs = [eg.predicted for eg in examples]
    all_scores = [tag_scores(nlp, docs) for nlp in pipelines]
    for run, nlp, scores in zip(args.runs, pipelines, all_scores):
        print(f"{str(run):50} {entity_f1(nlp, examples, scores):6.2f}")
    mean_scores = [numpy.mean(doc_scores, axis=0) for doc_scores in zip(*all_scores)]
    print(f"{f'ensemble of {len(pipelines)}':50} {entity_f1(pipelines[0], examples, mean_scores):6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
