"""Typo generator, TypoCorpus reader and typo augmenter."""
import random

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_rnn_ner.augment import create_typo_augmenter, replace_words
from spacy_rnn_ner.corpora.typos import create_typo_corpus, read_typo_pairs
from spacy_rnn_ner.spelling.lexicon import LexiconFormatError
from spacy_rnn_ner.spelling.typos import KEYBOARD_NEIGHBOURS, TYPO_FUNCTIONS, TypoGenerator, drop_double, transpose

WORDS = ["network", "spelling", "receive", "address", "government", "language", "beginning"]


def test_generator_is_reproducible_and_changes_words():
    first = [TypoGenerator(seed=3)(w) for w in WORDS]
    second = [TypoGenerator(seed=3)(w) for w in WORDS]
    assert first == second
    assert all(typo != word for typo, word in zip(first, WORDS))
    assert [TypoGenerator(seed=4)(w) for w in WORDS] != first


def test_generator_avoids_excluded_words():
    def typos(exclude):
        return [TypoGenerator(weights={"drop_double": 1.0}, p_second=0.0, seed=s)("address", exclude=exclude)
                for s in range(30)]

    assert "adress" in typos(set())  # dropping either double letter is possible...
    assert "adress" not in typos({"adress"})  # ...but never the excluded form


@pytest.mark.parametrize("name", sorted(TYPO_FUNCTIONS))
def test_each_error_type_stays_close(name):
    from spacy_rnn_ner.spelling.candidates import osa_distance

    rng = random.Random(0)
    limit = 2 if name == "phonetic" else 1  # "x" -> "ks", "gh" -> "": two edits
    typos = [TYPO_FUNCTIONS[name](word, rng) for word in WORDS for _ in range(5)]
    assert all(osa_distance(word, typo) <= limit for word, typo in zip([w for w in WORDS for _ in range(5)], typos))
    changed = sum(typo != word for word, typo in zip([w for w in WORDS for _ in range(5)], typos))
    assert changed >= 0.8 * len(typos)


def test_specific_error_types():
    rng = random.Random(1)
    assert drop_double("address", rng) in {"adress", "addres"}
    swapped = transpose("network", rng)
    assert sorted(swapped) == sorted("network") and swapped != "network"
    assert "s" in KEYBOARD_NEIGHBOURS["a"] and "q" in KEYBOARD_NEIGHBOURS["a"]


def test_unknown_typo_type_is_rejected():
    with pytest.raises(ValueError, match="Unknown typo types"):
        TypoGenerator(weights={"teleport": 1.0})


def _lexicon_file(tmp_path):
    path = tmp_path / "lexicon.txt"
    path.write_text("".join(f"{w} {1000 - 10 * i}\n" for i, w in enumerate(WORDS)), encoding="utf-8")
    return path


def test_typo_corpus_yields_norm_targets(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# real pairs\nrecieve\treceive\nadress\taddress\n", encoding="utf-8")
    nlp = spacy.blank("en")
    corpus = create_typo_corpus(str(_lexicon_file(tmp_path)), pairs=[str(pairs)], n_examples=3, words_per_example=5)
    examples = list(corpus(nlp))
    assert len(examples) == 4
    real = examples[-1]
    assert [t.text for t in real.predicted] == ["recieve", "adress"]
    assert [t.norm_ for t in real.reference] == ["receive", "address"]
    for eg in examples[:3]:
        for token, norm in zip(eg.predicted, eg.get_aligned("NORM", as_string=True)):
            assert norm in WORDS and token.text != norm
    again = [t.text for t in next(iter(corpus(nlp))).predicted]
    assert again != [t.text for t in examples[0].predicted]  # new typos each pass


def test_typo_pairs_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("recieve\treceive\nno tab here\n", encoding="utf-8")
    with pytest.raises(LexiconFormatError, match=r"bad.tsv, line 2"):
        read_typo_pairs(bad)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        read_typo_pairs(tmp_path / "missing.tsv")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("recieve\treceive\ncaf\xe9e\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(LexiconFormatError, match=r"latin.tsv, line 2: not valid UTF-8"):
        read_typo_pairs(latin)


def test_typo_pairs_skip_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeffteh\tthe\r\nrecieve\treceive\r\n".encode("utf-8"))
    assert read_typo_pairs(path) == [("teh", "the"), ("recieve", "receive")]


def _entity_example(nlp):
    words = ["Peter", "Blackburn", "visited", "Washington", "yesterday", "morning", "."]
    ents = ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]
    reference = Doc(nlp.vocab, words=words, ents=ents, sent_starts=[True] + [False] * 6)
    return Example(Doc(nlp.vocab, words=words), reference)


def test_augmenter_keeps_entities_aligned():
    nlp = spacy.blank("en")
    augment = create_typo_augmenter(level=1.0, prob=1.0, seed=0)
    original, noisy = list(augment(nlp, _entity_example(nlp)))
    assert [t.text for t in original.reference][0] == "Peter"
    noisy_words = [t.text for t in noisy.reference]
    assert noisy_words != [t.text for t in original.reference]
    assert noisy_words[-1] == "."
    assert [t.text for t in noisy.predicted] == noisy_words
    assert [(e.start, e.end, e.label_) for e in noisy.reference.ents] == [(0, 2, "PER"), (3, 4, "LOC")]
    assert noisy.get_aligned_ner() == ["B-PER", "L-PER", "O", "U-LOC", "O", "O", "O"]


def test_noisy_copy_keeps_every_annotation():
    from spacy.tokens import Span

    nlp = spacy.blank("en")
    words = ["Peter", "Blackburn", "visited", "Washington", ".", "He", "stayed", "."]
    reference = Doc(nlp.vocab, words=words, sent_starts=[True, False, False, False, False, True, False, False],
                    ents=["B-PER", "I-PER", "O", "B-LOC", "O", "", "", ""])  # the second sentence: not annotated
    reference.set_ents([Span(reference, 0, 2, "PER", kb_id="Q1")], default="unmodified")
    reference.spans["mentions"] = [Span(reference, 3, 4, "CITY"), Span(reference, 5, 6, "PRON")]
    reference[2].norm_ = "visit"
    reference.cats = {"TRAVEL": 1.0}
    example = Example(Doc(nlp.vocab, words=words), reference)
    noisy = ["Petre", "Blackbrun", "visitde", "Washingtno", ".", "He", "stayde", "."]
    copy = replace_words(nlp, example, noisy).reference
    assert [t.text for t in copy] == noisy
    assert [(e.start, e.end, e.label_, e.kb_id_) for e in copy.ents] == [(0, 2, "PER", "Q1"), (3, 4, "LOC", "")]
    assert [t.ent_iob_ for t in copy] == [t.ent_iob_ for t in reference] == ["B", "I", "O", "B", "O", "", "", ""]
    assert [t.is_sent_start for t in copy] == [t.is_sent_start for t in reference]
    assert [(s.start, s.end, s.label_) for s in copy.spans["mentions"]] == [(3, 4, "CITY"), (5, 6, "PRON")]
    assert copy[2].norm_ == "visit" and copy[3].norm_ == "washington"  # the word meant
    assert copy.cats == {"TRAVEL": 1.0}


def test_noisy_copy_keeps_a_parse():
    nlp = spacy.blank("en")
    words = ["Peter", "visited", "Washington"]
    reference = Doc(nlp.vocab, words=words, heads=[1, 1, 1], deps=["nsubj", "ROOT", "dobj"], tags=["NNP", "VBD", "NNP"])
    copy = replace_words(nlp, Example(Doc(nlp.vocab, words=words), reference), ["Petre", "visitde", "Washington"])
    assert [(t.head.i, t.dep_, t.tag_) for t in copy.reference] == [(1, "nsubj", "NNP"), (1, "ROOT", "VBD"), (1, "dobj", "NNP")]


def test_augmenter_level_zero_yields_original_only():
    nlp = spacy.blank("en")
    augment = create_typo_augmenter(level=0.0, prob=1.0)
    assert len(list(augment(nlp, _entity_example(nlp)))) == 1


def test_replace_words_checks_length():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="needs 7 words"):
        replace_words(nlp, _entity_example(nlp), ["too", "short"])


def test_augmenter_is_registered():
    from spacy.util import registry

    assert registry.augmenters.get("spacy_rnn_ner.typo_augmenter.v1") is create_typo_augmenter


def test_typos_keep_the_casing_of_the_word():
    import random

    from spacy_rnn_ner.spelling.typos import phonetic, substitute

    rng = random.Random(0)
    for _ in range(30):
        assert phonetic("PHONE", rng).isupper()
        knight = phonetic("Knight", rng)
        assert knight[0].isupper() and knight[1:].islower()
        assert substitute("ñandú", rng).islower()
