"""CoNLL-2003: rnn_ner against spaCy's built-in `ner`, trained and measured side by side.

    python bench/conll2003.py prepare            # column files -> bench/data/conll2003/*.spacy
    python bench/conll2003.py train              # both systems, one after the other
    python bench/conll2003.py measure            # test/dev F1 and words/s, one table
    python bench/conll2003.py measure --rnn-ner-precision float32 auto   # rnn_ner both ways

Before the full run, `python -m pytest -m slow` (tests/test_slow_training.py) trains
configs/rnn_ner.cfg for 800 steps on the same data and checks dev F1 > 84 (~3 min).

`train` runs `spacy train` with configs/rnn_ner.cfg for rnn_ner and with the
config `spacy init config -p ner -o efficiency` writes (bench/configs/) for
spaCy's ner, on the same DocBin files (documents kept whole). `measure` loads
both model-best pipelines in one process and, on the same machine and data,
scores dev and test on the CoNLL tokens (spaCy's ents scorer and seqeval), and
times `nlp.pipe` on the raw test texts (spaCy's tokenizer included). Its speed
figures are of pipelines sharing a process, which slowed spaCy's ner on the
project's VM (glibc's memory trimming; docs/benchmarks.md): compare speed with
bench/pipe_speed.py, one pipeline per process.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import spacy
from spacy.training import Corpus, Example

from spacy_rnn_ner.models.birnn import INFERENCE_PRECISIONS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora" / "conll2003"
DATA = ROOT / "bench" / "data" / "conll2003"
RUNS = ROOT / "bench" / "runs"
SYSTEMS = {
    "rnn_ner": ROOT / "configs" / "rnn_ner.cfg",
    "spacy_ner": ROOT / "bench" / "configs" / "spacy_ner_efficiency.cfg",
}
SPLITS = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}


def prepare() -> None:
    for split, name in SPLITS.items():
        _run([sys.executable, "-m", "spacy_rnn_ner", "convert", str(SHARED / name), str(DATA / f"{split}.spacy")])


def train(systems: List[str], extra: List[str]) -> None:
    for system in systems:
        output = RUNS / f"conll2003_{system}"
        start = time.perf_counter()
        _run([sys.executable, "-m", "spacy", "train", str(SYSTEMS[system]), "--output", str(output),
              "--paths.train", str(DATA / "train.spacy"), "--paths.dev", str(DATA / "dev.spacy"), *extra])
        print(f"{system}: trained in {time.perf_counter() - start:.0f} s")


def measure(
    systems: List[str],
    batch_size: int,
    repeats: int,
    model_dirs: Dict[str, Path],
    precisions: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """Score and time each system; rnn_ner once per inference precision given
    (rows "rnn_ner[float32]", ...), or as its pipeline's config says."""
    results = {}
    for system in systems:
        path = model_dirs.get(system, RUNS / f"conll2003_{system}") / "model-best"
        if system != "rnn_ner" or not precisions:
            results[system] = measure_pipeline(spacy.load(path), batch_size, repeats)
            continue
        for precision in precisions:
            nlp = spacy.load(path, config={"components.rnn_ner.inference_precision": precision})
            results[f"{system}[{precision}]"] = measure_pipeline(nlp, batch_size, repeats)
    return results


def measure_pipeline(nlp, batch_size: int, repeats: int) -> Dict[str, Any]:
    """Dev and test F1 (spaCy's scorer and seqeval), seen/unseen and per-type test F1,
    words/s of `nlp.pipe` on the raw test texts."""
    from spacy_rnn_ner.scoring import examples_to_iob, seqeval_scores

    row: Dict[str, Any] = {}
    if "rnn_ner" in nlp.pipe_names:
        from spacy_rnn_ner.models.birnn import inference_dtype

        row["rnn_inference_dtype"] = inference_dtype(nlp.get_pipe("rnn_ner").model, "cpu")
    for split in ("dev", "test"):
        # spaCy's Corpus, as `spacy evaluate` reads it: the CoNLL tokens are kept
        # (the DocBin has no whitespace information), so scores are on gold tokens.
        examples = list(Corpus(DATA / f"{split}.spacy")(nlp))
        scores = nlp.evaluate(examples, batch_size=batch_size)
        docs = nlp.pipe((eg.predicted.copy() for eg in examples), batch_size=batch_size)
        predicted = [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]
        y_true, y_pred = examples_to_iob(predicted)
        seq = seqeval_scores(y_true, y_pred)
        row[f"{split}_ents_f"] = 100 * scores["ents_f"]
        row[f"{split}_seqeval_f"] = 100 * seq["seqeval_f"]
        if split == "test":
            row["test_seen_unseen"] = seen_unseen_f1(predicted, training_entities(nlp))
            row["test_per_type"] = {k: round(100 * v["f"], 2) for k, v in scores["ents_per_type"].items()}
            texts = [eg.reference.text for eg in examples]
            row["words_per_s"] = _pipe_speed(nlp, texts, batch_size, repeats)
    return row


def training_entities(nlp) -> Set[Tuple[str, str]]:
    """The (lower-cased text, label) of every entity in the training data."""
    return {(ent.text.lower(), ent.label_) for eg in Corpus(DATA / "train.spacy")(nlp) for ent in eg.reference.ents}


def seen_unseen_f1(examples: List[Example], seen: Set[Tuple[str, str]]) -> Dict[str, Dict[str, float]]:
    """Entity P/R/F1 split by whether the entity (text and label) occurs in training:
    gold entities count for recall, predicted ones for precision, each in its group."""
    counts = {group: {"tp": 0, "gold": 0, "pred": 0} for group in ("seen", "unseen")}
    for eg in examples:
        gold = {(e.start, e.end, e.label_): e.text.lower() for e in eg.reference.ents}
        pred = {(e.start, e.end, e.label_): e.text.lower() for e in eg.predicted.ents}
        for key, text in gold.items():
            group = counts["seen" if (text, key[2]) in seen else "unseen"]
            group["gold"] += 1
            group["tp"] += key in pred
        for key, text in pred.items():
            counts["seen" if (text, key[2]) in seen else "unseen"]["pred"] += 1
    scores = {}
    for name, c in counts.items():
        p = c["tp"] / c["pred"] if c["pred"] else 0.0
        r = c["tp"] / c["gold"] if c["gold"] else 0.0
        scores[name] = {"n_gold": c["gold"], "p": round(100 * p, 2), "r": round(100 * r, 2),
                        "f": round(100 * 2 * p * r / (p + r), 2) if p + r else 0.0}
    return scores


def _pipe_speed(nlp, texts: List[str], batch_size: int, repeats: int) -> float:
    n_words = sum(len(doc) for doc in nlp.tokenizer.pipe(texts))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=batch_size):
            pass
        best = max(best, n_words / (time.perf_counter() - start))
    return best


def print_table(results: Dict[str, Any]) -> None:
    print("| system | test F1 (spaCy) | test F1 (seqeval) | dev F1 | words/s (nlp.pipe) |")
    print("|---|---|---|---|---|")
    for system, row in results.items():
        print(f"| {system} | {row['test_ents_f']:.2f} | {row['test_seqeval_f']:.2f} | {row['dev_ents_f']:.2f} | {row['words_per_s']:,.0f} |")
    for system, row in results.items():
        print(f"{system} test F1 per type: {row['test_per_type']}")
        split = row["test_seen_unseen"]
        print(f"{system} test F1, entities seen in training: {split['seen']['f']:.2f} (n={split['seen']['n_gold']}), "
              f"unseen: {split['unseen']['f']:.2f} (n={split['unseen']['n_gold']})")


def _run(command: List[str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("step", choices=["prepare", "train", "measure"])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RUNS / "conll2003_results.json")
    parser.add_argument("--rnn-ner-precision", nargs="+", default=None, choices=INFERENCE_PRECISIONS,
                        help="measure: rnn_ner once per inference precision (default: its config's)")
    parser.add_argument("--rnn-ner-dir", type=Path, default=None,
                        help="measure: another rnn_ner training output than bench/runs/conll2003_rnn_ner")
    args, extra = parser.parse_known_args()
    if args.step == "prepare":
        prepare()
    elif args.step == "train":
        train(args.systems, extra)
    else:
        model_dirs = {"rnn_ner": args.rnn_ner_dir} if args.rnn_ner_dir else {}
        results = measure(args.systems, args.batch_size, args.repeats, model_dirs, args.rnn_ner_precision)
        print_table(results)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
