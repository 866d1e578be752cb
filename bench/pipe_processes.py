"""`nlp.pipe(n_process=1|2)`: rnn_ner with and without span confidences, and spaCy's ner.

    python bench/pipe_processes.py --rnn-model bench/runs/conll2003_rnn_ner/model-best \
        --spacy-model bench/runs/conll2003_spacy_ner/model-best --docs 5000

With n_process > 1 spaCy sends every Doc back from its workers with
`Doc.to_bytes()`. rnn_ner's `span._.confidence` lives in `doc.user_data`,
which adds two msgpack calls per Doc; each one makes srsly look up its
encoders through catalogue (an entry-point scan). This script shows the cost,
side by side with spaCy's ner, on the synthetic texts of bench/batch.py.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import spacy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import make_input  # noqa: E402

from spacy_rnn_ner.parallel import install_fork_hook  # noqa: E402


def words_per_second(nlp, texts: List[str], n_process: int, batch_size: int) -> float:
    start = time.perf_counter()
    words = sum(len(doc) for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
    return words / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rnn-model", required=True)
    parser.add_argument("--spacy-model", required=True)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    install_fork_hook()
    texts = make_input(Path("bench/data") / f"batch_texts_{args.docs}.txt", args.docs).read_text(encoding="utf8").splitlines()
    setups = [
        ("rnn_ner, confidence on", args.rnn_model, {}),
        ("rnn_ner, confidence off", args.rnn_model, {"components": {"rnn_ner": {"confidence": False}}}),
        ("spaCy ner", args.spacy_model, {}),
    ]
    rows: List[Dict[str, Any]] = []
    print("| pipeline | n_process=1 words/s | n_process=2 words/s |\n|---|---|---|")
    for name, model, config in setups:
        nlp = spacy.load(model, config=config)
        speeds = [words_per_second(nlp, texts, n, args.batch_size) for n in (1, 2)]
        rows.append({"pipeline": name, "n_process_1": speeds[0], "n_process_2": speeds[1]})
        print(f"| {name} | {speeds[0]:,.0f} | {speeds[1]:,.0f} |", flush=True)
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
