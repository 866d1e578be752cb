"""`spacy train`, `spacy evaluate` and `spacy package` on configs/rnn_ner.cfg (sample corpus)."""
import json
import subprocess
import sys
from typing import Optional

import pytest

from conftest import CONFIGS, CORPUS


def run(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def convert_sample(directory) -> None:
    """corpus/{train,dev}.iob -> directory/{train,dev}.spacy"""
    for split in ("train", "dev"):
        run("spacy_rnn_ner", "convert", str(CORPUS / f"{split}.iob"), str(directory / f"{split}.spacy"))


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    train_on_sample("rnn_ner.cfg", tmp, max_steps=600)  # the config's width, as .ci/demo trains
    return tmp


def train_on_sample(config: str, directory, max_steps: int, hidden_width: Optional[int] = None) -> None:
    """Convert the sample corpus into `directory` and `spacy train` a config on it
    (with the config's BiRNN width unless `hidden_width` is given)."""
    convert_sample(directory)
    width = [] if hidden_width is None else ["--components.rnn_ner.model.hidden_width", str(hidden_width)]
    run(
        "spacy", "train", str(CONFIGS / config), "--output", str(directory / "model"),
        "--paths.train", str(directory / "train.spacy"), "--paths.dev", str(directory / "dev.spacy"),
        "--training.max_steps", str(max_steps), "--training.eval_frequency", str(max_steps // 2),
        *width,
    )


def test_train_then_evaluate(trained_dir):
    assert (trained_dir / "model" / "model-best" / "rnn_ner" / "model").exists()
    run("spacy", "evaluate", str(trained_dir / "model" / "model-best"), str(trained_dir / "dev.spacy"),
        "--output", str(trained_dir / "scores.json"))
    scores = json.loads((trained_dir / "scores.json").read_text())
    assert 0.75 < scores["ents_f"] <= 1.0  # 0.85 when measured (600 steps, as .ci/demo)
    assert set(scores["ents_per_type"]) <= {"PER", "LOC", "ORG", "MISC"}


def test_context_decides_the_label_in_sentences_not_trained_on(trained_dir):
    import spacy

    nlp = spacy.load(trained_dir / "model" / "model-best")
    sentences = {  # none of these is in corpus/
        "Yesterday President Roosevelt thanked the volunteers.": ("Roosevelt", "PER"),
        "The bakery on Roosevelt Street in Manhattan closed.": ("Roosevelt Street", "LOC"),
        "Mayor Lindqvist opened a school on Lindqvist Road in Oslo.": ("Lindqvist Road", "LOC"),
    }
    for text, expected in sentences.items():
        assert expected in [(ent.text, ent.label_) for ent in nlp(text).ents], text
    # a person and a place the sample knows as one. (With "Chicago", which corpus/ has only
    # in "Chicago Bulls", ORG, the CharCNNEmbed.v4 model of seed 0 read "Chicago." as ORG;
    # seeds 1 and 2, and v3 with all three, read LOC.)
    assert [ent.label_ for ent in nlp("President Roosevelt visited Oslo.").ents] == ["PER", "LOC"]


def test_package_lists_this_package_as_requirement(trained_dir):
    out = trained_dir / "packages"
    out.mkdir()
    run("spacy", "package", str(trained_dir / "model" / "model-best"), str(out),
        "--name", "rnn_ner_test", "--version", "0.0.1", "--force")
    meta = json.loads(next(out.glob("*/meta.json")).read_text())
    assert any(req.startswith("spacy-rnn-ner") for req in meta["requirements"])
    assert list(out.glob("*/dist/*.tar.gz"))


def test_convert_reports_bad_lines_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.iob"
    bad.write_text("Paris B-LOC\nis O\nnice X-ADJ\n", encoding="utf8")
    result = subprocess.run(
        [sys.executable, "-m", "spacy_rnn_ner", "convert", str(bad), str(tmp_path / "bad.spacy")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert f"{bad}, line 3" in result.stdout and "X-ADJ" in result.stdout
    assert not (tmp_path / "bad.spacy").exists()


@pytest.mark.skipif(not (CONFIGS.parent / "spacy_rnn_ner" / "data" / "char_spell_en" / "model").exists(),
                    reason="shipped char_spell model missing")
def test_spell_ner_config_trains_with_frozen_char_spell(tmp_path):
    train_on_sample("spell_ner.cfg", tmp_path, max_steps=20, hidden_width=32)
    import spacy

    nlp = spacy.load(tmp_path / "model" / "model-last")
    assert nlp.pipe_names == ["char_spell", "rnn_ner"]
    # after_init gave the known-word table the training file's words: none of the
    # augmenter's typos.
    from spacy.tokens import DocBin
    from spacy_rnn_ner.models.known_words import KNOWN_WORD_EMBED, count_norms

    table = next(node for node in nlp.get_pipe("rnn_ner").model.walk() if node.name == KNOWN_WORD_EMBED)
    train_docs = DocBin().from_disk(tmp_path / "train.spacy").get_docs(nlp.vocab)
    assert set(table.attrs["words"].tolist()) == set(count_norms(train_docs))
    doc = nlp("The team flew to Germnay and met the networc staff .")
    assert doc[4].norm_ == "germany" and doc[8].norm_ == "network"
    # before_init added the training corpus's words ("Okafor") to char_spell's lexicon.
    assert "okafor" in nlp.get_pipe("char_spell").lexicon
    assert nlp("Coach Okfaor praised Okafor twice : Okafor .")[1].norm_ == "okafor"


def test_every_registered_function_is_an_entry_point():
    """`spacy train` finds our functions through setup.cfg's entry points: a function
    registered in the code but missing there is "not found" in a fresh process."""
    import configparser
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setup = configparser.ConfigParser()
    setup.read(root / "setup.cfg")
    entry_points = setup["options.entry_points"]
    kinds = ("architectures", "readers", "scorers", "callbacks", "augmenters")
    declared = {
        kind: {line.split("=")[0].strip() for line in entry_points.get(f"spacy_{kind}", "").splitlines() if line}
        for kind in kinds
    }
    pattern = re.compile(rf'@registry\.({"|".join(kinds)})\("(spacy_rnn_ner\.[^"]+)"\)')
    found = [
        (kind, name)
        for path in (root / "spacy_rnn_ner").rglob("*.py")
        for kind, name in pattern.findall(path.read_text(encoding="utf-8"))
    ]
    assert len(found) >= 10
    missing = [f"{kind}: {name}" for kind, name in found if name not in declared[kind]]
    assert not missing, f"registered in the code but not in setup.cfg: {missing}"
