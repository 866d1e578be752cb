"""`python -m spacy_rnn_ner annotate`: formats, error records, order, kill-and-resume, n_process."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_rnn_ner.cli.annotate import main as annotate_main

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # the trained_nlp_path fixture trains in this process; cores are shared

ROOT = Path(__file__).resolve().parents[1]
TEXTS = (ROOT / "corpus" / "texts.txt").read_text(encoding="utf8").splitlines()


def run_annotate(capsys, *args: object) -> str:
    """Run the command in this process; return its stdout (the summary)."""
    code = annotate_main([str(arg) for arg in args] + ["--no-progress", "--torch-threads", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def write_lines(path: Path, lines: List[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf8")
    return path


def test_text_lines_to_jsonl_matches_the_pipeline(trained_nlp, trained_nlp_path, tmp_path, capsys):
    source = write_lines(tmp_path / "texts.txt", TEXTS)
    output = tmp_path / "out.jsonl"
    summary = run_annotate(capsys, trained_nlp_path, source, output, "--batch-size", 7)
    rows = read_jsonl(output)
    assert [row["line"] for row in rows] == list(range(1, len(TEXTS) + 1))
    assert [row["id"] for row in rows] == [str(n) for n in range(1, len(TEXTS) + 1)]
    for row, doc in zip(rows, trained_nlp.pipe(TEXTS)):
        assert row["text"] == doc.text
        expected = [(e.label_, e.start_char, e.end_char, e.text) for e in doc.ents]
        assert [(e["label"], e["start"], e["end"], e["text"]) for e in row["entities"]] == expected
        for entity, span in zip(row["entities"], doc.ents):
            assert entity["confidence"] == pytest.approx(span._.confidence, abs=1e-5)
    assert sum(len(row["entities"]) for row in rows) > 0
    assert f"records: {len(TEXTS)}," in summary and "errors: 0," in summary and "words/s" in summary


def test_every_kind_of_bad_jsonl_record_becomes_an_error_record(trained_nlp_path, tmp_path, capsys):
    good = json.dumps({"id": "good", "text": TEXTS[0]})
    lines = [
        b"\xef\xbb\xbf" + good.encode(),  # a byte order mark is not an error
        b'{"id": "utf8", "text": "caf\xe9"}',  # invalid UTF-8
        b"this is not json",
        b"",  # empty line
        b'["a", "list"]',
        json.dumps({"id": "no-text", "body": "x"}).encode(),
        json.dumps({"id": "number", "text": 42}).encode(),
        json.dumps({"text": "no id here"}).encode(),
        json.dumps({"id": "long", "text": "x" * 401}).encode(),
        b'{"id": "b\\ud800", "text": "a lone surrogate in the id"}',  # valid JSON, not writable as UTF-8
        b'{"id": "surrogate-text", "text": "caf\\udce9"}',
        json.dumps({"id": "last", "text": TEXTS[1]}).encode(),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "out.jsonl"
    summary = run_annotate(capsys, trained_nlp_path, source, output, "--id-field", "id", "--max-chars", 400, "--batch-size", 3)
    rows = read_jsonl(output)
    assert [row["line"] for row in rows] == list(range(1, len(lines) + 1))
    assert "error" not in rows[0] and rows[0]["id"] == "good"
    assert "error" not in rows[-1] and rows[-1]["id"] == "last" and rows[-1]["text"] == TEXTS[1]
    expected_errors = {
        2: (None, "invalid UTF-8"),
        3: (None, "not valid JSON"),
        4: (None, "not valid JSON (empty line)"),
        5: (None, "expected a JSON object"),
        6: ("no-text", "missing text field 'text'"),
        7: ("number", "is not a string"),
        8: (None, "missing id field 'id'"),
        9: ("long", "401 characters, over --max-chars 400"),
        10: ("b\\ud800", "id field 'id' is not valid Unicode"),
        11: ("surrogate-text", "text field 'text' is not valid Unicode"),
    }
    for line, (record_id, message) in expected_errors.items():
        row = rows[line - 1]
        assert set(row) == {"id", "line", "error"}
        assert row["id"] == record_id
        assert f"{source} line {line}: " in row["error"] and message in row["error"], row["error"]
    assert f"records: {len(lines)}," in summary and f"errors: {len(expected_errors)}," in summary


def test_bad_text_lines_become_error_records(trained_nlp_path, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"Angela Merkel visited Paris.\nbad \xff\xfe byte\n" + b"y" * 500 + b"\n\nlast line\n")
    output = tmp_path / "out.jsonl"
    summary = run_annotate(capsys, trained_nlp_path, source, output, "--max-chars", 100)
    rows = read_jsonl(output)
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5]
    assert "invalid UTF-8" in rows[1]["error"] and f"{source} line 2" in rows[1]["error"]
    assert "over --max-chars 100" in rows[2]["error"] and f"{source} line 3" in rows[2]["error"]
    assert rows[3]["text"] == "" and rows[3]["entities"] == []  # an empty line is an empty document
    assert rows[4]["text"] == "last line"
    assert "errors: 2," in summary


def test_parquet_and_dataset_inputs(trained_nlp_path, tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    datasets = pytest.importorskip("datasets")
    rows = [{"doc": f"d{i}", "body": text} for i, text in enumerate(TEXTS[:20])]
    rows[5]["body"] = None
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=6)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "in_ds"))
    options = ["--text-field", "body", "--id-field", "doc", "--batch-size", 4]
    run_annotate(capsys, trained_nlp_path, tmp_path / "in.parquet", tmp_path / "pq.jsonl", *options)
    run_annotate(capsys, trained_nlp_path, tmp_path / "in_ds", tmp_path / "ds.jsonl", *options)
    from_parquet, from_dataset = read_jsonl(tmp_path / "pq.jsonl"), read_jsonl(tmp_path / "ds.jsonl")
    assert [row["id"] for row in from_parquet] == [row["doc"] for row in rows]
    assert "row 6: missing text field 'body'" in from_parquet[5]["error"]
    strip = lambda row: {key: value for key, value in row.items() if key != "error"}  # noqa: E731
    assert [strip(row) for row in from_parquet] == [strip(row) for row in from_dataset]
    assert [row["text"] for row in from_parquet if "text" in row] == [r["body"] for r in rows if r["body"]]


def test_missing_column_is_a_clear_error(trained_nlp_path, tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist([{"content": "x"}]), tmp_path / "in.parquet")
    code = annotate_main([str(trained_nlp_path), str(tmp_path / "in.parquet"), str(tmp_path / "o.jsonl"), "--no-progress"])
    assert code == 1
    assert "has no column 'text'" in capsys.readouterr().err


def test_parquet_and_docbin_outputs_hold_the_same_records(trained_nlp_path, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    source = write_lines(tmp_path / "in.jsonl", [json.dumps({"text": t}) for t in TEXTS[:23]] + ["oops"])
    options = ["--batch-size", 5, "--part-size", 10]
    run_annotate(capsys, trained_nlp_path, source, tmp_path / "out.jsonl", *options)
    run_annotate(capsys, trained_nlp_path, source, tmp_path / "out.parquet", *options)
    run_annotate(capsys, trained_nlp_path, source, tmp_path / "out.spacy", *options)
    expected = read_jsonl(tmp_path / "out.jsonl")

    manifest = json.loads((tmp_path / "out.parquet" / "_manifest.json").read_text())
    assert [part["records"] for part in manifest["parts"]] == [10, 10, 4] and manifest["complete"]
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [{k: v for k, v in row.items() if v is not None and not k.startswith("correct")} for row in table] == expected

    from spacy.tokens import Span

    if not Span.has_extension("confidence"):
        Span.set_extension("confidence", default=None)
    vocab = spacy.blank("en").vocab
    docs = []
    for part in json.loads((tmp_path / "out.spacy" / "_manifest.json").read_text())["parts"]:
        docs.extend(DocBin().from_disk(tmp_path / "out.spacy" / part["file"]).get_docs(vocab))
    assert len(docs) == len(expected)
    for doc, row in zip(docs, expected):
        assert doc.user_data["line"] == row["line"] and doc.user_data["id"] == row["id"]
        if "error" in row:
            assert doc.user_data["error"] == row["error"] and len(doc) == 0
        else:
            assert doc.text == row["text"]
            assert [(e.label_, e.start_char, e.end_char, e._.confidence) for e in doc.ents] == [
                (e["label"], e["start"], e["end"], e["confidence"]) for e in row["entities"]
            ]


def test_two_processes_write_the_same_output(trained_nlp_path, tmp_path, capsys):
    source = write_lines(tmp_path / "in.txt", TEXTS)
    run_annotate(capsys, trained_nlp_path, source, tmp_path / "one.jsonl", "--batch-size", 4)
    run_annotate(capsys, trained_nlp_path, source, tmp_path / "two.jsonl", "--batch-size", 4, "--n-process", 2)
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()


def test_rerun_of_a_finished_job_changes_nothing(trained_nlp_path, tmp_path, capsys):
    source = write_lines(tmp_path / "in.txt", TEXTS[:10])
    output = tmp_path / "out.jsonl"
    run_annotate(capsys, trained_nlp_path, source, output)
    before = output.read_bytes()
    summary = run_annotate(capsys, trained_nlp_path, source, output)
    assert output.read_bytes() == before
    assert "records: 0 (resumed after 10 records" in summary


def test_partial_last_line_is_cut_and_redone(trained_nlp_path, tmp_path, capsys):
    source = write_lines(tmp_path / "in.txt", TEXTS[:12])
    reference = tmp_path / "reference.jsonl"
    run_annotate(capsys, trained_nlp_path, source, reference)
    lines = reference.read_bytes().splitlines(keepends=True)
    output = tmp_path / "out.jsonl"
    output.write_bytes(b"".join(lines[:5]) + lines[5][:17])  # killed in the middle of line 6
    summary = run_annotate(capsys, trained_nlp_path, source, output)
    assert output.read_bytes() == reference.read_bytes()
    assert "resumed after 5 records" in summary


# Kill a real run with SIGKILL, resume it, compare with an uninterrupted run.


def _start(model: Path, source: Path, output: Path, *options: object) -> subprocess.Popen:
    command = [sys.executable, "-m", "spacy_rnn_ner", "annotate", str(model), str(source), str(output)]
    command += [str(option) for option in options] + ["--no-progress", "--torch-threads", "1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_when(process: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the run made no progress")
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def _count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.fixture
def long_input(tmp_path) -> Path:
    lines = [text for _ in range(4) for text in TEXTS]
    lines[100] = "\udcff"  # not encodable: written below as an invalid UTF-8 byte
    data = "".join(line + "\n" for line in lines).encode("utf8", errors="surrogateescape")
    path = tmp_path / "long.txt"
    path.write_bytes(data)
    return path


def test_kill_and_resume_jsonl(trained_nlp_path, long_input, tmp_path, capsys):
    n_records = _count_lines(long_input)
    output = tmp_path / "out.jsonl"
    process = _start(trained_nlp_path, long_input, output, "--batch-size", 3)
    _kill_when(process, lambda: _count_lines(output) >= 30)
    n_before = _count_lines(output)
    assert 30 <= n_before < n_records
    summary = run_annotate(capsys, trained_nlp_path, long_input, output, "--batch-size", 3)
    assert f"records: {n_records - n_before} (resumed after {n_before} records" in summary

    reference = tmp_path / "reference.jsonl"
    run_annotate(capsys, trained_nlp_path, long_input, reference, "--batch-size", 50)
    assert output.read_bytes() == reference.read_bytes()
    rows = read_jsonl(output)
    assert [row["line"] for row in rows] == list(range(1, n_records + 1))
    assert "invalid UTF-8" in rows[100]["error"]


def test_kill_and_resume_parquet_parts(trained_nlp_path, long_input, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    n_records = _count_lines(long_input)
    output = tmp_path / "out.parquet"
    manifest = output / "_manifest.json"

    def n_parts() -> int:
        try:
            return len(json.loads(manifest.read_text())["parts"])
        except (OSError, ValueError):
            return 0

    process = _start(trained_nlp_path, long_input, output, "--batch-size", 4, "--part-size", 16)
    _kill_when(process, lambda: n_parts() >= 2)
    done_before = json.loads(manifest.read_text())["records"]
    assert 32 <= done_before < n_records and not json.loads(manifest.read_text())["complete"]
    summary = run_annotate(capsys, trained_nlp_path, long_input, output, "--batch-size", 4, "--part-size", 16)
    assert f"resumed after {done_before} records" in summary
    assert not [p for p in output.iterdir() if p.name.startswith(".")]  # no partial part left

    reference = tmp_path / "reference.jsonl"
    run_annotate(capsys, trained_nlp_path, long_input, reference, "--batch-size", 50)
    table = pq.read_table(output).to_pylist()
    rows = [{k: v for k, v in row.items() if v is not None and not k.startswith("correct")} for row in table]
    assert rows == read_jsonl(reference)


def test_batches_run_in_a_memory_zone(trained_nlp_path):
    from spacy_rnn_ner.batch.annotator import BatchAnnotator
    from spacy_rnn_ner.batch.readers import InputRecord

    annotator = BatchAnnotator(trained_nlp_path)
    strings = annotator.nlp.vocab.strings

    def batch(start: int) -> list:
        texts = [f"{TEXTS[i % len(TEXTS)]} Ref unique{i}x{i * 31}" for i in range(start, start + 20)]
        return [InputRecord(i, i + 1, str(i + 1), text, None) for i, text in enumerate(texts, start)]

    first = annotator(batch(0))
    size = len(strings)
    for start in range(20, 200, 20):
        results = annotator(batch(start))
        assert [result.index for result in results] == list(range(start, start + 20))
    assert len(strings) == size  # new words of each batch are gone with its zone
    assert first[0].row["text"].endswith("Ref unique0x0")


def test_a_record_that_breaks_the_pipeline_becomes_an_error_record(trained_nlp_path):
    from spacy.language import Language

    from spacy_rnn_ner.batch.annotator import BatchAnnotator
    from spacy_rnn_ner.batch.readers import InputRecord

    @Language.component("test_explode_on_boom")
    def explode(doc):
        if "BOOM" in doc.text:
            raise RuntimeError("boom")
        return doc

    annotator = BatchAnnotator(trained_nlp_path)
    annotator.nlp.add_pipe("test_explode_on_boom")
    texts = [TEXTS[0], "It goes BOOM here.", TEXTS[1]]
    records = [InputRecord(i, i + 1, f"r{i}", text, None, f"in.jsonl line {i + 1}") for i, text in enumerate(texts)]
    results = annotator(records)
    assert [result.index for result in results] == [0, 1, 2]
    assert "error" not in results[0].row and "error" not in results[2].row
    assert results[2].row["text"] == TEXTS[1]
    assert results[1].row["id"] == "r1"
    assert results[1].row["error"] == "in.jsonl line 2: the pipeline failed on this record: RuntimeError: boom"
