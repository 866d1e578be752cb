"""Score a trained pipeline's entities on a column file, a .spacy DocBin or a dataset (seqeval report, confusions, words/s)."""
import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from ..corpora.iob import TAG_SCHEMES, CorpusFormatError, column_separator, read_iob_docs
from ..scoring import examples_to_iob, seqeval_ner_score, seqeval_report, text_report

HF_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".arrow")
FORMATS = ("auto", "iob", "spacy", "hf")
OUTSIDE = "O"


def main(argv: List[str]) -> int:
    args = _parser().parse_args(argv)
    import spacy

    if args.threads:
        _set_threads(args.threads)
    try:
        nlp = spacy.load(args.model)
        gold_docs = list(read_gold_docs(nlp, args))
    except (CorpusFormatError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not gold_docs:
        print(f"error: {args.data}: no documents to evaluate", file=sys.stderr)
        return 1
    result = evaluate_docs(nlp, gold_docs, batch_size=args.batch_size, top=args.top)
    result.update({"model": str(args.model), "data": str(args.data)})
    print(format_result(result))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"\nWrote {args.output}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner evaluate", description=__doc__)
    parser.add_argument("model", help="trained pipeline: a directory or an installed package name")
    parser.add_argument("data", help="column file, .spacy file, or dataset (local file / directory / hub name)")
    parser.add_argument("--format", default="auto", choices=FORMATS,
                        help="data format; auto: .spacy -> DocBin, .jsonl/.json/.parquet/.csv/.arrow or a directory -> dataset, else column file")
    parser.add_argument("--output", type=Path, default=None, help="write the scores and confusions as JSON")
    parser.add_argument("--top", type=int, default=15, help="how many confusions to print")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N documents")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    column = parser.add_argument_group("column files")
    column.add_argument("--ner-column", type=int, default=-1, help="index of the NER column (default: last)")
    column.add_argument("--separator", default=None, help="column separator (default: any whitespace); '\\t' for TAB")
    column.add_argument("--tag-scheme", default="IOB2", choices=TAG_SCHEMES)
    column.add_argument("--strict", action="store_true", help="reject tags that break the scheme")
    column.add_argument("--n-sents", type=int, default=0, help="also cut documents every N sentences")
    column.add_argument("--max-doc-tokens", type=int, default=0, help="cut documents before they pass N tokens")
    dataset = parser.add_argument_group("datasets")
    dataset.add_argument("--split", default="test")
    dataset.add_argument("--tokens-column", default="tokens")
    dataset.add_argument("--tags-column", default="ner_tags")
    dataset.add_argument("--tag-names", nargs="+", default=None, help="tag names for integer tags without a ClassLabel")
    dataset.add_argument("--dataset-config", default=None, help="the dataset's configuration name on the hub")
    return parser


def _set_threads(threads: int) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def read_gold_docs(nlp: Language, args: argparse.Namespace) -> Iterator[Doc]:
    """Yield the gold documents of the data argument, in file order."""
    data_format = args.format if args.format != "auto" else guess_format(args.data)
    if data_format == "spacy":
        docs: Iterable[Doc] = DocBin().from_disk(args.data).get_docs(nlp.vocab)
    elif data_format == "hf":
        from ..corpora.hf import create_hf_corpus

        reader = create_hf_corpus(
            args.data, split=args.split, tokens_column=args.tokens_column, tags_column=args.tags_column,
            tag_names=args.tag_names, tag_scheme=args.tag_scheme, strict=args.strict,
            n_sents=args.n_sents or 1, config_name=args.dataset_config,
        )
        docs = (example.reference for example in reader(nlp))
    else:
        separator = column_separator(args.separator)
        docs = read_iob_docs(
            nlp.vocab, args.data, args.ner_column, separator, args.tag_scheme, args.strict, args.n_sents,
            max_doc_tokens=args.max_doc_tokens,
        )
    for i, doc in enumerate(docs):
        if args.limit and i >= args.limit:
            break
        yield doc


def guess_format(data: str) -> str:
    path = Path(data)
    if path.suffix == ".spacy":
        return "spacy"
    if path.suffix in HF_SUFFIXES or path.is_dir():
        return "hf"
    if not path.exists() and "/" in data and not data.startswith((".", "/")):
        return "hf"  # a hub name such as "owner/dataset"
    return "iob"


def evaluate_docs(nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 64, top: int = 15) -> Dict[str, Any]:
    """Run the pipeline on the gold documents' words and score its entities."""
    inputs = [Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]) for doc in gold_docs]
    n_tokens = sum(len(doc) for doc in inputs)
    start = time.perf_counter()
    predicted = list(nlp.pipe(inputs, batch_size=batch_size))
    seconds = time.perf_counter() - start
    examples = [Example(pred, gold) for pred, gold in zip(predicted, gold_docs)]
    scores = seqeval_ner_score(examples)
    y_true, y_pred = examples_to_iob(examples)
    confusions = count_confusions(examples)
    return {
        "n_docs": len(gold_docs),
        "n_tokens": n_tokens,
        "seconds": round(seconds, 3),
        "words_per_second": round(n_tokens / seconds, 1) if seconds > 0 else None,
        "scores": scores,
        "seqeval_report": seqeval_report(y_true, y_pred),
        "seqeval_text_report": text_report(y_true, y_pred),
        "confusions": [
            {"gold": gold, "predicted": pred, "kind": kind, "count": count}
            for (gold, pred, kind), count in confusions.most_common()
        ],
        "top": top,
    }


def count_confusions(examples: Iterable[Example]) -> Counter:
    """Count entity errors as (gold type, predicted type, kind) on the predicted tokens.

    kind: "type" (same boundaries, other type), "boundary" (overlapping, other
    boundaries; predicted type may match), "missed" (no overlapping prediction,
    predicted type "O"), "spurious" (no overlapping gold entity, gold type "O").
    """
    counts: Counter = Counter()
    for example in examples:
        gold = _aligned_gold_spans(example)
        pred = [(ent.start, ent.end, ent.label_) for ent in example.predicted.ents]
        pred_bounds = {(start, end): label for start, end, label in pred}
        gold_bounds = {(start, end): label for start, end, label in gold}
        for start, end, label in gold:
            pred_label = pred_bounds.get((start, end))
            if pred_label == label:
                continue
            if pred_label is not None:
                counts[(label, pred_label, "type")] += 1
                continue
            overlapping = [p for p in pred if p[0] < end and start < p[1]]
            if overlapping:
                counts[(label, overlapping[0][2], "boundary")] += 1
            else:
                counts[(label, OUTSIDE, "missed")] += 1
        for start, end, label in pred:
            if (start, end) in gold_bounds:
                continue
            if not any(g[0] < end and start < g[1] for g in gold):
                counts[(OUTSIDE, label, "spurious")] += 1
    return counts


def _aligned_gold_spans(example: Example) -> List[Tuple[int, int, str]]:
    """Gold entities as token spans of the predicted doc."""
    spans = example.get_aligned_spans_y2x(example.reference.ents, allow_overlap=False)
    return [(span.start, span.end, span.label_) for span in spans]


def _score(value: Optional[float]) -> str:
    """A score to 4 decimals; spaCy gives None when there are no entities to score."""
    return "n/a" if value is None else f"{value:.4f}"


def format_result(result: Dict[str, Any]) -> str:
    scores = result["scores"]
    lines = [
        f"{result['n_docs']} documents, {result['n_tokens']} tokens, "
        f"{result['seconds']:.2f}s: {result['words_per_second']} words/s",
        "",
        "seqeval (default mode, as conlleval):",
        result["seqeval_text_report"],
        f"seqeval micro F1 {_score(scores['seqeval_f'])} (strict mode {_score(scores['seqeval_strict_f'])}); "
        f"spaCy ents_f {_score(scores['ents_f'])}, ents_p {_score(scores['ents_p'])}, ents_r {_score(scores['ents_r'])}",
        "",
        f"Most frequent confusions (gold -> predicted), top {result['top']}:",
    ]
    confusions = result["confusions"][: result["top"]]
    if not confusions:
        lines.append("  (none)")
    for item in confusions:
        lines.append(f"  {item['count']:6d}  {item['gold']:>15} -> {item['predicted']:<15} {item['kind']}")
    return "\n".join(lines)
