"""Corpus benchmark: rnn_ner against spaCy's built-in `ner`, same data, same time budget.

    nice -n 10 .venv/bin/python bench/corpora.py wnut17 --budget-s 720
    nice -n 10 .venv/bin/python bench/corpora.py ontonotes5 --budget-s 600 --limit 300

For each system, a training config is written to bench/runs/corpora/<corpus>/<system>/:
rnn_ner from configs/<corpus>.cfg, spaCy's `ner` from `spacy init config -p ner -o
efficiency`. Both read the same column files with spacy_rnn_ner.IOBCorpus.v1 (same reader
options), score dev with spacy_rnn_ner.seqeval_scorer.v1, and train with the same eval
frequency, no step limit and no early stop, until the wall-clock budget runs out (a
`before_update` callback raises; spaCy then keeps model-best from the last evaluation).
Each system keeps its own batch sizes, optimizer and model size. Training runs with one
thread (OMP/MKL/torch). model-best is then scored on the test split with
`python -m spacy_rnn_ner evaluate` (seqeval micro F1, spaCy ents_f, words/s on gold tokens).
Results go to bench/runs/corpora/<corpus>/results.json. Data is read from ../shared.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from spacy.util import registry

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "bench" / "runs" / "corpora"
TEST_FILES = {
    "conll2003": "../shared/corpora/conll2003/test.txt",
    "wnut17": "../shared/corpora/wnut17/emerging.test.annotated",
    "ontonotes5": "../shared/corpora/ontonotes5/test.ner",
}
SYSTEMS = ("rnn_ner", "spacy_ner")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class TimeBudgetExceeded(RuntimeError):
    """Raised by the before_update callback when the training budget is spent."""


@registry.callbacks("spacy_rnn_ner_bench.time_budget.v1")
def create_time_budget(seconds: float) -> Any:
    """A before_update callback that stops training after `seconds` of wall-clock time."""
    start = time.monotonic()

    def before_update(nlp: Any, info: Dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(1)
        if time.monotonic() - start > seconds:
            raise TimeBudgetExceeded(f"time budget of {seconds:.0f}s spent at step {info['step']}")

    return before_update


def build_config(
    corpus: str, system: str, budget_s: float, eval_frequency: int, limit: int, dev_limit: int,
    overrides: Optional[Dict[str, Any]] = None,
) -> Any:
    """The training config of one system, with the shared corpora, scorer and budget."""
    from thinc.api import Config

    ours = Config().from_disk(ROOT / "configs" / f"{corpus}.cfg", interpolate=False)
    if system == "rnn_ner":
        config = ours
        component = "rnn_ner"
    else:
        config = Config().from_str(_spacy_init_config(), interpolate=False)
        config["paths"]["train"] = ours["paths"]["train"]
        config["paths"]["dev"] = ours["paths"]["dev"]
        config["corpora"] = ours["corpora"]
        config["training"]["score_weights"] = ours["training"]["score_weights"]
        component = "ner"
    config["components"][component]["scorer"] = {"@scorers": "spacy_rnn_ner.seqeval_scorer.v1"}
    config["corpora"]["train"]["limit"] = limit
    config["corpora"]["dev"]["limit"] = dev_limit
    training = config["training"]
    training.update({"max_steps": 0, "max_epochs": 0, "patience": 0, "eval_frequency": eval_frequency})
    training["before_update"] = {"@callbacks": "spacy_rnn_ner_bench.time_budget.v1", "seconds": budget_s}
    for key, value in (overrides or {}).items():
        *sections, name = key.split(".")
        block = config
        for section in sections:
            block = block[section]
        block[name] = value
    return config


def _spacy_init_config() -> str:
    command = [sys.executable, "-m", "spacy", "init", "config", "-p", "ner", "-o", "efficiency", "-l", "en", "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def train(run_dir: Path, config: Any) -> Dict[str, Any]:
    """Run `spacy train` on the config; return wall time and the last logged step."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.cfg"
    config.to_disk(config_path)
    command = [
        sys.executable, "-m", "spacy", "train", str(config_path), "--output", str(run_dir / "output"),
        "--code", str(Path(__file__).resolve()),
    ]
    env = dict(os.environ, **ONE_THREAD)
    start = time.monotonic()
    with open(run_dir / "train.log", "w") as log:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    text = (run_dir / "train.log").read_text()
    stopped = "TimeBudgetExceeded" in text
    if result.returncode != 0 and not stopped:
        raise RuntimeError(f"spacy train failed, see {run_dir / 'train.log'}")
    return {"train_seconds": round(seconds, 1), "stopped_by_budget": stopped, "last_step": _last_step(text),
            "command": " ".join(command)}


def _last_step(log_text: str) -> Optional[int]:
    """The step the budget stopped training at, else the last logged evaluation step."""
    stopped = re.findall(r"time budget of \d+s spent at step (\d+)", log_text)
    if stopped:
        return int(stopped[-1])
    steps = [int(fields[1]) for fields in map(str.split, log_text.splitlines())
             if len(fields) > 2 and fields[0].isdigit() and fields[1].isdigit()]
    return steps[-1] if steps else None


def evaluate(run_dir: Path, corpus: str, config: Any, test_limit: int) -> Dict[str, Any]:
    """Score model-best on the test split with our evaluate command (one thread)."""
    reader = config["corpora"]["dev"]
    output = run_dir / "test_scores.json"
    command = [
        sys.executable, "-m", "spacy_rnn_ner", "evaluate", str(run_dir / "output" / "model-best"), TEST_FILES[corpus],
        "--ner-column", str(reader["ner_column"]), "--separator", reader["separator"],
        "--tag-scheme", reader["tag_scheme"], "--n-sents", str(reader["n_sents"]),
        "--max-doc-tokens", str(reader["max_doc_tokens"]), "--limit", str(test_limit),
        "--threads", "1", "--output", str(output),
    ]
    env = dict(os.environ, **ONE_THREAD)
    with open(run_dir / "evaluate.log", "w") as log:
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    scores = json.loads(output.read_text())
    return {
        "test_seqeval_f": scores["scores"]["seqeval_f"],
        "test_seqeval_strict_f": scores["scores"]["seqeval_strict_f"],
        "test_ents_f": scores["scores"]["ents_f"],
        "test_words_per_second": scores["words_per_second"],
        "test_tokens": scores["n_tokens"],
        "best_dev_ents_f": _best_dev(run_dir),
        "evaluate_command": " ".join(command),
    }


def _best_dev(run_dir: Path) -> Optional[float]:
    meta = run_dir / "output" / "model-best" / "meta.json"
    return json.loads(meta.read_text())["performance"].get("ents_f") if meta.exists() else None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", choices=sorted(TEST_FILES))
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--budget-s", type=float, default=720.0, help="training wall-clock budget per system")
    parser.add_argument("--eval-frequency", type=int, default=200)
    parser.add_argument("--limit", type=int, default=0, help="train documents (0: all)")
    parser.add_argument("--dev-limit", type=int, default=0, help="dev documents (0: all)")
    parser.add_argument("--test-limit", type=int, default=0, help="test documents (0: all)")
    parser.add_argument("--no-train", action="store_true", help="only re-score existing runs")
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--set", nargs="*", default=[], metavar="SYSTEM:KEY=JSON",
                        help="config overrides for one system, e.g. rnn_ner:components.rnn_ner.model.tok2vec.word_dropout=0.2")
    parser.add_argument("--tag", default="", help="suffix for the run folders, e.g. _wd02")
    args = parser.parse_args(argv)
    if args.corpus == "conll2003":
        print("note: CoNLL-2003 is benchmarked by bench/ scripts of the lead; running it anyway.")
    results_path = args.runs / args.corpus / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for system in args.systems:
        run_name = system + args.tag
        run_dir = args.runs / args.corpus / run_name
        overrides = _parse_overrides(args.set, system)
        config = build_config(args.corpus, system, args.budget_s, args.eval_frequency, args.limit, args.dev_limit, overrides)
        result = dict(results.get(run_name, {})) if args.no_train else {}
        log_path = run_dir / "train.log"
        if args.no_train and "last_step" not in result and log_path.exists():
            result["last_step"] = _last_step(log_path.read_text())
        if not args.no_train:
            print(f"[{args.corpus}/{run_name}] training for {args.budget_s:.0f}s ...", flush=True)
            result.update(train(run_dir, config))
        result.update(evaluate(run_dir, args.corpus, config, args.test_limit))
        result.update({"overrides": overrides, "budget_s": args.budget_s, "eval_frequency": args.eval_frequency,
                       "train_limit": args.limit, "dev_limit": args.dev_limit, "test_limit": args.test_limit})
        results[run_name] = result
        print(f"[{args.corpus}/{run_name}] " + json.dumps({k: v for k, v in result.items() if "command" not in k}), flush=True)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2))
    return 0


def _parse_overrides(items: List[str], system: str) -> Dict[str, Any]:
    overrides = {}
    for item in items:
        target, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        if not key or not value:
            raise SystemExit(f"--set expects SYSTEM:KEY=JSON, got {item!r}")
        if target == system:
            overrides[key] = json.loads(value)
    return overrides


if __name__ == "__main__":
    sys.exit(main())
