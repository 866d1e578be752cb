"""spacy_rnn_ner.HFDatasetCorpus.v1 on local files the tests write (no network).

Hub names go through the same `load_split`; `datasets` >= 4 refuses datasets that
need a loading script, which the reader reports as a ValueError.
"""
import json
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
from spacy.util import load_config_from_str, registry

from spacy_rnn_ner.corpora.hf import create_hf_corpus
from spacy_rnn_ner.corpora.iob import CorpusFormatError

datasets = pytest.importorskip("datasets")

TAG_NAMES = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
ROWS = [
    {"tokens": ["Anna", "Smith", "lives", "in", "Oslo"], "ner_tags": ["B-PER", "I-PER", "O", "O", "B-LOC"]},
    {"tokens": ["Hi", "there"], "ner_tags": ["O", "O"]},
    {"tokens": ["New", "York", "rocks"], "ner_tags": ["B-LOC", "I-LOC", "O"]},
]
EXPECTED = [[("Anna Smith", "PER"), ("Oslo", "LOC")], [], [("New York", "LOC")]]


def ents(doc) -> List[Tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in doc.ents]


def read(path, tmp_path, **kwargs):
    nlp = spacy.blank("en")
    return list(create_hf_corpus(str(path), cache_dir=str(tmp_path / "cache"), **kwargs)(nlp))


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def class_label_dataset(rows=ROWS):
    features = datasets.Features(
        {"tokens": datasets.List(datasets.Value("string")), "ner_tags": datasets.List(datasets.ClassLabel(names=TAG_NAMES))}
    )
    data = {"tokens": [r["tokens"] for r in rows], "ner_tags": [[TAG_NAMES.index(t) for t in r["ner_tags"]] for r in rows]}
    return datasets.Dataset.from_dict(data, features=features)


def test_jsonl_string_tags(tmp_path):
    examples = read(write_jsonl(tmp_path / "train.jsonl", ROWS), tmp_path)
    assert [ents(eg.reference) for eg in examples] == EXPECTED
    assert examples[0].predicted.text == "Anna Smith lives in Oslo" and not examples[0].predicted.ents


def test_parquet_class_label(tmp_path):
    path = tmp_path / "train.parquet"
    class_label_dataset().to_parquet(str(path))
    assert [ents(eg.reference) for eg in read(path, tmp_path)] == EXPECTED


def test_saved_dataset_dict_split(tmp_path):
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": class_label_dataset(ROWS[:1]), "test": class_label_dataset(ROWS[2:])}).save_to_disk(str(folder))
    assert [ents(eg.reference) for eg in read(folder, tmp_path, split="test")] == EXPECTED[2:]
    with pytest.raises(ValueError, match="no split 'dev'"):
        read(folder, tmp_path, split="dev")


def test_arrow_file(tmp_path):
    folder = tmp_path / "saved"
    class_label_dataset().save_to_disk(str(folder))
    arrow_file = next(folder.glob("*.arrow"))
    assert [ents(eg.reference) for eg in read(arrow_file, tmp_path)] == EXPECTED


def test_csv_space_joined(tmp_path):
    path = tmp_path / "train.csv"
    lines = ["words,labels"] + [f"{' '.join(r['tokens'])},{' '.join(r['ner_tags'])}" for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    examples = read(path, tmp_path, tokens_column="words", tags_column="labels")
    assert [ents(eg.reference) for eg in examples] == EXPECTED


def test_integer_tags_with_names_from_config(tmp_path):
    rows = [{"tokens": r["tokens"], "ner_tags": [TAG_NAMES.index(t) for t in r["ner_tags"]]} for r in ROWS]
    path = write_jsonl(tmp_path / "ids.jsonl", rows)
    assert [ents(eg.reference) for eg in read(path, tmp_path, tag_names=TAG_NAMES)] == EXPECTED
    with pytest.raises(CorpusFormatError, match=r"row 0: integer tags need names"):
        read(path, tmp_path)


def test_n_sents_and_limit(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", ROWS)
    docs = [eg.reference for eg in read(path, tmp_path, n_sents=2)]
    assert [len(list(doc.sents)) for doc in docs] == [2, 1]
    assert ents(docs[0]) == EXPECTED[0]
    assert len(read(path, tmp_path, limit=2)) == 2


@pytest.mark.parametrize(
    "row,message",
    [
        ({"tokens": ["a", "b"], "ner_tags": ["O"]}, r"row 1: 2 tokens but 1 tags"),
        ({"tokens": ["a"], "tags": ["O"]}, r"row 1: no value in column 'ner_tags'"),
        ({"tokens": ["a", "b"], "ner_tags": ["O", "B-"]}, r"row 1: token 1: unknown IOB2 tag 'B-'"),
        ({"tokens": ["a", ""], "ner_tags": ["O", "O"]}, r"row 1: token 1 is ''"),
    ],
)
def test_bad_rows(tmp_path, row, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [ROWS[1], row])
    with pytest.raises(CorpusFormatError, match=message):
        read(path, tmp_path)


def test_strict_and_lenient(tmp_path):
    path = write_jsonl(tmp_path / "iob1.jsonl", [{"tokens": ["in", "Oslo"], "ner_tags": ["O", "I-LOC"]}])
    with pytest.raises(CorpusFormatError, match=r"\[train\], row 0: token 1: 'I-LOC' follows 'O'"):
        read(path, tmp_path, strict=True)
    with pytest.warns(UserWarning, match="1 row"):
        assert ents(read(path, tmp_path)[0].reference) == [("Oslo", "LOC")]
    assert ents(read(path, tmp_path, tag_scheme="IOB1", strict=True)[0].reference) == [("Oslo", "LOC")]


def test_unknown_label(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", ROWS)
    with pytest.raises(CorpusFormatError, match="row 0: token 4: unknown entity label 'LOC'"):
        read(path, tmp_path, labels=["PER"])


def test_empty_rows_are_counted(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [ROWS[0], {"tokens": [], "ner_tags": []}])
    with pytest.warns(UserWarning, match="1 row"):
        assert len(read(path, tmp_path)) == 1


def test_missing_column(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"words": ["a"], "ner_tags": ["O"]}])
    with pytest.raises(CorpusFormatError, match=r"row 0: no column 'tokens' \(columns: words, ner_tags\)"):
        read(path, tmp_path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="Cannot load dataset"):
        read(tmp_path / "nope.jsonl", tmp_path)
    odd = tmp_path / "data.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="set data_format"):
        read(odd, tmp_path)


def test_reader_in_config(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", ROWS)
    config = load_config_from_str(
        f"""
[corpora]
[corpora.train]
@readers = "spacy_rnn_ner.HFDatasetCorpus.v1"
path = "{path}"
split = "train"
cache_dir = "{tmp_path / 'cache'}"
"""
    )
    reader = registry.resolve(config["corpora"])["train"]
    assert [ents(eg.reference) for eg in reader(spacy.blank("en"))] == EXPECTED
