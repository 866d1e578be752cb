"""spacy_rnn_ner.IOBCorpus.v1: formats, tag schemes, document boundaries, errors, shared corpora."""
import warnings
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
from spacy.util import load_config_from_str, registry
from spacy.vocab import Vocab

from spacy_rnn_ner.corpora.iob import CorpusFormatError, create_iob_corpus, read_iob_docs

from conftest import SHARED, requires_shared


def write(tmp_path: Path, text: str, name: str = "data.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def ents(doc) -> List[Tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in doc.ents]


def read_all(path: Path, **kwargs):
    return list(read_iob_docs(Vocab(), path, **kwargs))


def test_conll2003_layout(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "Anna NNP B-NP B-PER\nlives VBZ B-VP O\nin IN B-PP O\nNew NNP B-NP B-LOC\nYork NNP I-NP I-LOC\n\n"
        "Bob NNP B-NP B-PER\n. . O O\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "Acme NNP B-NP B-ORG\nwins VBZ B-VP O\n"
    )
    docs = read_all(write(tmp_path, text))
    assert [len(doc) for doc in docs] == [7, 2]
    assert ents(docs[0]) == [("Anna", "PER"), ("New York", "LOC"), ("Bob", "PER")]
    assert [sent.text for sent in docs[0].sents] == ["Anna lives in New York", "Bob ."]
    assert ents(docs[1]) == [("Acme", "ORG")]
    assert all(token.ent_iob_ in ("B", "I", "O") for doc in docs for token in doc)


def test_wnut_tab_lines_break_sentences(tmp_path):
    text = "Hi\tO\nJane\tB-person\n\t\nvisit\tO\nLos\tB-location\nAngeles\tI-location\n \t \n\nok\tO\n"
    docs = read_all(write(tmp_path, text), separator="\t", n_sents=1)
    assert [[t.text for t in doc] for doc in docs] == [["Hi", "Jane"], ["visit", "Los", "Angeles"], ["ok"]]
    assert ents(docs[1]) == [("Los Angeles", "location")]
    # No whitespace in column files: spaCy's Corpus must keep these tokens.
    assert all(doc.has_unknown_spaces for doc in docs)


def test_ontonotes_tab_columns_and_ner_column(tmp_path):
    text = "-DOCSTART-\t-X-\t-X-\tO\n\nIn\tIN\t(TOP(S(PP*\tO\nMay\tNNP\t(NP*))\tB-DATE\n\n"
    docs = read_all(write(tmp_path, text), separator="\t", ner_column=3)
    assert ents(docs[0]) == [("May", "DATE")]


def test_docstart_without_blank_line(tmp_path):
    text = "-DOCSTART- -DOCSTART- O\nDe Art O\nzaak N B-MISC\n\n-DOCSTART- -DOCSTART- O\nJan N B-PER\n"
    docs = read_all(write(tmp_path, text))
    assert [doc.text.rstrip() for doc in docs] == ["De zaak", "Jan"]
    assert ents(docs[1]) == [("Jan", "PER")]


def test_docstart_mid_sentence_closes_sentence(tmp_path):
    docs = read_all(write(tmp_path, "a X O\nb X O\n-DOCSTART- X O\nc X O\n"))
    assert [doc.text.rstrip() for doc in docs] == ["a b", "c"]


def test_crlf_and_bom(tmp_path):
    docs = read_all(write(tmp_path, "\ufeffParis NNP B-LOC\r\nis VBZ O\r\n\r\n"))
    assert docs[0][0].text == "Paris"
    assert ents(docs[0]) == [("Paris", "LOC")]


def test_iob1_decoding(tmp_path):
    # IOB1: I-X opens an entity; B-X only separates two adjacent entities of the same type.
    text = "John I-PER\nSmith I-PER\nMary B-PER\nsaw O\nParis I-LOC\nBerlin I-ORG\nx O\ny I-MISC\n"
    doc = read_all(write(tmp_path, text), tag_scheme="IOB1", strict=True)[0]
    assert ents(doc) == [("John Smith", "PER"), ("Mary", "PER"), ("Paris", "LOC"), ("Berlin", "ORG"), ("y", "MISC")]


def test_iob1_strict_rejects_b_after_o(tmp_path):
    path = write(tmp_path, "saw O\nParis B-LOC\n")
    with pytest.raises(CorpusFormatError, match=r"line 2: 'B-LOC' follows 'O'.*IOB1"):
        read_all(path, tag_scheme="IOB1", strict=True)


def test_iob2_i_after_o_lenient_keeps_entity_and_warns(tmp_path):
    path = write(tmp_path, "saw O\nNew I-LOC\nYork I-LOC\n")
    with pytest.warns(UserWarning, match=r"1 sentence\(s\).*line 2"):
        doc = read_all(path)[0]
    assert ents(doc) == [("New York", "LOC")]


def test_repair_warning_comes_when_the_reader_stops_early(tmp_path):
    path = write(tmp_path, "saw O\nNew I-LOC\n\nfine O\n\nmore O\n")
    docs = read_iob_docs(Vocab(), path, n_sents=1)
    with pytest.warns(UserWarning, match=r"1 sentence\(s\).*line 2"):
        first = next(docs)
        docs.close()  # as a limit does
    assert ents(first) == [("New", "LOC")]


def test_iob2_strict_rejects_i_after_o(tmp_path):
    path = write(tmp_path, "a O\nb O\n\nsaw O\nNew I-LOC\n")
    with pytest.raises(CorpusFormatError) as info:
        read_all(path, strict=True)
    assert info.value.line_no == 5 and info.value.path == str(path)
    assert "'I-LOC' follows 'O'" in str(info.value) and str(path) in str(info.value)


def test_iob2_strict_rejects_type_change(tmp_path):
    with pytest.raises(CorpusFormatError, match="line 2: 'I-ORG' follows 'B-LOC'"):
        read_all(write(tmp_path, "a B-LOC\nb I-ORG\n"), strict=True)


def test_biluo(tmp_path):
    text = "New B-LOC\nYork L-LOC\nand O\nAnna U-PER\nB B-ORG\nC I-ORG\nD L-ORG\n"
    doc = read_all(write(tmp_path, text), tag_scheme="BILUO", strict=True)[0]
    assert ents(doc) == [("New York", "LOC"), ("Anna", "PER"), ("B C D", "ORG")]


def test_iobes(tmp_path):
    doc = read_all(write(tmp_path, "New B-LOC\nYork E-LOC\nAnna S-PER\n"), tag_scheme="IOBES", strict=True)[0]
    assert ents(doc) == [("New York", "LOC"), ("Anna", "PER")]


@pytest.mark.parametrize(
    "tags,line",
    [("O B-LOC O", 3), ("O I-LOC L-LOC", 2), ("L-LOC", 1), ("B-LOC U-PER", 2), ("B-LOC I-LOC", 2)],
)
def test_biluo_strict_errors(tmp_path, tags, line):
    text = "".join(f"w{i} {tag}\n" for i, tag in enumerate(tags.split()))
    with pytest.raises(CorpusFormatError, match=f"line {line}:"):
        read_all(write(tmp_path, text), tag_scheme="BILUO", strict=True)


def test_biluo_lenient_keeps_every_tagged_token(tmp_path):
    text = "a B-LOC\nb O\nc I-PER\nd L-PER\ne B-ORG\n"
    with pytest.warns(UserWarning, match="BILUO"):
        doc = read_all(write(tmp_path, text), tag_scheme="BILUO")[0]
    assert ents(doc) == [("a", "LOC"), ("c d", "PER"), ("e", "ORG")]


@pytest.mark.parametrize("tag", ["X-PER", "B-", "BPER", "b-PER", "L-PER", "Bx-PER"])
def test_unknown_tag(tmp_path, tag):
    path = write(tmp_path, f"a O\nb {tag}\n")
    with pytest.raises(CorpusFormatError, match=f"{path}, line 2: unknown IOB2 tag '{tag}'"):
        read_all(path)


def test_unknown_label(tmp_path):
    path = write(tmp_path, "a B-PER\nb B-PERSON\n")
    with pytest.raises(CorpusFormatError, match="line 2: unknown entity label 'PERSON'"):
        read_all(path, labels=["PER", "LOC"])


def test_wrong_column_count(tmp_path):
    path = write(tmp_path, "a NN B-NP O\nb NN O\n")
    with pytest.raises(CorpusFormatError, match=r"line 2: expected 4 columns, found 3"):
        read_all(path)


def test_single_column_line(tmp_path):
    with pytest.raises(CorpusFormatError, match="line 1: expected a word and a tag column"):
        read_all(write(tmp_path, "lonely\n"))


def test_bare_carriage_returns_are_an_error(tmp_path):
    with pytest.raises(CorpusFormatError, match="line 1: carriage return inside a line"):
        read_all(write(tmp_path, "EU B-ORG\rrejects O\rGerman B-MISC\r"))


def test_empty_word_column_names_the_line(tmp_path):
    with pytest.raises(CorpusFormatError, match="line 2: empty word column"):
        read_all(write(tmp_path, "EU\tB-ORG\n\tO\n"), separator="\t")


def test_tab_separator_from_the_command_line(tmp_path, capsys):
    from spacy_rnn_ner.cli.convert import main as convert

    path = write(tmp_path, "EU\tB-ORG\nrejects\tO\n")
    assert convert([str(path), str(tmp_path / "out.spacy"), "--separator", "\\t"]) == 0
    assert "1 documents, 2 tokens, 1 entities" in capsys.readouterr().out


@pytest.mark.parametrize("column", [5, 0, -3])
def test_bad_ner_column(tmp_path, column):
    with pytest.raises(CorpusFormatError, match=f"line 1: ner_column {column}"):
        read_all(write(tmp_path, "a NN O\n"), ner_column=column)


def test_non_utf8(tmp_path):
    path = write(tmp_path, "ok O\n\ncaf\xe9 O\n", encoding="latin-1")
    with pytest.raises(CorpusFormatError, match=f"{path}, line 3: not valid UTF-8"):
        read_all(path)


def test_unknown_scheme(tmp_path):
    with pytest.raises(ValueError, match="Unknown tag_scheme"):
        read_all(write(tmp_path, "a O\n"), tag_scheme="BIOES2")


def test_n_sents_and_max_doc_tokens(tmp_path):
    text = "".join(f"{'w ' * n}".replace("w ", "w O\n") + "\n" for n in (3, 3, 5, 2, 1))
    path = write(tmp_path, text)
    assert [len(doc) for doc in read_all(path)] == [14]
    assert [len(doc) for doc in read_all(path, n_sents=2)] == [6, 7, 1]
    # Documents are cut before passing 6 tokens; a longer sentence stays whole.
    assert [len(doc) for doc in read_all(path, max_doc_tokens=6)] == [6, 5, 3]
    assert sum(1 for doc in read_all(path, max_doc_tokens=6) for _ in doc.sents) == 5


def test_streaming_reads_lazily(tmp_path):
    path = write(tmp_path, "a O\n\nb O\n\nc X\n")  # the bad line comes last
    docs = read_iob_docs(Vocab(), path, n_sents=1)
    assert next(docs).text.rstrip() == "a"
    assert next(docs).text.rstrip() == "b"
    with pytest.raises(CorpusFormatError, match="line 5"):
        next(docs)


def test_reader_in_config(tmp_path):
    path = write(tmp_path, "-DOCSTART- O\nAnna B-PER\nsings O\n\n-DOCSTART- O\nBob B-PER\n\n-DOCSTART- O\nx O\n")
    config = load_config_from_str(
        f"""
[corpora]
[corpora.train]
@readers = "spacy_rnn_ner.IOBCorpus.v1"
path = "{path}"
limit = 2
"""
    )
    resolved = registry.resolve(config["corpora"])
    nlp = spacy.blank("en")
    examples = list(resolved["train"](nlp))
    assert [eg.reference.text.rstrip() for eg in examples] == ["Anna sings", "Bob"]
    assert examples[0].predicted.text.rstrip() == "Anna sings" and not examples[0].predicted.ents
    assert ents(examples[0].reference) == [("Anna", "PER")]


def test_reader_missing_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        create_iob_corpus(tmp_path / "nope.txt")


def test_long_document_warns(tmp_path, monkeypatch):
    monkeypatch.setattr("spacy_rnn_ner.corpora.iob.LONG_DOC_WARNING", 3)
    path = write(tmp_path, "a O\nb O\n\nc O\nd O\n")
    with pytest.warns(UserWarning, match="has 4 tokens"):
        read_all(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_all(path, n_sents=1)


# Counts from ../shared/README.md: (relative path, options, sentences, tokens).
SHARED_FILES = [
    ("conll2003/train.txt", {}, 14041, 203621),
    ("conll2003/valid.txt", {}, 3250, 51362),
    ("conll2003/test.txt", {}, 3453, 46435),
    ("wnut17/wnut17train.conll", {"separator": "\t", "n_sents": 1}, 3394, 62730),
    ("wnut17/emerging.dev.conll", {"separator": "\t", "n_sents": 1}, 1009, 15733),
    ("wnut17/emerging.test.annotated", {"separator": "\t", "n_sents": 1}, 1287, 23394),
    ("ontonotes5/development.ner", {"separator": "\t"}, 8528, 147724),
    ("ontonotes5/test.ner", {"separator": "\t"}, 8262, 152728),
    ("conll2002/esp.train", {"max_doc_tokens": 5000}, 8323, 264715),
    ("conll2002/esp.testa", {"max_doc_tokens": 5000}, 1915, None),
    ("conll2002/esp.testb", {"max_doc_tokens": 5000}, 1517, None),
    ("conll2002/ned.train", {}, 15806, 202644),
    ("conll2002/ned.testa", {}, 2895, None),
    ("conll2002/ned.testb", {}, 5195, None),
]


@requires_shared
@pytest.mark.parametrize("name,options,n_sents,n_tokens", SHARED_FILES, ids=[f[0] for f in SHARED_FILES])
def test_shared_corpus_counts(name, options, n_sents, n_tokens):
    path = SHARED / "corpora" / name
    assert path.exists(), f"{path} is missing from ../shared"
    with warnings.catch_warnings():
        # esp.* hold one I-X-after-O sentence each; counted in a warning, read leniently.
        warnings.simplefilter("ignore")
        docs = read_all(path, **options)
    assert sum(1 for doc in docs for _ in doc.sents) == n_sents
    if n_tokens is not None:
        assert sum(len(doc) for doc in docs) == n_tokens
    assert sum(len(doc.ents) for doc in docs) > 0


@requires_shared
@pytest.mark.parametrize("name", ["conll2003/valid.txt", "ontonotes5/development.ner", "conll2002/ned.testa"])
def test_shared_corpus_is_strict_iob2(name):
    path = SHARED / "corpora" / name
    assert path.exists(), f"{path} is missing from ../shared"
    assert read_all(path, strict=True)
