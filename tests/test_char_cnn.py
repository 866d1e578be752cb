"""The CharCNNEmbed architectures: shapes, character encoding, use inside spaCy's own ner,
and v2 reading a spelling corrector's corrections."""
import numpy
import spacy
from spacy.training import Example
from spacy.util import registry
from thinc.api import Config

from conftest import small_rnn_ner_config, train_pipeline
from spacy_rnn_ner.models.char_cnn import build_char_cnn_embed, corrected_doc, words_to_char_ids

NER_WITH_CHAR_CNN = """
[model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 32
maxout_pieces = 2
use_upper = true

[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy_rnn_ner.CharCNNEmbed.v1"
width = 32
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [500, 100, 200, 50]
include_static_vectors = false
char_filters = 16
char_window_widths = [3, 5]

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 64
depth = 1
window_size = 1
maxout_pieces = 2
"""


def test_output_width_and_lengths():
    nlp = spacy.blank("en")
    model = build_char_cnn_embed(width=16, attrs=["NORM", "SHAPE"], rows=[100, 50], char_filters=8, char_window_widths=[2, 3])
    docs = [nlp("Networc error at Roosevelt Street."), nlp(""), nlp("x")]
    model.initialize(X=docs)
    outputs = model.predict(docs)
    assert model.get_dim("nO") == 16 + 8 * 2
    assert [o.shape for o in outputs] == [(len(d), 32) for d in docs]


def test_char_ids_keep_both_ends_of_long_words_and_hash_rare_characters():
    ids = words_to_char_ids(["ab", "internationalization", "é€"], max_chars=8, n_chars=300)
    assert ids.shape == (3, 8)
    assert ids[0].tolist() == [ord("a"), ord("b"), 0, 0, 0, 0, 0, 0]
    assert "".join(chr(i) for i in ids[1]) == "intetion"
    assert ids[2, 0] == ord("é") and 256 <= ids[2, 1] < 300


def test_spacy_ner_trains_with_char_cnn_embed():
    nlp = spacy.blank("en")
    model_config = Config().from_str(NER_WITH_CHAR_CNN)
    ner = nlp.add_pipe("ner", config={"model": model_config["model"]})
    data = [
        ("President Roosevelt spoke in Washington.", [(10, 19, "PER"), (29, 39, "LOC")]),
        ("She lives on Roosevelt Street.", [(13, 29, "LOC")]),
    ]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    optimizer = nlp.initialize(lambda: examples)
    losses = [nlp.update(examples, sgd=optimizer)["ner"] for _ in range(100)]
    assert losses[-1] < losses[0] / 4, losses
    assert set(ner.labels) == {"PER", "LOC"}
    assert [(e.text, e.label_) for e in nlp(data[0][0]).ents] == [("Roosevelt", "PER"), ("Washington", "LOC")]


def test_word_dropout_zeroes_whole_word_vectors_in_training_only():
    nlp = spacy.blank("en")
    model = build_char_cnn_embed(width=8, attrs=["NORM"], rows=[50], char_filters=4, word_dropout=0.5)
    docs = [nlp("one two three four five six seven eight nine ten " * 20)]
    model.initialize(X=docs)
    outputs, backprop = model.begin_update(docs)
    word_part = outputs[0][:, :8]
    dropped = (numpy.abs(word_part).sum(axis=1) == 0)
    assert 0.3 < dropped.mean() < 0.7
    assert (numpy.abs(outputs[0][dropped, 8:]).sum(axis=1) > 0).all()  # char features stay
    assert (numpy.abs(model.predict(docs)[0][:, :8]).sum(axis=1) > 0).all()
    backprop([numpy.ones_like(outputs[0])])


def _v2(read_corrections: bool = True):
    return registry.resolve(
        {"m": {"@architectures": "spacy_rnn_ner.CharCNNEmbed.v2", "width": 16, "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
               "rows": [100, 50, 50, 20], "char_filters": 8, "read_corrections": read_corrections}}
    )["m"]


def test_v2_embeds_a_corrected_word_as_the_word_itself():
    nlp = spacy.blank("en")
    typo, right = nlp("Talks in Germnay ended ."), nlp("Talks in Germany ended .")
    typo[2].norm_ = "germany"  # as char_spell writes it
    model = _v2()
    model.initialize(X=[typo, right])
    corrected, plain = model.predict([typo, right])
    assert numpy.array_equal(corrected, plain)
    assert corrected_doc(typo).text == "Talks in Germany ended ." and typo.text == "Talks in Germnay ended ."
    # Without read_corrections, v2 is v1: the typo's own characters are embedded.
    v1_like = _v2(read_corrections=False)
    v1_like.initialize(X=[typo, right])
    typo_out, right_out = v1_like.predict([typo, right])
    assert not numpy.array_equal(typo_out[2], right_out[2])
    assert numpy.array_equal(typo_out[0], right_out[0])


def test_corrected_doc_keeps_other_norms_and_leaves_clean_docs_alone():
    nlp = spacy.blank("en")
    doc = nlp("They ca n't go")
    assert corrected_doc(doc) is doc
    doc[0].norm_ = "thy"
    doc[2].norm_ = "not"  # not an alphabetic word: a tokenizer norm, kept as it is
    fixed = corrected_doc(doc)
    assert [t.text for t in fixed] == ["Thy", "ca", "n't", "go"]
    assert [t.norm_ for t in fixed] == ["thy", "ca", "not", "go"]
    assert corrected_doc(nlp("")).text == ""


def test_v1_weights_load_into_v2():
    nlp = spacy.blank("en")
    docs = [nlp("Talks in Germany ended ."), nlp("")]
    v1 = build_char_cnn_embed(width=16, attrs=["NORM", "PREFIX", "SUFFIX", "SHAPE"], rows=[100, 50, 50, 20], char_filters=8)
    v1.initialize(X=docs)
    v2 = _v2()
    v2.initialize(X=docs)
    v2.from_bytes(v1.to_bytes())
    for a, b in zip(v1.predict(docs), v2.predict(docs)):
        assert numpy.array_equal(a, b)


def _v3(**overrides):
    settings = {"@architectures": "spacy_rnn_ner.CharCNNEmbed.v3", "width": 16, "attrs": ["PREFIX", "SUFFIX", "SHAPE"],
                "rows": [50, 50, 20], "word_width": 12, "word_rows": 6, "char_filters": 8}
    settings.update(overrides)
    return registry.resolve({"m": settings})["m"]


def test_v3_gives_every_unseen_word_the_same_unknown_vector():
    from spacy_rnn_ner.models.known_words import count_norms, set_known_words

    nlp = spacy.blank("en")
    train = [nlp("Talks in Germany ended in Germany .")]
    model = _v3()
    model.initialize(X=train)
    assert set_known_words(model, count_norms(train)) == 1
    doc = nlp("Zorblax in Quimby ended")
    words = model.predict([doc])[0][:, :12]
    assert numpy.array_equal(words[0], words[2])  # two unseen names: one "unknown" vector
    assert not numpy.array_equal(words[1], words[0])  # "in" was seen
    assert model.get_dim("nO") == 12 + 16 + 8
    # Casing does not matter (NORM), and the table keeps only rows - 1 = 5 words, most frequent first.
    table = [n for n in model.walk() if n.name == "known_word_embed"][0]
    assert len(table.attrs["words"]) == 5
    assert nlp.vocab.strings["germany"] in table.attrs["words"].tolist()


def test_v3_reads_rare_words_as_unknown_in_training_only():
    from spacy_rnn_ner.models.known_words import count_norms, set_known_words, word_rows

    nlp = spacy.blank("en")
    train = [nlp("common " * 50 + "once")]
    model = _v3(word_rows=10, rare_unknown_rate=0.5)
    model.initialize(X=train)
    set_known_words(model, count_norms(train))
    table = [n for n in model.walk() if n.name == "known_word_embed"][0]
    doc = nlp("once " * 400 + "common " * 400)
    training_rows = word_rows(table, doc, is_train=True)
    assert 0.35 < (training_rows[:400] == 0).mean() < 0.65  # "once" was seen once
    assert (training_rows[400:] != 0).all()
    assert (word_rows(table, doc, is_train=False) != 0).all()
    outputs, backprop = model.begin_update([doc])
    backprop([numpy.ones_like(outputs[0])])
    assert numpy.abs(table.get_grad("E")).sum() > 0


def test_rnn_ner_with_v3_learns_the_whole_training_vocabulary_and_reloads(tmp_path):
    nlp = spacy.blank("en")
    config = {"model": {"tok2vec": {"@architectures": "spacy_rnn_ner.CharCNNEmbed.v3", "width": 16,
                                    "attrs": ["PREFIX", "SUFFIX", "SHAPE"], "rows": [50, 50, 20],
                                    "word_width": 8, "word_rows": 100, "char_filters": 8},
                        "hidden_width": 16}}
    nlp.add_pipe("rnn_ner", config=config)
    # Fifteen docs: the 12th onwards are outside the initialization sample of 10.
    texts = [f"Word{i} met President Roosevelt ." for i in range(15)]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": [(len(t) - 11, len(t) - 2, "PER")]}) for t in texts]
    nlp.initialize(lambda: examples)
    table = [n for n in nlp.get_pipe("rnn_ner").model.walk() if n.name == "known_word_embed"][0]
    known = set(table.attrs["words"].tolist())
    assert nlp.vocab.strings["word14"] in known and len(known) == 15 + 4
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    docs = [nlp("Word3 met Zorblax ."), nlp("")]
    for a, b in zip(nlp.get_pipe("rnn_ner").model.predict(docs), reloaded.get_pipe("rnn_ner").model.predict(docs)):
        assert numpy.array_equal(a, b)


def test_known_words_callback_fills_v3_inside_spacys_own_ner(tmp_path):
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    model_config = Config().from_str(NER_WITH_CHAR_CNN)["model"]
    model_config["tok2vec"]["embed"] = {"@architectures": "spacy_rnn_ner.CharCNNEmbed.v3", "width": 32,
                                        "attrs": ["PREFIX", "SUFFIX", "SHAPE"], "rows": [100, 200, 50],
                                        "word_width": 16, "word_rows": 50, "char_filters": 16}
    nlp.add_pipe("ner", config={"model": model_config})
    data = [("President Roosevelt spoke in Washington.", [(10, 19, "PER"), (29, 39, "LOC")])]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    DocBin(docs=[eg.reference for eg in examples]).to_disk(tmp_path / "train.spacy")
    nlp.initialize(lambda: examples)
    callback = registry.callbacks.get("spacy_rnn_ner.known_words.v1")([str(tmp_path / "train.spacy")])
    callback(nlp)
    table = [n for n in nlp.get_pipe("ner").model.walk() if n.name == "known_word_embed"][0]
    assert sorted(nlp.vocab.strings[h] for h in table.attrs["words"].tolist()) == sorted(
        ["president", "roosevelt", "spoke", "in", "washington", "."]
    )


def test_v4_sums_one_hashed_vector_per_attribute(tmp_path):
    """v4: the hashed part of a token's vector is the sum of its attributes' rows;
    the whole embedder has v3's layout (words, hashed, characters), trains inside
    rnn_ner to F1 1.0 on a few sentences and reloads with identical scores."""
    settings = {"@architectures": "spacy_rnn_ner.CharCNNEmbed.v4", "width": 16, "attrs": ["PREFIX", "SUFFIX", "SHAPE"],
                "rows": [50, 50, 20], "word_width": 12, "word_rows": 6, "char_filters": 8}
    model = registry.resolve({"m": settings})["m"]
    nlp = spacy.blank("en")
    docs = [nlp("Networc error at Roosevelt Street."), nlp("")]
    model.initialize(X=docs)
    assert model.get_dim("nO") == 12 + 16 + 8
    outputs = model.predict(docs)
    assert [o.shape for o in outputs] == [(len(d), 36) for d in docs]
    tables = [node for node in model.walk() if node.name == "hashembed"]
    assert len(tables) == 3
    ids = docs[0].to_array(["PREFIX", "SUFFIX", "SHAPE"]).astype("uint64")
    expected = sum(table.predict(numpy.ascontiguousarray(ids[:, i])) for i, table in enumerate(tables))
    assert numpy.allclose(outputs[0][:, 12:28], expected, atol=1e-6)

    nlp = spacy.blank("en")
    config = small_rnn_ner_config()
    assert config["model"]["tok2vec"]["@architectures"] == "spacy_rnn_ner.CharCNNEmbed.v4"  # configs/rnn_ner.cfg
    nlp.add_pipe("rnn_ner", config=config)
    data = [
        ("President Roosevelt spoke in Washington .", [(10, 19, "PER"), (29, 39, "LOC")]),
        ("She lives on Roosevelt Street .", [(13, 29, "LOC")]),
        ("Nothing happened here .", []),
    ]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    train_pipeline(nlp, examples, n_epochs=150)
    assert nlp.evaluate(examples)["ents_f"] == 1.0
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    for a, b in zip(nlp.get_pipe("rnn_ner").model.predict(docs), reloaded.get_pipe("rnn_ner").model.predict(docs)):
        assert numpy.array_equal(a, b)


def test_prediction_by_table_lookup_equals_the_convolution():
    """Without gradients CharCNN looks its filters' responses up per character
    instead of convolving: the same features, for every window width."""
    import torch

    from spacy_rnn_ner.models.torch_modules import CharCNN

    torch.manual_seed(0)
    module = CharCNN(n_chars=300, char_width=6, n_filters=5, window_widths=[1, 2, 3, 4]).eval()
    char_ids = torch.randint(1, 300, (40, 9))
    char_ids[::2, 4:] = 0  # shorter words: padding inside the (n_types, max_chars) block
    char_ids[::5, 1:] = 0
    token_types = torch.randint(0, 40, (120,))
    with torch.enable_grad():
        convolved = module(char_ids, token_types)
    with torch.no_grad():
        looked_up = module(char_ids, token_types)
    assert looked_up.shape == convolved.shape == (120, 20)
    assert torch.allclose(looked_up, convolved, atol=1e-5)
    assert not torch.equal(looked_up[0], looked_up[1])  # the check compares real features
