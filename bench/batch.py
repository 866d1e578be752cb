"""Batch-processing benchmarks: nlp.pipe and `annotate` throughput, peak memory, Ray vs plain.

    python bench/batch.py --rnn-model bench/runs/conll2003_rnn_ner/model-best \\
        --spacy-model bench/runs/conll2003_spacy_ner/model-best \\
        --throughput-docs 5000 --memory-docs 10000 100000 --ray --out bench/results-batch.json

Inputs are synthetic: the lines of corpus/texts.txt (original, MIT) cycled, each
with a unique reference code appended, so that every document brings new
strings (what makes an unzoned StringStore grow). Each measurement runs in a
fresh process with one torch thread per process. See docs/benchmarks-batch.md.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"records: (\d+).*errors: (\d+), words: (\d+), time: ([\d.]+)s, ([\d.]+) docs/s, ([\d.]+) words/s")

PIPE_SCRIPT = """
import json, sys, time
import spacy, torch
from spacy_rnn_ner.parallel import install_fork_hook
torch.set_num_threads(1)
install_fork_hook()
model, path, n_process, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
texts = [line.rstrip("\\n") for line in open(path, encoding="utf8")]
nlp = spacy.load(model)
start = time.perf_counter()
words = sum(len(doc) for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
seconds = time.perf_counter() - start
print(json.dumps({"docs": len(texts), "words": words, "seconds": seconds}))
"""


def make_input(path: Path, n_docs: int) -> Path:
    """n_docs lines: corpus/texts.txt cycled, each with a unique code appended."""
    if path.exists() and path.read_bytes().count(b"\n") == n_docs:
        return path
    texts = (ROOT / "corpus" / "texts.txt").read_text(encoding="utf8").splitlines()
    with path.open("w", encoding="utf8") as file:
        for i in range(n_docs):
            file.write(f"{texts[i % len(texts)]} Ref {i:07d}-{(i * 7919) % 100003:x}.\n")
    return path


def pipe_throughput(model: str, texts: Path, n_process: int, batch_size: int) -> Dict[str, Any]:
    """nlp.pipe words/s in a fresh process (model loading not timed)."""
    done = subprocess.run(
        [sys.executable, "-c", PIPE_SCRIPT, model, str(texts), str(n_process), str(batch_size)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nlp.pipe run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["words_per_s"] = result["words"] / result["seconds"]
    return result


def annotate_run(
    model: str, texts: Path, output: Path, n_process: int, batch_size: int, engine: str = "plain", extra: Optional[List[str]] = None
) -> Dict[str, Any]:
    """Run `annotate` (fresh output) and sample the RSS of its process tree."""
    command = [sys.executable, "-m", "spacy_rnn_ner", "annotate", model, str(texts), str(output)]
    command += ["--overwrite", "--no-progress", "--batch-size", str(batch_size), "--n-process", str(n_process)]
    command += ["--engine", engine, "--torch-threads", "1"] + (extra or [])
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    while process.poll() is None:
        samples.append((time.perf_counter() - start, tree_rss_mb(process.pid)))
        time.sleep(0.25)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    match = SUMMARY.search(stdout)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"annotate failed ({process.returncode}):\n{stderr[-3000:]}")
    records, errors, words, seconds, docs_s, words_s = match.groups()
    peaks = [rss for _, rss in samples] or [0.0]
    return {
        "engine": engine,
        "n_process": n_process,
        "records": int(records),
        "errors": int(errors),
        "words": int(words),
        "job_seconds": float(seconds),
        "wall_seconds": wall,
        "words_per_s": float(words_s),
        "docs_per_s": float(docs_s),
        "peak_rss_mb": max(peaks),
        "rss_at_quarters_mb": _quarters(samples),
    }


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc (MB)."""
    total = 0
    for member in _descendants(pid) + [pid]:
        try:
            with open(f"/proc/{member}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _descendants(pid: int) -> List[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                for child in children.read().split():
                    found.append(int(child))
                    found.extend(_descendants(int(child)))
        except OSError:
            continue
    return found


def _quarters(samples: List[tuple]) -> List[float]:
    """RSS at 25, 50, 75 and 100 % of the run's wall time: flat means no growth."""
    if not samples:
        return []
    end = samples[-1][0]
    return [round(max(rss for t, rss in samples if t <= end * q), 1) for q in (0.25, 0.5, 0.75, 1.0)]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rnn-model", required=True, help="an rnn_ner pipeline")
    parser.add_argument("--spacy-model", default=None, help="a pipeline with spaCy's built-in ner, for comparison")
    parser.add_argument("--throughput-docs", type=int, default=5000)
    parser.add_argument("--memory-docs", type=int, nargs="*", default=[10000, 100000])
    parser.add_argument("--n-process", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=1000, help="annotate --batch-size")
    parser.add_argument("--pipe-batch-size", type=int, default=256, help="nlp.pipe batch_size")
    parser.add_argument("--ray", action="store_true", help="also time --engine ray (needs ray installed)")
    parser.add_argument("--skip-throughput", action="store_true", help="only the memory (and --ray) runs")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "spacy-rnn-ner-bench-batch")
    parser.add_argument("--out", type=Path, default=None, help="write all results as JSON")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    models = {"rnn_ner": args.rnn_model}
    if args.spacy_model:
        models["spacy ner"] = args.spacy_model
    results: Dict[str, Any] = {"machine": f"{os.cpu_count()} CPUs", "throughput": [], "memory": [], "ray": []}
    texts = make_input(args.workdir / f"docs-{args.throughput_docs}.txt", args.throughput_docs)

    if not args.skip_throughput:
        print(f"## Throughput ({args.throughput_docs} docs, words/s)\n")
        print("| pipeline | n_process | nlp.pipe | annotate (job) | annotate (wall, incl. load) | peak RSS MB |")
        print("|---|---|---|---|---|---|")
    for name, model in models.items() if not args.skip_throughput else []:
        for n_process in args.n_process:
            pipe = pipe_throughput(model, texts, n_process, args.pipe_batch_size)
            run = annotate_run(model, texts, args.workdir / "out.jsonl", n_process, args.batch_size)
            wall_words = run["words"] / run["wall_seconds"]
            results["throughput"].append({"pipeline": name, "model": model, "pipe": pipe, "annotate": run})
            print(
                f"| {name} | {n_process} | {pipe['words_per_s']:.0f} | {run['words_per_s']:.0f} | "
                f"{wall_words:.0f} | {run['peak_rss_mb']:.0f} |",
                flush=True,
            )

    if args.memory_docs:
        print("\n## Memory (annotate, rnn_ner, n_process=1, JSONL output)\n")
        print("| docs | words/s | peak RSS MB | RSS at 25/50/75/100 % of the run |")
        print("|---|---|---|---|")
        for n_docs in args.memory_docs:
            source = make_input(args.workdir / f"docs-{n_docs}.txt", n_docs)
            run = annotate_run(args.rnn_model, source, args.workdir / "out-memory.jsonl", 1, args.batch_size)
            results["memory"].append({"docs": n_docs, **run})
            quarters = " / ".join(f"{value:.0f}" for value in run["rss_at_quarters_mb"])
            print(f"| {n_docs} | {run['words_per_s']:.0f} | {run['peak_rss_mb']:.0f} | {quarters} |", flush=True)

    if args.ray:
        print(f"\n## Ray engine vs plain (rnn_ner, {args.throughput_docs} docs, local instance)\n")
        print("| engine | workers | words/s (job) | wall s (incl. startup) | peak RSS MB (driver tree) |")
        print("|---|---|---|---|---|")
        for engine in ("plain", "ray"):
            for n_process in args.n_process:
                run = annotate_run(args.rnn_model, texts, args.workdir / f"out-{engine}.jsonl", n_process, args.batch_size, engine)
                results["ray"].append(run)
                print(
                    f"| {engine} | {n_process} | {run['words_per_s']:.0f} | {run['wall_seconds']:.1f} | {run['peak_rss_mb']:.0f} |",
                    flush=True,
                )
        same = (args.workdir / "out-plain.jsonl").read_bytes() == (args.workdir / "out-ray.jsonl").read_bytes()
        print(f"\nRay output identical to plain output: {same}")
        results["ray_output_identical"] = same

    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
