"""`annotate --engine ray` on a local Ray instance gives the plain engine's output (skipped without ray)."""
import json
from pathlib import Path

import pytest

from spacy_rnn_ner.batch import ray_engine
from spacy_rnn_ner.cli.annotate import main as annotate_main

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # the trained_nlp_path fixture trains in this process; cores are shared

ROOT = Path(__file__).resolve().parents[1]
TEXTS = (ROOT / "corpus" / "texts.txt").read_text(encoding="utf8").splitlines()


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


def _annotate(*args: object) -> None:
    assert annotate_main([str(arg) for arg in args] + ["--no-progress", "--torch-threads", "1"]) == 0


def test_ray_engine_equals_plain_engine(local_ray, trained_nlp_path, tmp_path, capsys):
    lines = [json.dumps({"id": f"r{i}", "text": text}) for i, text in enumerate(TEXTS[:20])]
    lines[4] = "not json"
    lines[9] = json.dumps({"id": "r9"})
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf8")
    options = ["--id-field", "id", "--batch-size", 3]
    _annotate(trained_nlp_path, source, tmp_path / "plain.jsonl", *options)
    # Two actors, windows of 10 records: two Ray Data datasets, order kept across them.
    ray_options = ["--engine", "ray", "--n-process", 2, "--ray-window", 10]
    _annotate(trained_nlp_path, source, tmp_path / "ray.jsonl", *options, *ray_options)
    summary = capsys.readouterr().out
    assert "errors: 2," in summary
    plain = _records(tmp_path / "plain.jsonl")
    ray_records = _records(tmp_path / "ray.jsonl")
    # Same records, entities and order; confidences agree up to float noise from
    # different batch compositions (padding changes the BLAS kernels' rounding).
    assert _without_confidences(ray_records) == _without_confidences(plain)
    assert _confidences(ray_records) == pytest.approx(_confidences(plain), abs=1e-4)
    assert len(plain) == len(lines)

    _annotate(trained_nlp_path, source, tmp_path / "ray.spacy", *options, "--engine", "ray", "--part-size", 8)
    manifest = json.loads((tmp_path / "ray.spacy" / "_manifest.json").read_text())
    assert manifest["records"] == len(lines) and manifest["complete"]


def _records(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def _without_confidences(records: list) -> list:
    return [
        {**record, "entities": [{k: v for k, v in ent.items() if k != "confidence"} for ent in record.get("entities", [])]}
        for record in records
    ]


def _confidences(records: list) -> list:
    return [ent["confidence"] for record in records for ent in record.get("entities", [])]


def test_without_ray_the_command_says_how_to_install(monkeypatch, trained_nlp_path, tmp_path, capsys):
    def missing():
        raise ray_engine.RayUnavailable(ray_engine.INSTALL_HINT)

    monkeypatch.setattr(ray_engine, "import_ray", missing)
    source = tmp_path / "in.txt"
    source.write_text("Angela Merkel visited Paris.\n", encoding="utf8")
    code = annotate_main([str(trained_nlp_path), str(source), str(tmp_path / "o.jsonl"), "--engine", "ray", "--no-progress"])
    assert code == 1
    assert "pip install 'spacy-rnn-ner[ray]'" in capsys.readouterr().err
