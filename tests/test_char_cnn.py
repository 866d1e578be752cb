"""The CharCNNEmbed architecture: shapes, character encoding, use inside spaCy's own ner."""
import numpy
import spacy
from spacy.training import Example
from thinc.api import Config

from spacy_rnn_ner.models.char_cnn import build_char_cnn_embed, words_to_char_ids

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
