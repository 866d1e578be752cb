"""char_spell: shipped model behaviour, a tiny trained model, serialization, errors."""
import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import Doc
from spacy.training import Example

from spacy_rnn_ner.components.char_spell import PHONETIC_CANDIDATES, SHIPPED_MODELS, match_casing
from spacy_rnn_ner.spelling.casing import casing_pattern
from spacy_rnn_ner.corpora.typos import create_typo_corpus
from spacy_rnn_ner.spelling.candidates import DeletionIndex, osa_distance
from spacy_rnn_ner.spelling.lexicon import Lexicon, LexiconFormatError
from spacy_rnn_ner.spelling.phonetic import PhoneticIndex, phonetic_key

COMPONENT_SOURCE = Path(__file__).resolve().parents[1] / "spacy_rnn_ner" / "components" / "char_spell.py"
requires_shipped = pytest.mark.skipif(not (SHIPPED_MODELS["en"] / "model").exists(), reason="no shipped model")


@pytest.fixture(scope="module")
def shipped_nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("char_spell")
    return nlp


def test_component_module_imports_no_torch_at_top_level():
    tree = ast.parse(COMPONENT_SOURCE.read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top_level for alias in node.names]
    modules = [getattr(node, "module", None) or "" for node in top_level]
    assert not any("torch" in name for name in names + modules)
    # and nothing it imports does: with torch unimportable, spaCy and our factory still load
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import spacy, spacy_rnn_ner.components.char_spell\n"
        "spacy.blank('en'); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_osa_distance_and_index():
    assert osa_distance("networc", "network") == 1
    assert osa_distance("teh", "the") == 1
    assert osa_distance("abc", "xyz", limit=2) == 3
    index = DeletionIndex(["network", "networks", "net", "work"])
    assert index.lookup("networc") == [("network", 1), ("networks", 2)]
    assert index.lookup("wrok", max_distance=1) == [("work", 1)]


def test_phonetic_key_and_index():
    assert phonetic_key("purple") == phonetic_key("perpul") == "prpl"
    assert phonetic_key("curtains") == phonetic_key("courtens") == "krtns"
    assert phonetic_key("minutes") == phonetic_key("muinets") == "mnts"
    assert phonetic_key("phone") == phonetic_key("fone") != phonetic_key("pone")
    assert phonetic_key("city") == phonetic_key("sity") != phonetic_key("kity")
    assert phonetic_key("aunt")[0] == phonetic_key("ant")[0] == "V"
    assert phonetic_key("") == ""
    words = ["purple", "propel", "purpl", "preppily", "people", "paper", "pupil"]
    index = PhoneticIndex(words)
    # same key only (not people, pupil: 3 edits but another key), beyond min_distance
    # (not purpl: 2 edits), within max_distance (not preppily: 4), nearest first
    assert index.lookup("perpul", 2, 3) == [("purple", 3), ("propel", 3)]
    assert index.lookup("perpul", 1, 4) == [("purpl", 2), ("purple", 3), ("propel", 3), ("preppily", 4)]
    assert index.lookup("perpul", 2, 2) == []
    assert index.lookup("", 0, 3) == []


@requires_shipped
def test_shipped_model_corrects_typos_by_sound_beyond_two_edits(shipped_nlp):
    speller = shipped_nlp.get_pipe("char_spell")
    assert speller.cfg["phonetic_max_distance"] == 3
    assert shipped_nlp("ten muinets later")._.corrected_text == "ten minutes later"
    assert ("purple", 3) in speller.candidates("perpul")
    assert ("purple", 3) in speller.candidates("perpul", prune=False)
    # never more than half of a short typo's letters: "cak" keeps its near candidates only
    assert speller.phonetic_index.lookup("cak", 2, 3)  # "coke", "kayak", ... 3 edits away
    assert all(distance <= 2 for _, distance in speller.candidates("cak", prune=False))
    # and at most PHONETIC_CANDIDATES of them: "stater" has 24
    assert len(speller.phonetic_index.lookup("stater", 2, 3)) > PHONETIC_CANDIDATES
    assert sum(distance > 2 for _, distance in speller.candidates("stater")) == PHONETIC_CANDIDATES
    try:
        for off in (0, 2):  # 0, or not beyond max_edit_distance: no phonetic candidates
            speller.cfg["phonetic_max_distance"] = off
            speller.clear_cache()
            assert ("purple", 3) not in speller.candidates("perpul")
            assert shipped_nlp("ten muinets later")._.corrected_text == "ten minuets later"
    finally:
        speller.cfg["phonetic_max_distance"] = 3
        speller.clear_cache()


@requires_shipped
def test_phonetic_candidates_default_to_english_pipelines_only():
    german = spacy.blank("de").add_pipe("char_spell")
    assert german.cfg["phonetic_max_distance"] == 0
    german.build_indexes()
    assert german._lookups.phonetic_index is None  # not built when off
    assert spacy.blank("en").add_pipe("char_spell", config={"phonetic_max_distance": 4}).cfg["phonetic_max_distance"] == 4


def test_match_casing():
    assert match_casing("network", "Networc") == "Network"
    assert match_casing("network", "networc") == "network"
    assert match_casing("network", "NETWORC") == "NETWORK"
    # Casing slips of typing are repaired: a transposed capital, shift held too long.
    assert match_casing("trent", "rTent") == "Trent"
    assert match_casing("the", "THe") == "The"
    assert match_casing("english", "ENGLIzH") == "ENGLISH"


def test_casing_pattern_leaves_real_mixed_case_alone():
    assert casing_pattern("McDonald") is None
    assert casing_pattern("SeeTTLE") is None
    assert casing_pattern("networc") == "lower"
    assert casing_pattern("BBlackburn") == "title"
    assert casing_pattern("1996") is None


@requires_shipped
def test_shipped_model_corrects_and_keeps_casing(shipped_nlp):
    text = "Networc problems are commn.  I recieve the mesage at http://example.com on 12.5 from Anna."
    doc = shipped_nlp(text)
    assert doc.text == text
    assert doc._.corrected_text == "Network problems are common.  I receive the message at http://example.com on 12.5 from Anna."
    assert doc[0].norm_ == "network"
    assert doc[0].idx == 0 and doc[1].idx == len("Networc ")
    suggestions = doc[0]._.suggestions
    assert suggestions[0][0] == "network" and 0.0 < suggestions[0][1] <= 1.0


@requires_shipped
def test_shipped_model_leaves_correct_words_numbers_urls_names(shipped_nlp):
    text = "The Qwertz company emailed info@qwertz.io about 3rd-party code like foo_bar() and NASAA 42 times"
    doc = shipped_nlp(text)
    assert doc._.corrected_text == text
    assert all(token._.suggestions is None for token in doc)


@requires_shipped
def test_words_the_model_cannot_spell_are_left_alone(shipped_nlp):
    text = "A jalapeño at the café, a façade, über and señor: networc."
    doc = shipped_nlp(text)
    assert doc._.corrected_text == "A jalapeño at the café, a façade, über and señor: network."


@requires_shipped
def test_correct_names_is_opt_in_and_skips_repeated_forms():
    text = "The team flew to Germnay on Monday ."
    default = spacy.blank("en")
    default.add_pipe("char_spell")
    assert default(text)._.corrected_text == text
    names = spacy.blank("en")
    names.add_pipe("char_spell", config={"correct_names": True})
    doc = names(text)
    assert doc[4].norm_ == "germany"
    assert doc._.corrected_text == "The team flew to Germany on Monday ."
    assert names("SOCCER - GERMNAY BEAT SPAIN")._.corrected_text == "SOCCER - GERMANY BEAT SPAIN"
    # A form the document repeats is taken for a real name.
    repeated = "The team flew to Germnay and Germnay won ."
    assert names(repeated)._.corrected_text == repeated


@requires_shipped
def test_correct_names_reads_the_spelling_a_document_repeats():
    nlp = spacy.blank("en")
    nlp.add_pipe("char_spell", config={"correct_names": True})
    # "Akram" is in no lexicon: the form the document repeats is the spelling.
    doc = nlp("Wasim Akram took five wickets . Akarm said Akram was happy . In LONDNO , rFance won .")
    changed = {t.text: t.norm_ for t in doc if t._.suggestions}
    assert changed == {"Akarm": "akram", "LONDNO": "london", "rFance": "france"}
    assert doc._.corrected_text.endswith("Akram said Akram was happy . In LONDON , France won .")
    # A name typo is corrected only by a confident winner (name_min_prob 0.9):
    # "rTent" -> trent (p 0.77) or rent or tent is left alone.
    assert not nlp("They met rTent there .")[2]._.suggestions
    plain = spacy.blank("en")
    plain.add_pipe("char_spell")
    assert not any(t._.suggestions for t in plain(doc.text))


def test_document_names_prefer_the_spelling_the_document_repeats_most():
    from spacy_rnn_ner.components.char_spell import DocumentNames

    nlp = spacy.blank("en")
    doc = nlp("Jansen and Janssen met . Janssen , Janssen , Jansen and Jamsen left . LONDON London Lndon")
    names = DocumentNames(doc, known={"london"})
    assert names.correction("Jamsen") == "jansen"  # "Janssen" is two edits away
    assert names.correction("Jansen") is None  # repeated: a spelling, not a typo
    assert names.correction("Lndon") == "london"  # a lexicon word, same casing pattern
    assert names.correction("Oslo") is None and names.correction("jamsen") is None


@requires_shipped
def test_domain_words_join_the_lexicon(tmp_path):
    from spacy.tokens import DocBin

    text = "Rain stopped play at Glamorgan and Glaforgan lost ."
    nlp = spacy.blank("en")
    speller = nlp.add_pipe("char_spell", config={"correct_names": True})
    before = nlp(text)
    assert speller.is_misspelling(before[4])  # an unknown name, taken for a typo
    assert before[6]._.suggestions is None  # no lexicon word near it
    corpus = DocBin(docs=[nlp.make_doc("Glamorgan beat Kent at Cardiff .")])
    corpus.to_disk(tmp_path / "train.spacy")
    speller.add_domain_words([tmp_path / "train.spacy"])
    doc = nlp(text)
    assert "glamorgan" in speller.lexicon and not speller.is_misspelling(doc[4])
    assert doc[6].norm_ == "glamorgan"
    # A word-count file works too, and the merged lexicon is saved with the pipeline.
    (tmp_path / "words.txt").write_text("wickets 3\nakram 2\n", encoding="utf8")
    speller.add_domain_words([tmp_path / "words.txt"])
    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline").get_pipe("char_spell")
    assert {"akram", "glamorgan", "wickets"} <= set(reloaded.lexicon.words())
    with pytest.raises(FileNotFoundError, match="missing.spacy"):
        speller.add_domain_words([tmp_path / "missing.spacy"])
    # A directory of DocBins, as spacy.Corpus.v1 reads it.
    (tmp_path / "corpus").mkdir()
    DocBin(docs=[nlp.make_doc("Okafor scored .")]).to_disk(tmp_path / "corpus" / "part1.spacy")
    speller.add_domain_words([tmp_path / "corpus"])
    assert "okafor" in speller.lexicon
    with pytest.raises(ValueError, match="no .spacy files"):
        speller.add_domain_words([tmp_path / "pipeline" / "vocab"])
    # A malformed word-count file is reported with its line.
    (tmp_path / "bad.txt").write_text("wickets 3\nakram\n", encoding="utf8")
    with pytest.raises(LexiconFormatError, match="bad.txt, line 2"):
        speller.add_domain_words([tmp_path / "bad.txt"])


@requires_shipped
def test_sentence_initial_capitalised_words_only_become_frequent_words(shipped_nlp):
    # "Leeson" is one edit from "lesson", but a sentence-initial name is likelier than a typo.
    assert shipped_nlp("Leeson said he would go .")._.corrected_text == "Leeson said he would go ."
    assert shipped_nlp("Teh cat sat on the mat .")._.corrected_text == "The cat sat on the mat ."


@requires_shipped
def test_rare_lexicon_words_that_are_likely_typos_are_corrected(shipped_nlp):
    """Real-word errors: "wonted" and "planed" are lexicon words, but rare ones with a
    far more likely word one edit away. Frequent words, clear rare words, capitalised
    and allow-listed words are left alone; rare_word_min_rank 0 turns this off."""
    speller = shipped_nlp.get_pipe("char_spell")
    assert "wonted" in speller.lexicon and speller.rank("wonted") >= speller.cfg["rare_word_min_rank"]
    assert speller.is_rare_word("wonted") and not speller.is_rare_word("desert") and not speller.is_rare_word("wnoted")
    assert speller.replaces_rare_word("wonted", speller.suggest(["wonted"])["wonted"])
    text = "She wonted to go and planed a trip to the desert."
    doc = shipped_nlp(text)
    assert doc._.corrected_text == "She wanted to go and planned a trip to the desert."
    assert doc.text == text and doc[1].norm_ == "wanted" and doc[1]._.suggestions[0][0] == "wanted"
    rare_but_right = "A marmoset sat on the gneiss near an ocelot."
    assert all(speller.rank(w) >= speller.cfg["rare_word_min_rank"] for w in ("marmoset", "gneiss", "ocelot"))
    assert shipped_nlp(rare_but_right)._.corrected_text == rare_but_right
    assert shipped_nlp("Wonted posters.")._.corrected_text == "Wonted posters."
    for config in ({"rare_word_min_rank": 0}, {"allow_list": ["wonted", "planed"]}):
        nlp = spacy.blank("en")
        nlp.add_pipe("char_spell", config=config)
        assert nlp(text)._.corrected_text == text


@requires_shipped
def test_allow_list(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("char_spell", config={"allow_list": ["networc"]})
    assert nlp("the networc is down")._.corrected_text == "the networc is down"


@requires_shipped
def test_doc_with_suggestions_serializes(shipped_nlp):
    doc = shipped_nlp("teh networc")
    data = doc.to_bytes()
    restored = Doc(shipped_nlp.vocab).from_bytes(data)
    assert restored._.corrected_text == "the network"
    assert restored[1]._.suggestions == doc[1]._.suggestions
    srsly.msgpack_dumps(doc[1]._.suggestions)


def _lexicon(tmp_path, words):
    path = tmp_path / "lexicon.txt"
    path.write_text("".join(f"{w} {count}\n" for w, count in words), encoding="utf-8")
    return path


TINY_WORDS = [("apple", 900), ("apply", 800), ("ample", 700), ("maple", 600), ("paper", 500), ("pepper", 400),
              ("zipper", 300), ("dipper", 200), ("copper", 100), ("hopper", 90)]
TRAINED_TYPOS = {"aple": "apple", "appple": "apple", "pappr": "paper", "peper": "pepper", "zipr": "zipper",
                 "dippr": "dipper", "coper": "copper", "hoppr": "hopper", "mapel": "maple", "ampel": "ample"}


@pytest.fixture(scope="module")
def tiny_nlp(tmp_path_factory):
    """A tiny char_spell trained on synthetic typos and real pairs of a 10-word lexicon."""
    import torch

    torch.set_num_threads(1)
    tmp_path = tmp_path_factory.mktemp("tiny_speller")
    lexicon = _lexicon(tmp_path, TINY_WORDS)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{t}\t{c}\n" for t, c in TRAINED_TYPOS.items()), encoding="utf-8")
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    config = {"pretrained": None, "lexicon": str(lexicon), "model": {"@architectures": "spacy_rnn_ner.CharSpeller.v1",
              "char_width": 16, "hidden_width": 32, "max_length": 20, "dropout": 0.0}}
    nlp.add_pipe("char_spell", config=config)
    corpus = create_typo_corpus(str(lexicon), pairs=[str(pairs)], n_examples=4, words_per_example=16, freq_power=0.0)
    nlp.initialize(lambda: itertools.islice(corpus(nlp), 2))
    optimizer = nlp.create_optimizer()
    optimizer.learn_rate = 0.01
    epoch_losses = []
    for _ in range(60):
        losses: dict = {}
        for example in corpus(nlp):
            nlp.update([example], sgd=optimizer, losses=losses)
        epoch_losses.append(losses["char_spell"])
    nlp.meta["test_epoch_losses"] = epoch_losses
    return nlp


def test_tiny_model_fixes_the_typos_it_was_trained_on(tiny_nlp):
    speller = tiny_nlp.get_pipe("char_spell")
    suggestions = speller.suggest(sorted(TRAINED_TYPOS))
    fixed = sum(suggestions[typo][0][0] == right for typo, right in TRAINED_TYPOS.items())
    assert fixed >= 9, {t: s[:2] for t, s in suggestions.items()}
    doc = tiny_nlp("aple and peper and 42 apple")
    assert doc._.corrected_text == "apple and pepper and 42 apple"


def test_training_reduces_loss_and_scores(tiny_nlp):
    from spacy_rnn_ner.corpora.typos import make_typo_example

    losses = tiny_nlp.meta["test_epoch_losses"]
    assert sum(losses[-5:]) / 5 < losses[0] / 2, losses  # new synthetic typos every epoch: noisy
    examples = [make_typo_example(tiny_nlp.vocab, list(TRAINED_TYPOS.items()))]
    scores = tiny_nlp.evaluate(examples)
    assert scores["spell_acc"] >= 0.9
    assert scores["spell_broken"] == 0.0


def _outputs(nlp, texts):
    return [[(t.norm_, t._.suggestions) for t in doc] + [doc._.corrected_text] for doc in nlp.pipe(texts)]


def test_to_disk_from_disk_and_bytes_roundtrip(tiny_nlp, tmp_path):
    texts = ["aple peper", "zipr mapel apple", "dippr hoppr coper"]
    before = _outputs(tiny_nlp, texts)
    tiny_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert _outputs(loaded, texts) == before
    blank = spacy.blank("en")
    config = dict(tiny_nlp.get_pipe_config("char_spell"))
    config.pop("factory")
    blank.add_pipe("char_spell", config=config)
    blank.get_pipe("char_spell").from_bytes(tiny_nlp.get_pipe("char_spell").to_bytes())
    assert _outputs(blank, texts) == before


def test_missing_lexicon_names_the_file(tmp_path):
    nlp = spacy.blank("en")
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        nlp.add_pipe("char_spell", config={"pretrained": None, "lexicon": str(missing)}).initialize(lambda: [])


def test_malformed_lexicon_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("apple 10\npaper ten\n", encoding="utf-8")
    with pytest.raises(LexiconFormatError, match=r"bad.txt, line 2: count 'ten' is not a number"):
        Lexicon.from_disk(path)
    path.write_text("apple 10\n\nthree fields here\n", encoding="utf-8")
    with pytest.raises(LexiconFormatError, match=r"bad.txt, line 3: expected 'word count'"):
        Lexicon.from_disk(path)
    nlp = spacy.blank("en")
    speller = nlp.add_pipe("char_spell", config={"pretrained": None, "lexicon": str(path)})
    with pytest.raises(LexiconFormatError, match="bad.txt, line 3"):
        speller.initialize(lambda: [])


@requires_shipped
def test_malformed_lexicon_replacing_the_shipped_one(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("apple 10\napple\n", encoding="utf-8")
    with pytest.raises(LexiconFormatError, match="bad.txt, line 2"):
        spacy.blank("en").add_pipe("char_spell", config={"lexicon": str(path)})


def test_missing_pretrained_model_is_reported(tmp_path):
    nlp = spacy.blank("en")
    speller = nlp.add_pipe("char_spell", config={"pretrained": str(tmp_path / "no_model")})
    with pytest.raises(ValueError, match="pretrained model '.*no_model' not found"):
        nlp("A networc.")
    with pytest.raises(ValueError, match="pretrained model '.*no_model' not found"):
        speller.initialize(lambda: [])


def test_saved_pipeline_loads_without_its_pretrained_directory(tiny_nlp, tmp_path):
    import shutil

    texts = ["aple peper", "zipr mapel apple"]
    tiny_nlp.get_pipe("char_spell").to_disk(tmp_path / "speller")
    nlp = spacy.blank("en")
    nlp.add_pipe("char_spell", config={"pretrained": str(tmp_path / "speller")})
    before = _outputs(nlp, texts)
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(tmp_path / "speller")
    assert _outputs(spacy.load(tmp_path / "pipeline"), texts) == before


def test_settings_given_at_load_time_win_over_saved_ones(tiny_nlp, tmp_path):
    speller = tiny_nlp.get_pipe("char_spell")
    phonetic = speller.cfg["phonetic_max_distance"]
    speller.cfg["phonetic_max_distance"] = 5  # saved, then overridden at load time
    try:
        tiny_nlp.to_disk(tmp_path / "pipeline")
    finally:
        speller.cfg["phonetic_max_distance"] = phonetic
    assert tiny_nlp("aple").text != tiny_nlp("aple")._.corrected_text
    overrides = {
        "components.char_spell.min_length": 10, "components.char_spell.allow_list": ["aple"],
        "components.char_spell.phonetic_max_distance": 0,
    }
    loaded = spacy.load(tmp_path / "pipeline", config=overrides)
    speller = loaded.get_pipe("char_spell")
    assert speller.cfg["min_length"] == 10 and speller.cfg["allow_list"] == ["aple"]
    assert speller.cfg["phonetic_max_distance"] == 0
    assert loaded("aple")._.corrected_text == "aple"
    # what was learned still comes from the saved model
    assert speller.cfg["ranking"] == pytest.approx(tiny_nlp.get_pipe("char_spell").cfg["ranking"])  # JSON floats


def test_constrained_beam_search_only_yields_lexicon_words(tiny_nlp):
    from spacy_rnn_ner.models.speller import constrained_beam_search

    speller = tiny_nlp.get_pipe("char_spell")
    results = constrained_beam_search(speller.model, "aaplle", speller.trie, beam_size=4)
    assert results and all(word in speller.lexicon for word, _ in results)
    assert [score for _, score in results] == sorted((score for _, score in results), reverse=True)


def test_far_typo_uses_the_beam_of_a_posterior_model_only(tiny_nlp):
    speller = tiny_nlp.get_pipe("char_spell")
    assert not speller.candidates("zzipppeerr")  # beyond max_edit_distance, and zipper is 4 edits away
    speller.clear_cache()
    assert speller.model.attrs["direction"] == "channel"
    assert speller.suggest(["zzipppeerr"])["zzipppeerr"] == []  # a channel model cannot spell words: left alone
    speller.model.attrs["direction"] = "posterior"  # the same code path as a posterior model
    try:
        speller.clear_cache()
        suggestions = speller.suggest(["zzipppeerr"])["zzipppeerr"]
    finally:
        speller.model.attrs["direction"] = "channel"
        speller.clear_cache()
    assert suggestions and suggestions[0][0] == "zipper"
    assert all(word in speller.lexicon for word, _ in suggestions)


@requires_shipped
def test_shipped_model_is_a_noisy_channel_model(shipped_nlp):
    speller = shipped_nlp.get_pipe("char_spell")
    assert speller.model.attrs["direction"] == speller.cfg["direction"] == "channel"
    assert len(speller.lexicon) == 80000


def test_spell_build_saves_the_averaged_weights(tmp_path):
    """`spell_build --use-averages` saves the optimizer's parameter averages, and the
    speller in memory keeps its last weights. The saved speller has non-default widths:
    `pretrained` rebuilds the torch model from the widths stored in its cfg."""
    import torch

    from spacy_rnn_ner.models.spell_build import save_tuned, train
    from spacy_rnn_ner.models.torch_bridge import torch_module

    torch.set_num_threads(1)
    spacy.util.fix_random_seed(0)
    lexicon = _lexicon(tmp_path, TINY_WORDS)
    nlp = spacy.blank("en")
    config = {"pretrained": None, "lexicon": str(lexicon), "model": {"@architectures": "spacy_rnn_ner.CharSpeller.v1",
              "char_width": 8, "hidden_width": 16, "max_length": 20, "dropout": 0.0}}
    speller = nlp.add_pipe("char_spell", config=config)
    corpus = create_typo_corpus(str(lexicon), n_examples=3, words_per_example=8, freq_power=0.0)
    nlp.initialize(lambda: itertools.islice(corpus(nlp), 2))
    optimizer = train(nlp, corpus, seconds=0.0, learn_rate=0.01)  # one update
    for _ in range(3):
        nlp.update(list(corpus(nlp)), sgd=optimizer)
    module = torch_module(_torch_wrapper(speller.model))
    last = {name: value.detach().clone() for name, value in module.named_parameters()}
    save_tuned(nlp, speller, list(TRAINED_TYPOS.items()), tmp_path / "averaged", optimizer.averages)
    for name, value in module.named_parameters():
        assert torch.equal(value, last[name]), f"{name} was not restored"
    reloaded = spacy.blank("en").add_pipe("char_spell", config={"pretrained": str(tmp_path / "averaged")})
    saved = torch_module(_torch_wrapper(reloaded.model))
    shim_id = _torch_wrapper(speller.model).shims[0].id
    for name, value in saved.named_parameters():
        assert value.detach().numpy() == pytest.approx(optimizer.averages[(shim_id, name)], abs=1e-6), name
    assert any(not torch.equal(value, last[name]) for name, value in saved.named_parameters())


def _torch_wrapper(model):
    return [node for node in model.walk() if node.shims][0]


@requires_shipped
def test_suggestion_cache_drops_the_least_recently_used_word(shipped_nlp, monkeypatch):
    import spacy_rnn_ner.components.char_spell as char_spell

    speller = shipped_nlp.get_pipe("char_spell")
    speller.clear_cache()
    monkeypatch.setattr(char_spell, "CACHE_SIZE", 2)
    first = speller.suggest(["recieved"])["recieved"]
    speller.suggest(["pakage"])
    # a hit moves "recieved" to the end, so the next word evicts "pakage"
    assert speller.suggest(["recieved", "networc"]) == {"recieved": first, "networc": speller._lookups.suggestions["networc"]}
    assert list(speller._lookups.suggestions) == ["recieved", "networc"]
    # a cached word evicted during the call that asks for it is still answered
    result = speller.suggest(["recieved", "pakage", "teh", "pakage"])
    assert set(result) == {"recieved", "pakage", "teh"} and result["recieved"] == first
    assert len(speller._lookups.suggestions) == 2
    speller.clear_cache()


def test_suggestions_are_safe_to_share_between_threads(tiny_nlp, monkeypatch):
    """Threads sharing one pipeline evict and clear each other's cache entries
    while they read them: every call still answers every word, as one thread would."""
    import sys
    import threading

    import spacy_rnn_ner.components.char_spell as char_spell

    speller = tiny_nlp.get_pipe("char_spell")
    # the cache is what is tested: a fast stand-in for the model's ranking
    monkeypatch.setattr(speller, "_rank", lambda words: [[(word[::-1], 1.0)] for word in words])
    monkeypatch.setattr(char_spell, "CACHE_SIZE", 2)
    words = [f"word{i}" for i in range(7)]
    errors: list = []

    def work(offset: int) -> None:
        try:
            for i in range(10000):
                batch = [words[(offset + i + k) % len(words)] for k in range(3)]
                if i % 97 == 0:
                    speller.clear_cache()
                if speller.suggest(batch) != {word: [(word[::-1], 1.0)] for word in batch}:
                    errors.append(f"wrong answer for {batch}")
        except Exception as err:  # pragma: no cover - the failure this test looks for
            errors.append(repr(err))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        speller.clear_cache()
    assert errors == []


def test_a_new_lexicon_never_serves_what_the_old_one_ranked(tiny_nlp, monkeypatch):
    """A thread ranks words with the old lexicon while another sets a new one: what
    the first computed is answered to its own call but never cached for the new
    lexicon, nor is an index built from the old one."""
    from spacy_rnn_ner.spelling.lexicon import Lexicon

    speller = tiny_nlp.get_pipe("char_spell")
    old_lexicon = speller.lexicon
    new_lexicon = Lexicon({"zzz": 5, **old_lexicon.counts})
    rank = speller._rank

    def rank_while_the_lexicon_changes(words):
        ranked = rank(words)
        _ = speller.index  # built from the lexicon in use
        speller.set_lexicon(new_lexicon)  # meanwhile, in another thread
        return [[("stale", 1.0)] for _ in ranked]

    monkeypatch.setattr(speller, "_rank", rank_while_the_lexicon_changes)
    try:
        assert speller.suggest(["aple"]) == {"aple": [("stale", 1.0)]}
        assert speller.lexicon is new_lexicon
        assert dict(speller._lookups.suggestions) == {} and speller._lookups.index is None
        assert ("zzz", 0) in speller.index.lookup("zzz")
        monkeypatch.setattr(speller, "_rank", rank)
        assert speller.suggest(["aple"])["aple"][0][0] == "apple"
    finally:
        speller.set_lexicon(old_lexicon)


def test_pipeline_pickles_and_deep_copies(tiny_nlp):
    """As spaCy pipelines do (multiprocessing with spawn pickles them): the copy
    corrects like the original."""
    import copy
    import pickle

    texts = ["I recieved the pakage", "the networc is down"]
    expected = _outputs(tiny_nlp, texts)
    for clone in (pickle.loads(pickle.dumps(tiny_nlp)), copy.deepcopy(tiny_nlp)):
        assert _outputs(clone, texts) == expected


def test_serialization_honours_exclude(tiny_nlp, tmp_path):
    speller = tiny_nlp.get_pipe("char_spell")
    whole, without_model = speller.to_bytes(), speller.to_bytes(exclude=["model"])
    assert len(without_model) < len(whole) - 1000
    speller.to_disk(tmp_path / "parts", exclude=["model", "lexicon"])
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["cfg"]
    # loading without "lexicon" keeps the lexicon the component has
    other = spacy.blank("en").add_pipe("char_spell")
    shipped_words = len(other.lexicon.counts)
    other.from_bytes(whole, exclude=["lexicon"])
    assert len(other.lexicon.counts) == shipped_words != len(speller.lexicon.counts)
    assert other.cfg["chars"] == speller.cfg["chars"]


def test_spell_scorer_counts_changed_tokens():
    from spacy_rnn_ner.components.char_spell import score_spelling

    vocab = spacy.blank("en").vocab
    words = ["teh", "cat", "sat", "quietly"]
    reference, predicted = Doc(vocab, words=words), Doc(vocab, words=words)
    reference[0].norm_ = "the"
    predicted[0].norm_ = "the"  # a typo fixed
    predicted[3].norm_ = "quickly"  # a correct word broken
    scores = score_spelling([Example(predicted, reference)])
    assert scores == {"spell_acc": 1.0, "spell_broken": 1 / 3, "spell_changed": 2 / 4}


def test_real_pairs_mix_with_fewer_pairs_than_a_batch():
    from spacy_rnn_ner.models.spell_build import mix_real_pairs

    nlp = spacy.blank("en")
    synthetic = lambda nlp: iter([Example(Doc(nlp.vocab, words=["teh"]), Doc(nlp.vocab, words=["teh"]))] * 20)
    real = [("recieve", "receive"), ("adress", "address"), ("wich", "which")]
    batches = list(mix_real_pairs(synthetic, real, share=0.5, batch_words=8, seed=0)(nlp))
    real_batches = [eg for eg in batches if len(eg.predicted) == 8]
    assert len(batches) > 20 and real_batches
    assert {t.text for eg in real_batches for t in eg.predicted} == {"recieve", "adress", "wich"}
    with pytest.raises(ValueError, match="real-share"):
        mix_real_pairs(synthetic, real, share=1.0, batch_words=8, seed=0)


def test_domain_word_counts_add_up_across_casing_and_corpora(tmp_path):
    from spacy_rnn_ner.spelling.lexicon import Lexicon

    base = Lexicon({"the": 100.0})
    merged = base.with_domain_words({"Apple": 9, "apple": 1, "pear": 10})
    assert merged.counts["apple"] == pytest.approx(merged.counts["pear"])  # 9 + 1 = 10
    (tmp_path / "a.txt").write_text("x 1\n", encoding="utf8")
    (tmp_path / "b.txt").write_text("y 1\n", encoding="utf8")
    spellers = []
    for order in (["a.txt", "b.txt"], ["b.txt", "a.txt"]):
        speller = spacy.blank("en").add_pipe("char_spell")
        speller.set_lexicon(base)
        speller.add_domain_words([tmp_path / name for name in order])
        spellers.append(speller.lexicon.counts)
    assert spellers[0] == spellers[1] and spellers[0]["x"] == spellers[0]["y"]
