"""Readers of real spelling-error files, their document split, and the build script's mixing."""
import itertools

import pytest
import spacy

from spacy_rnn_ner.models.spell_build import mix_real_pairs
from spacy_rnn_ner.spelling.lexicon import LexiconFormatError
from spacy_rnn_ner.spelling.real_errors import (
    TOEFL_SPLIT, document_split, read_codespell, read_norvig, read_toefl_spell, toefl_part, without_typos,
)

from conftest import SHARED, requires_shared


def test_read_codespell_keeps_unambiguous_single_words(tmp_path):
    path = tmp_path / "dictionary.txt"
    path.write_text("abandonned->abandoned\nabotu->about, abbot,\nAccomodate->accommodate\n1nd->1st\n", encoding="utf8")
    assert read_codespell(path) == [("abandonned", "abandoned"), ("accomodate", "accommodate")]
    path.write_text("abandonned->abandoned\nno arrow here\n", encoding="utf8")
    with pytest.raises(LexiconFormatError, match="dictionary.txt, line 2"):
        read_codespell(path)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_codespell(tmp_path / "nope.txt")


def test_read_toefl_spell_and_norvig(tmp_path):
    toefl = tmp_path / "Annotations.tsv"
    toefl.write_text("Filename\tOffsetSpan\tMisspelling\tType\tCorrection\n"
                     "100\t1-5\tBeacuse\tM\tbecause\n100\t9-12\tthen\tR\tthan\n", encoding="utf8")
    assert read_toefl_spell(toefl) == [("100", "beacuse", "because")]
    toefl.write_text("Filename\tOffsetSpan\tMisspelling\tType\tCorrection\n100\t1-5\tbeacuse\n", encoding="utf8")
    with pytest.raises(LexiconFormatError, match="Annotations.tsv, line 2"):
        read_toefl_spell(toefl)
    norvig = tmp_path / "testset.txt"
    norvig.write_text("access: acess acsess\nWhich: wich\n", encoding="utf8")
    assert read_norvig(norvig) == [("acess", "access"), ("acsess", "access"), ("wich", "which")]


def test_document_split_is_stable_and_proportional():
    documents = [str(n) for n in range(3000)]
    parts = [document_split(d, TOEFL_SPLIT) for d in documents]
    # the same in every process and Python version: the held-out eval essays depend on it
    assert parts[:8] == ["eval", "eval", "eval", "eval", "tune", "eval", "train", "tune"]
    for part, share in TOEFL_SPLIT.items():
        assert abs(parts.count(part) / len(parts) - share) < 0.04
    rows = [(d, "beacuse", "because") for d in documents[:50]]
    assert len(toefl_part(rows, "train")) + len(toefl_part(rows, "tune")) + len(toefl_part(rows, "eval")) == 50


def test_without_typos_drops_pairs_an_evaluation_set_contains():
    pairs = [("acess", "access"), ("wich", "which"), ("teh", "the")]
    assert without_typos(pairs, [("wich", "witch")]) == [("acess", "access"), ("teh", "the")]


def test_mix_real_pairs_interleaves_real_batches():
    nlp = spacy.blank("en")
    synthetic = lambda nlp: (spacy.training.Example(nlp.make_doc("x"), nlp.make_doc("x")) for _ in range(1000))
    real = [("acess", "access"), ("wich", "which"), ("teh", "the"), ("recieve", "receive")]
    corpus = mix_real_pairs(synthetic, real, share=0.5, batch_words=2, seed=0)
    examples = list(itertools.islice(corpus(nlp), 400))
    real_batches = [eg for eg in examples if eg.predicted[0].text != "x"]
    assert 0.35 < len(real_batches) / len(examples) < 0.65
    for eg in real_batches:
        batch = [(t.text, r.norm_) for t, r in zip(eg.predicted, eg.reference)]
        assert len(batch) == 2 and set(batch) <= set(real)


@requires_shared
def test_shared_spelling_sets_read_whole():
    spelling = SHARED / "spelling"
    norvig = read_norvig(spelling / "norvig" / "spell-testset1.txt")
    toefl = read_toefl_spell(spelling / "toefl-spell" / "Annotations.tsv")
    assert len(norvig) == 270 and len(toefl) == 6121  # as ../shared/README.md counts them
    assert len(toefl_part(toefl, "eval")) == 1955  # the held-out essays of docs/benchmarks-spelling.md
    assert len(read_codespell(spelling / "codespell" / "dictionary.txt")) > 50000
