"""Tag schemes: inventories, constraints, gold masks and span extraction."""
import numpy
import pytest
from spacy.training.iob_utils import biluo_to_iob, tags_to_entities

from spacy_rnn_ner.tags import gold_tag_mask, make_tag_names, tag_spans, transition_constraints, whitespace_penalty

BILUO = ["O", "B-PER", "I-PER", "L-PER", "U-LOC", "O", "U-PER", "B-ORG", "L-ORG", "O"]


@pytest.mark.parametrize("scheme", ["BILUO", "BIO"])
def test_tag_spans_match_spacy_conversion(scheme):
    names = make_tag_names(["PER", "LOC", "ORG"], scheme)
    tags = BILUO if scheme == "BILUO" else biluo_to_iob(BILUO)
    ids = numpy.array([names.index(tag) for tag in tags])
    expected = [(start, end + 1, label) for label, start, end in tags_to_entities(BILUO)]
    assert tag_spans(ids, names, scheme) == expected == [(1, 4, "PER"), (4, 5, "LOC"), (6, 7, "PER"), (7, 9, "ORG")]


def test_tag_spans_rejects_invalid_sequences():
    names = make_tag_names(["PER"], "BILUO")
    with pytest.raises(ValueError, match="Invalid BILUO"):
        tag_spans(numpy.array([names.index("B-PER"), 0]), names, "BILUO")


def test_gold_mask_marginalises_unknown_tokens():
    names = make_tag_names(["PER"], "BIO")
    mask = gold_tag_mask(["U-PER", None, "-", "O", "B-MISC"], names, "BIO")
    assert mask[0].tolist() == [False, True, False]
    assert mask[1].all() and mask[2].all()  # misaligned, missing
    assert mask[3].tolist() == [True, False, False]
    assert mask[4].all()  # label unknown to the model


def test_constraints_and_whitespace_penalty():
    names = make_tag_names(["PER"], "BIO")
    allowed, start, end = transition_constraints(names, "BIO")
    assert not allowed[names.index("O"), names.index("I-PER")]
    assert allowed[names.index("B-PER"), names.index("I-PER")]
    assert not start[names.index("I-PER")] and end.all()
    penalty = whitespace_penalty(make_tag_names(["PER"], "BILUO"), "BILUO")
    assert penalty.tolist() == [0.0, -10000.0, 0.0, -10000.0, -10000.0]
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        make_tag_names(["PER"], "IOBES")
