"""spacy_rnn_ner.seqeval_scorer.v1: seqeval scores next to spaCy's ents_* scores."""
import json
from typing import List, Sequence, Tuple

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry
from spacy.vocab import Vocab

from spacy_rnn_ner.scoring import examples_to_iob, seqeval_ner_score, seqeval_scores

from conftest import CONFIGS, read_examples, small_rnn_ner_config

Ents = Sequence[Tuple[int, int, str]]


def make_example(vocab: Vocab, words: List[str], gold: Ents, pred: Ents) -> Example:
    reference = Doc(vocab, words=words)
    reference.ents = [Span(reference, start, end, label) for start, end, label in gold]
    predicted = Doc(vocab, words=words)
    predicted.ents = [Span(predicted, start, end, label) for start, end, label in pred]
    return Example(predicted, reference)


@pytest.fixture
def examples() -> List[Example]:
    vocab = Vocab()
    words = "Anna Smith met Bob in New York and Paris with Acme Corp staff".split()
    return [
        # Exact hit, wrong type, boundary error, missed entity, spurious entity.
        make_example(vocab, words, [(0, 2, "PER"), (3, 4, "PER"), (5, 7, "LOC"), (8, 9, "LOC"), (10, 12, "ORG")],
                     [(0, 2, "PER"), (3, 4, "ORG"), (6, 7, "LOC"), (10, 12, "ORG"), (12, 13, "MISC")]),
        make_example(vocab, ["Bob", "Bob", "ran"], [(0, 1, "PER"), (1, 2, "PER")], [(0, 2, "PER")]),
        make_example(vocab, ["nothing", "here"], [], []),
    ]


def test_registered_through_entry_point():
    scorer = registry.scorers.get("spacy_rnn_ner.seqeval_scorer.v1")()
    assert scorer is seqeval_ner_score


def test_keys_and_types(examples):
    scores = seqeval_ner_score(examples)
    for key in ("ents_p", "ents_r", "ents_f", "ents_per_type"):
        assert key in scores
    for prefix in ("seqeval", "seqeval_strict"):
        for suffix in ("p", "r", "f"):
            assert type(scores[f"{prefix}_{suffix}"]) is float
        per_type = scores[f"{prefix}_per_type"]
        assert set(per_type) == {"PER", "LOC", "ORG", "MISC"}  # MISC is only predicted
        assert all(type(value) is float for values in per_type.values() for value in values.values())
    json.dumps(scores)  # meta.json and --output must be able to hold them


def test_seqeval_agrees_with_spacy(examples):
    scores = seqeval_ner_score(examples)
    # 2 correct (Anna Smith, Acme Corp) of 6 predicted and 7 gold.
    assert scores["ents_p"] == pytest.approx(2 / 6)
    assert scores["ents_r"] == pytest.approx(2 / 7)
    assert scores["seqeval_f"] == pytest.approx(scores["ents_f"])
    assert scores["seqeval_p"] == pytest.approx(scores["ents_p"])
    assert scores["seqeval_r"] == pytest.approx(scores["ents_r"])
    assert scores["seqeval_strict_f"] == pytest.approx(scores["ents_f"])
    for label, values in scores["ents_per_type"].items():
        if label in scores["seqeval_per_type"]:
            assert scores["seqeval_per_type"][label]["f"] == pytest.approx(values["f"])


def test_adjacent_same_type_entities_stay_apart(examples):
    y_true, y_pred = examples_to_iob(examples[1:2])
    assert y_true == [["B-PER", "B-PER", "O"]]
    assert y_pred == [["B-PER", "I-PER", "O"]]


def test_default_and_strict_modes_differ_on_broken_iob():
    y_true = [["B-PER", "I-PER", "O"]]
    y_pred = [["I-PER", "I-PER", "O"]]  # conlleval accepts an entity opened by I-
    assert seqeval_scores(y_true, y_pred)["seqeval_f"] == 1.0
    assert seqeval_scores(y_true, y_pred, prefix="x", strict=True)["x_f"] == 0.0


def test_no_entities_gives_zeros():
    scores = seqeval_scores([["O", "O"]], [["O", "O"]])
    assert scores == {"seqeval_p": 0.0, "seqeval_r": 0.0, "seqeval_f": 0.0, "seqeval_per_type": {}}


def test_different_tokenization_is_aligned():
    vocab = Vocab()
    reference = Doc(vocab, words=["New", "York", "-", "based"], spaces=[True, False, False, False])
    reference.ents = [Span(reference, 0, 2, "LOC")]
    predicted = Doc(vocab, words=["New", "York-based"], spaces=[True, False])
    predicted.ents = [Span(predicted, 0, 1, "LOC")]
    y_true, y_pred = examples_to_iob([Example(predicted, reference)])
    assert len(y_true[0]) == len(y_pred[0]) == 2
    assert y_pred == [["B-LOC", "O"]]


def test_missing_gold_annotation_is_ignored_as_spacy_does():
    vocab = Vocab()
    words = ["Anna", "met", "Bob", "in", "Paris", "."]
    # the first three tokens are annotated, the rest is not
    reference = Doc(vocab, words=words, ents=["B-PER", "O", "B-PER", "", "", ""])
    predicted = Doc(vocab, words=words)
    predicted.ents = [Span(predicted, 0, 1, "PER"), Span(predicted, 2, 3, "ORG"), Span(predicted, 4, 5, "LOC")]
    unannotated = Example(Doc(vocab, words=["Paris"]), Doc(vocab, words=["Paris"]))
    unannotated.predicted.ents = [Span(unannotated.predicted, 0, 1, "LOC")]
    examples = [Example(predicted, reference), unannotated]
    scores = seqeval_ner_score(examples)
    assert (scores["ents_p"], scores["ents_r"]) == (0.5, 0.5)  # "Paris" counts for neither
    assert (scores["seqeval_p"], scores["seqeval_r"]) == (0.5, 0.5)
    assert examples_to_iob(examples)[1] == [["B-PER", "O", "B-ORG", "O", "O", "O"]]


SEQEVAL_SCORER = {"@scorers": "spacy_rnn_ner.seqeval_scorer.v1"}


def test_rnn_ner_scorer_setting():
    """The component's `scorer` argument switches an rnn_ner pipeline to seqeval + ents scores."""
    nlp = spacy.blank("en")
    config = small_rnn_ner_config()
    config["scorer"] = SEQEVAL_SCORER
    nlp.add_pipe("rnn_ner", config=config)
    examples = read_examples(nlp, "dev.iob")[:20]
    nlp.initialize(lambda: examples)
    scores = nlp.evaluate(examples)
    assert {"ents_f", "seqeval_f", "seqeval_strict_f", "seqeval_per_type"} <= set(scores)
    assert scores["seqeval_f"] == pytest.approx(scores["ents_f"])


def test_trained_rnn_ner_scores_agree(trained_nlp_path):
    nlp = spacy.load(trained_nlp_path, config={"components": {"rnn_ner": {"scorer": SEQEVAL_SCORER}}})
    scores = nlp.evaluate(read_examples(nlp, "dev.iob"))
    # a model that learnt something; after the fixture's 8 short epochs, 0.44 and 0.45
    # (seeds 0, 1) with CharCNNEmbed.v4, 0.52 and 0.58 with v3, which learns faster early
    assert scores["ents_f"] > 0.35
    assert scores["seqeval_f"] == pytest.approx(scores["ents_f"])
    assert scores["seqeval_strict_f"] == pytest.approx(scores["ents_f"])
    for label, values in scores["ents_per_type"].items():
        assert scores["seqeval_per_type"][label]["f"] == pytest.approx(values["f"])


# Tiny stand-ins written in each corpus's format (no shared data needed).
CORPUS_SAMPLES = {
    "conll2003": "-DOCSTART- -X- -X- O\n\nAnna NNP B-NP B-PER\nvisits VBZ B-VP O\nOslo NNP B-NP B-LOC\n\n",
    "wnut17": "Anna\tB-person\nvisits\tO\nOslo\tB-location\n\t\nhi\tO\n\n",
    "ontonotes5": "-DOCSTART-\t-X-\t-X-\tO\n\nAnna\tNNP\t(TOP*\tB-PERSON\nvisits\tVBZ\t*\tO\nOslo\tNNP\t*)\tB-GPE\n\n",
}


EXPECTED_LABELS = {"conll2003": ["PER", "LOC"], "wnut17": ["person", "location"], "ontonotes5": ["PERSON", "GPE"]}


@pytest.mark.parametrize("corpus", sorted(CORPUS_SAMPLES))
def test_corpus_configs_read_their_format(tmp_path, corpus):
    from spacy.util import load_config, registry

    path = tmp_path / "sample.txt"
    path.write_text(CORPUS_SAMPLES[corpus], encoding="utf-8")
    overrides = {"paths.train": str(path), "paths.dev": str(path)}
    config = load_config(CONFIGS / f"{corpus}.cfg", overrides=overrides, interpolate=True)
    corpora = registry.resolve(config["corpora"])
    assert config["components"]["rnn_ner"]["scorer"] == SEQEVAL_SCORER
    examples = list(corpora["train"](spacy.blank("en")))
    found = [(ent.text, ent.label_) for eg in examples for ent in eg.reference.ents]
    assert found == list(zip(["Anna", "Oslo"], EXPECTED_LABELS[corpus]))


def test_spacy_train_logs_seqeval_next_to_ents(tmp_path, capsys):
    from spacy.cli.evaluate import evaluate as spacy_evaluate
    from spacy.cli.train import train
    from spacy.tokens import DocBin

    path = tmp_path / "train.conll"
    path.write_text(CORPUS_SAMPLES["wnut17"] * 5, encoding="utf-8")
    overrides = {
        "paths.train": str(path), "paths.dev": str(path), "training.max_steps": 2, "training.eval_frequency": 1,
        "components.rnn_ner.model.hidden_width": 16, "components.rnn_ner.model.tok2vec.width": 16,
    }
    train(CONFIGS / "wnut17.cfg", tmp_path / "out", overrides=overrides)
    assert "SEQEVAL_F" in capsys.readouterr().out  # a console logger column
    model = tmp_path / "out" / "model-best"
    performance = json.loads((model / "meta.json").read_text())["performance"]
    assert {"ents_f", "seqeval_f", "seqeval_strict_f", "seqeval_per_type"} <= set(performance)
    nlp = spacy.load(model)
    DocBin(docs=[eg.reference for eg in read_examples(nlp, "dev.iob")[:5]]).to_disk(tmp_path / "dev.spacy")
    spacy_evaluate(str(model), tmp_path / "dev.spacy", output=tmp_path / "scores.json", per_component=True)
    scores = json.loads((tmp_path / "scores.json").read_text())["rnn_ner"]
    assert scores["seqeval_f"] == pytest.approx(scores["ents_f"])
