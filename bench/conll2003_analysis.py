"""CoNLL-2003: looking into trained rnn_ner models (analyses behind docs/benchmarks.md, not products).

    python bench/conll2003_analysis.py errors bench/runs/exp/lmv10k_s0 --split test
    python bench/conll2003_analysis.py consistency bench/runs/exp/lmv10k_s0 --split dev
    python bench/conll2003_analysis.py windows bench/runs/exp/lmv10k_s0 --split dev
    python bench/conll2003_analysis.py mbr bench/runs/exp/lmv10k_s0 --split dev
    python bench/conll2003_analysis.py rare bench/runs/exp/unk08_s0 --split dev

Each run directory holds a `model-best` pipeline trained by `spacy train` (see
bench/conll2003.py); documents are read as `spacy evaluate` reads them (CoNLL tokens kept).

- `errors`: each gold entity is found, has the wrong label on the right span, the wrong
  boundaries (overlaps a prediction) or is missed, split by whether its text is an
  entity in train; predictions that overlap no gold entity; the commonest label confusions.
- `consistency`: entity F1 after a document-level post-processing: every predicted
  mention of a text takes the text's majority label in the document ("majority"), and
  also untagged capitalized repeats of the text are tagged ("propagate").
- `windows`: entity F1 with other prediction window sizes (a load-time setting).
- `mbr`: entity F1 of posterior (minimum Bayes risk) decoding: each document's CRF
  token marginals (forward-backward over the whole document), decoded by a Viterbi
  pass over their logs under the tag-scheme constraints only, against the best path.
- `rare`: entity F1 when the words seen once in training (read as "unknown" with
  probability `rare_unknown_rate` in training) are read at prediction time by their own
  row (as shipped), by the unknown row, or by the mixture that training fed on average.
"""
import argparse
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import spacy
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Corpus, Example

DATA = Path(__file__).resolve().parents[1] / "bench" / "data" / "conll2003"


def predict(nlp: Language, split: str) -> List[Example]:
    examples = list(Corpus(DATA / f"{split}.spacy")(nlp))
    docs = nlp.pipe((eg.predicted.copy() for eg in examples), batch_size=64)
    return [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]


def entity_f1(examples: Sequence[Example]) -> float:
    return 100 * Scorer.score_spans(examples, "ents")["ents_f"]


def majority_labels(doc: Doc) -> None:
    """Give every predicted mention of a text the text's most frequent label in the doc."""
    votes: Dict[str, Counter] = defaultdict(Counter)
    for ent in doc.ents:
        votes[ent.text][ent.label_] += 1
    doc.ents = [Span(doc, e.start, e.end, label=votes[e.text].most_common(1)[0][0]) for e in doc.ents]


def propagate_labels(doc: Doc) -> None:
    """majority_labels, then tag untagged repeats of a predicted capitalized text with
    its label, unless a capitalized word next to the repeat makes it part of a longer name."""
    majority_labels(doc)
    labels = {tuple(t.text for t in ent): ent.label_ for ent in doc.ents}
    taken = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    added = []
    for words, label in labels.items():
        if not words[0][:1].isupper():
            continue
        for start in range(len(doc) - len(words) + 1):
            end = start + len(words)
            if tuple(t.text for t in doc[start:end]) != words or taken.intersection(range(start, end)):
                continue
            if _capitalized_word(doc, start - 1, not_sentence_start=True) or _capitalized_word(doc, end):
                continue
            added.append(Span(doc, start, end, label=label))
            taken.update(range(start, end))
    doc.ents = sorted(list(doc.ents) + added, key=lambda span: span.start)


def _capitalized_word(doc: Doc, i: int, not_sentence_start: bool = False) -> bool:
    if not 0 <= i < len(doc):
        return False
    token = doc[i]
    return token.is_alpha and token.text[:1].isupper() and not (not_sentence_start and token.is_sent_start)


def consistency(run: Path, split: str) -> None:
    examples = predict(spacy.load(run / "model-best"), split)
    row = {"as tagged": entity_f1(examples)}
    post: Dict[str, Callable[[Doc], None]] = {"majority": majority_labels, "propagate": propagate_labels}
    for name, process in post.items():
        changed = []
        for eg in examples:
            doc = eg.predicted.copy()
            process(doc)
            changed.append(Example(doc, eg.reference))
        row[name] = entity_f1(changed)
    print(run, split, "  ".join(f"{name} {f1:.2f}" for name, f1 in row.items()))


def windows(run: Path, split: str, sizes: Sequence[int]) -> None:
    row = {}
    for size in sizes:
        nlp = spacy.load(run / "model-best", config={"components": {"rnn_ner": {"model": {"window_size": size}}}})
        row[size] = entity_f1(predict(nlp, split))
    print(run, split, "  ".join(f"window {size}: {f1:.2f}" for size, f1 in row.items()))


def mbr(run: Path, split: str) -> None:
    import copy

    import torch

    from spacy_rnn_ner.models.birnn import encoder_module
    from spacy_rnn_ner.tags import tag_spans

    nlp = spacy.load(run / "model-best")
    ner = nlp.get_pipe("rnn_ner")
    crf = encoder_module(ner.model).crf
    constraints_only = copy.deepcopy(crf)
    with torch.no_grad():
        for weights in (constraints_only.transitions, constraints_only.start_transitions, constraints_only.end_transitions):
            weights.zero_()
    best_path = predict(nlp, split)
    docs = [eg.predicted.copy() for eg in best_path]
    scores = [s for i in range(0, len(docs), 64) for s in ner.model.predict(docs[i : i + 64])]
    decoded = []
    for doc, doc_scores, eg in zip(docs, scores, best_path):
        if len(doc):
            emissions = torch.as_tensor(ner.model.ops.to_numpy(doc_scores)).unsqueeze(0)
            lengths = torch.tensor([len(doc)])
            with torch.inference_mode():
                log_marginals = crf.marginals(emissions, lengths).clamp_min(1e-12).log()
                tags = constraints_only.viterbi(log_marginals, lengths)[0].numpy()
            spans = tag_spans(tags, ner.tag_names, ner.cfg["tag_scheme"])
            doc.ents = [Span(doc, start, end, label=label) for start, end, label in spans]
        decoded.append(Example(doc, eg.reference))
    print(f"{run} {split}: best path {entity_f1(best_path):.2f}  MBR {entity_f1(decoded):.2f}")


def rare(run: Path, split: str) -> None:
    from spacy_rnn_ner.models.known_words import KNOWN_WORD_EMBED, UNKNOWN_ROW

    nlp = spacy.load(run / "model-best")
    table = next(node for node in nlp.get_pipe("rnn_ner").model.walk() if node.name == KNOWN_WORD_EMBED)
    rate = table.attrs["rare_unknown_rate"]
    rare_rows = table.attrs["rare"].nonzero()[0] + 1
    shipped = table.get_param("E").copy()
    readings = {"own row": 0.0, "mixture": rate, "unknown row": 1.0}
    row = {}
    for reading, weight in readings.items():
        E = shipped.copy()
        E[rare_rows] = (1.0 - weight) * shipped[rare_rows] + weight * shipped[UNKNOWN_ROW]
        table.set_param("E", E)
        row[reading] = entity_f1(predict(nlp, split))
    print(f"{run} {split} ({len(rare_rows)} words seen once, rate {rate}):", "  ".join(f"{k} {v:.2f}" for k, v in row.items()))


def errors(run: Path, split: str) -> None:
    nlp = spacy.load(run / "model-best")
    in_train = {ent.text for eg in Corpus(DATA / "train.spacy")(nlp) for ent in eg.reference.ents}
    outcomes: Counter = Counter()
    confusions: Counter = Counter()
    for eg in predict(nlp, split):
        predicted = {(e.start, e.end): e.label_ for e in eg.predicted.ents}
        for ent in eg.reference.ents:
            group = "seen" if ent.text in in_train else "unseen"
            label = predicted.get((ent.start, ent.end))
            if label == ent.label_:
                outcome = "exact"
            elif label is not None:
                outcome = "wrong label"
                confusions[(ent.label_, label)] += 1
            elif any(s < ent.end and ent.start < e for s, e in predicted):
                outcome = "wrong boundaries"
            else:
                outcome = "missed"
            outcomes[(outcome, group)] += 1
        gold_spans = [(e.start, e.end) for e in eg.reference.ents]
        outcomes[("spurious", "")] += sum(
            not any(s < ge and gs < e for gs, ge in gold_spans) for s, e in predicted
        )
    print(f"{run} {split}: {sum(n for (o, g), n in outcomes.items() if g)} gold entities")
    for outcome in ("exact", "wrong label", "wrong boundaries", "missed"):
        print(f"  {outcome}: seen {outcomes[(outcome, 'seen')]}, unseen {outcomes[(outcome, 'unseen')]}")
    print(f"  predictions overlapping no gold entity: {outcomes[('spurious', '')]}")
    print("  gold -> predicted label:", ", ".join(f"{g}->{p} {n}" for (g, p), n in confusions.most_common(8)))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("analysis", choices=["errors", "consistency", "windows", "mbr", "rare"])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories holding model-best")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--window-sizes", type=int, nargs="+", default=[512, 1024, 4096])
    args = parser.parse_args(argv)
    for run in args.runs:
        if args.analysis == "errors":
            errors(run, args.split)
        elif args.analysis == "consistency":
            consistency(run, args.split)
        elif args.analysis == "mbr":
            mbr(run, args.split)
        elif args.analysis == "rare":
            rare(run, args.split)
        else:
            windows(run, args.split, args.window_sizes)


if __name__ == "__main__":
    main()
