"""nlp.pipe(n_process=2) with rnn_ner: no hang after fork, same entities as n_process=1."""
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_rnn_ner import parallel

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # the trained_nlp_path fixture trains in this process; cores are shared

ROOT = Path(__file__).resolve().parents[1]

# Warms torch's OpenMP pool with 2 threads in the parent (the situation that
# makes forked workers hang), then compares n_process=1 and n_process=2.
PIPE_SCRIPT = """
import json, sys
import spacy, torch
from spacy_rnn_ner.parallel import install_fork_hook

torch.set_num_threads(2)
nlp = spacy.load(sys.argv[1])
texts = [line.rstrip("\\n") for line in open(sys.argv[2], encoding="utf8")]

def entities(docs):
    return [[[e.start_char, e.end_char, e.label_, e._.confidence] for e in doc.ents] for doc in docs]

one = entities(nlp.pipe(texts, batch_size=8))
install_fork_hook()
two = entities(nlp.pipe(texts, batch_size=8, n_process=2))
print(json.dumps({"one": one, "two": two, "parent_threads": torch.get_num_threads()}))
"""


def _spans(runs: list) -> list:
    """Each document's entities as [start_char, end_char, label], without confidence."""
    return [[ent[:3] for ent in ents] for ents in runs]


def test_pipe_two_processes_equals_one(trained_nlp_path, tmp_path):
    texts = (ROOT / "corpus" / "texts.txt").read_text(encoding="utf8").splitlines()[:24]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    script = tmp_path / "pipe.py"
    script.write_text(PIPE_SCRIPT, encoding="utf8")
    done = subprocess.run(
        [sys.executable, str(script), str(trained_nlp_path), str(tmp_path / "texts.txt")],
        capture_output=True,
        text=True,
        timeout=300,  # a hang after fork fails here instead of blocking the suite
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["one"]) == len(texts)
    assert sum(len(ents) for ents in result["one"]) > len(texts) // 2
    assert all(ent[3] is not None and 0.0 < ent[3] <= 1.0 for ents in result["one"] for ent in ents)
    # Same spans and labels; the confidences agree only to rounding, since the
    # children run one torch thread and the parent two, and a matrix product's
    # sums are added up in a different order.
    assert _spans(result["two"]) == _spans(result["one"])
    for ents_two, ents_one in zip(result["two"], result["one"]):
        assert [ent[3] for ent in ents_two] == pytest.approx([ent[3] for ent in ents_one], abs=1e-3)
    assert result["parent_threads"] == 2  # the hook only changes the children


def _report_threads(queue) -> None:
    import torch

    queue.put(torch.get_num_threads())


def test_fork_hook_sets_one_thread_in_children():
    torch.set_num_threads(2)
    parallel.install_fork_hook()
    parallel.install_fork_hook()  # idempotent
    before = torch.get_num_threads()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_report_threads, args=(queue,))
    process.start()
    child_threads = queue.get(timeout=60)
    process.join(timeout=60)
    assert child_threads == 1
    assert torch.get_num_threads() == before == 2
    torch.set_num_threads(1)


def test_worker_threads_from_environment(monkeypatch):
    monkeypatch.setenv(parallel.WORKER_THREADS_ENV, "3")
    assert parallel.worker_threads() == 3
    monkeypatch.setenv(parallel.WORKER_THREADS_ENV, "many")
    assert parallel.worker_threads() == 1
    monkeypatch.delenv(parallel.WORKER_THREADS_ENV)
    assert parallel.worker_threads() == 1


ANNOTATE_SCRIPT = """
import json, sys
import spacy, torch
from spacy_rnn_ner.cli.annotate import main

torch.set_num_threads(2)
nlp = spacy.load(sys.argv[1])
texts = [line.rstrip("\\n") for line in open(sys.argv[2], encoding="utf8")]
expected = [[[e.label_, e.start_char, e.end_char] for e in doc.ents] for doc in nlp.pipe(texts)]
code = main([sys.argv[1], sys.argv[2], sys.argv[3], "--n-process", "2", "--batch-size", "5", "--no-progress"])
rows = [json.loads(line) for line in open(sys.argv[3], encoding="utf8")]
found = [[[e["label"], e["start"], e["end"]] for e in row["entities"]] for row in rows]
print(json.dumps({"code": code, "same": found == expected, "n": len(rows)}))
"""


def test_annotate_workers_after_torch_ran_with_two_threads(trained_nlp_path, tmp_path):
    texts = (ROOT / "corpus" / "texts.txt").read_text(encoding="utf8").splitlines()[:24]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    script = tmp_path / "annotate.py"
    script.write_text(ANNOTATE_SCRIPT, encoding="utf8")
    done = subprocess.run(
        [sys.executable, str(script), str(trained_nlp_path), str(tmp_path / "texts.txt"), str(tmp_path / "out.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "same": True, "n": len(texts)}


# The components install the fork hook themselves: no explicit call here.
SPELL_SCRIPT = """
import json, sys
import spacy, torch

torch.set_num_threads(2)
nlp = spacy.blank("en")
nlp.add_pipe("char_spell")
texts = ["Networc problems are commn.", "The servr was restartd at 5pm.", "All good here."] * 4
one = [doc._.corrected_text for doc in nlp.pipe(texts, batch_size=2)]
two = [doc._.corrected_text for doc in nlp.pipe(texts, batch_size=2, n_process=2)]
print(json.dumps({"one": one, "two": two}))
"""


def test_char_spell_two_processes_equal_one_without_explicit_hook(tmp_path):
    script = tmp_path / "spell.py"
    script.write_text(SPELL_SCRIPT, encoding="utf8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["one"][0] == "Network problems are common."
    assert result["two"] == result["one"]
