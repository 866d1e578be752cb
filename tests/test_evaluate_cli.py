"""`python -m spacy_rnn_ner evaluate`: column files, DocBin, datasets; report, confusions, JSON."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_rnn_ner.cli import main as cli_main
from spacy_rnn_ner.corpora.iob import read_iob_docs

from conftest import ROOT, read_examples, small_rnn_ner_config

GOLD = (
    "-DOCSTART- O\n\n"
    "Anna B-PER\nmet O\nBob B-PER\nin O\nOslo B-LOC\n.\tO\n\n"
    "Hi O\nfrom O\nNew B-LOC\nYork I-LOC\n\n"
    "-DOCSTART- O\n\n"
    "Anna B-PER\nsaw O\nAcme B-ORG\n"
)
# Anna: right (x2); Bob: missed; Oslo: LOC -> ORG type error; New York: boundary (LOC -> LOC);
# Hi: spurious PER; Acme: right.
PATTERNS = [
    {"label": "PER", "pattern": "Anna"},
    {"label": "ORG", "pattern": "Oslo"},
    {"label": "LOC", "pattern": "New"},
    {"label": "PER", "pattern": "Hi"},
    {"label": "ORG", "pattern": "Acme"},
]


@pytest.fixture(scope="module")
def ruler_model(tmp_path_factory) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    path = tmp_path_factory.mktemp("models") / "ruler"
    nlp.to_disk(path)
    return path


@pytest.fixture
def gold_file(tmp_path) -> Path:
    path = tmp_path / "gold.iob"
    path.write_text(GOLD, encoding="utf-8")
    return path


def run(capsys, *argv) -> tuple:
    code = cli_main(["evaluate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_scores(result: dict) -> None:
    scores = result["scores"]
    # 3 right of 6 predicted, 6 gold.
    assert scores["ents_p"] == pytest.approx(3 / 6)
    assert scores["ents_r"] == pytest.approx(3 / 6)
    assert scores["seqeval_f"] == pytest.approx(scores["ents_f"])
    confusions = {(c["gold"], c["predicted"], c["kind"]): c["count"] for c in result["confusions"]}
    assert confusions == {
        ("PER", "O", "missed"): 1,
        ("LOC", "ORG", "type"): 1,
        ("LOC", "LOC", "boundary"): 1,
        ("O", "PER", "spurious"): 1,
    }
    assert result["n_docs"] == 2 and result["n_tokens"] == 13
    assert result["words_per_second"] > 0


def test_column_file(capsys, tmp_path, ruler_model, gold_file):
    output = tmp_path / "out" / "scores.json"
    code, out, err = run(capsys, ruler_model, gold_file, "--output", output)
    assert code == 0, err
    assert "micro avg" in out and "PER" in out and "words/s" in out
    assert any("LOC -> ORG" in " ".join(line.split()) and "type" in line for line in out.splitlines())
    assert "missed" in out and "spurious" in out
    result = json.loads(output.read_text())
    check_scores(result)
    assert result["seqeval_report"]["PER"]["support"] == 3.0
    assert result["model"] == str(ruler_model) and result["data"] == str(gold_file)


def test_docbin(capsys, tmp_path, ruler_model, gold_file):
    doc_bin = DocBin(docs=read_iob_docs(Vocab(), gold_file))
    path = tmp_path / "gold.spacy"
    doc_bin.to_disk(path)
    output = tmp_path / "scores.json"
    code, _, err = run(capsys, ruler_model, path, "--output", output)
    assert code == 0, err
    check_scores(json.loads(output.read_text()))


def test_dataset_file(capsys, tmp_path, ruler_model):
    rows = [
        {"tokens": ["Anna", "met", "Bob", "in", "Oslo", "."], "ner_tags": ["B-PER", "O", "B-PER", "O", "B-LOC", "O"]},
        {"tokens": ["Hi", "from", "New", "York"], "ner_tags": ["O", "O", "B-LOC", "I-LOC"]},
    ]
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    output = tmp_path / "scores.json"
    code, _, err = run(capsys, ruler_model, path, "--split", "test", "--output", output)
    assert code == 0, err
    result = json.loads(output.read_text())
    assert result["n_docs"] == 2 and result["n_tokens"] == 10
    assert result["scores"]["ents_p"] == pytest.approx(1 / 4)


def test_column_options(capsys, tmp_path, ruler_model):
    path = tmp_path / "tab.txt"
    path.write_text("Anna\tNNP\tB-PER\tx\nsings\tVBZ\tO\tx\n\t\nAnna\tNNP\tB-PER\tx\n", encoding="utf-8")
    output = tmp_path / "scores.json"
    code, _, err = run(capsys, ruler_model, path, "--separator", "\\t", "--ner-column", "2", "--n-sents", "1",
                       "--output", output)
    assert code == 0, err
    result = json.loads(output.read_text())
    assert result["n_docs"] == 2 and result["scores"]["ents_f"] == 1.0


@pytest.mark.parametrize(
    "content,message",
    [
        (b"Anna B-PER\nsaw O O\n", "line 2: expected 2 columns, found 3"),
        (b"Anna B-PER\nsaw X-PER\n", "line 2: unknown IOB2 tag 'X-PER'"),
        (b"Anna B-PER\n\nJos\xe9 O\n", "line 3: not valid UTF-8"),
    ],
)
def test_bad_input(capsys, tmp_path, ruler_model, content, message):
    path = tmp_path / "bad.iob"
    path.write_bytes(content)
    code, _, err = run(capsys, ruler_model, path)
    assert code == 1
    assert str(path) in err and message in err


def test_strict_flag(capsys, tmp_path, ruler_model):
    path = tmp_path / "iob1.iob"
    path.write_text("in O\nOslo I-LOC\n", encoding="utf-8")
    code, _, err = run(capsys, ruler_model, path, "--strict")
    assert code == 1 and "line 2: 'I-LOC' follows 'O'" in err
    assert run(capsys, ruler_model, path, "--tag-scheme", "IOB1", "--strict")[0] == 0


def test_missing_model(capsys, tmp_path, gold_file):
    code, _, err = run(capsys, tmp_path / "no_model", gold_file)
    assert code == 1 and "error:" in err


def test_rnn_ner_pipeline(capsys, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_ner", config=small_rnn_ner_config())
    examples = read_examples(nlp, "dev.iob")[:10]
    nlp.initialize(lambda: examples)
    model = tmp_path / "rnn_ner"
    nlp.to_disk(model)
    output = tmp_path / "scores.json"
    code, out, err = run(capsys, model, ROOT / "corpus" / "dev.iob", "--limit", "3", "--threads", "1", "--output", output)
    assert code == 0, err
    result = json.loads(output.read_text())
    assert result["n_docs"] == 3
    assert result["scores"]["seqeval_f"] == pytest.approx(result["scores"]["ents_f"])


def test_module_help():
    result = subprocess.run([sys.executable, "-m", "spacy_rnn_ner", "evaluate", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--ner-column" in result.stdout and "--output" in result.stdout


def test_no_entities_to_score(capsys, tmp_path, ruler_model):
    path = tmp_path / "plain.iob"
    path.write_text("just O\nwords O\n", encoding="utf-8")
    code, out, err = run(capsys, ruler_model, path)
    assert code == 0, err
    assert "spaCy ents_f n/a" in out
