"""Shared fixtures: the sample corpus, a small trained pipeline, ../shared data."""
import random
from pathlib import Path
from typing import List

import pytest
import spacy
import torch
from spacy.language import Language
from spacy.training import Example
from spacy.training.batchers import minibatch_by_words
from spacy.util import load_config

from spacy_rnn_ner.corpora.iob import create_iob_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
CONFIGS = ROOT / "configs"
SHARED = ROOT.parent / "shared"

# One torch thread: deterministic timings on CI's 2 cores, and no oversubscription
# when tests start worker processes.
torch.set_num_threads(1)

requires_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared data is not available")


def small_rnn_ner_config() -> dict:
    """The rnn_ner component config of configs/rnn_ner.cfg, shrunk for fast tests."""
    config = load_config(CONFIGS / "rnn_ner.cfg")
    component = dict(config["components"]["rnn_ner"])
    component.pop("factory")
    component["model"]["hidden_width"] = 64
    component["model"]["tok2vec"]["width"] = 64
    component["model"]["tok2vec"]["rows"] = [500, 1000, 200]
    component["model"]["tok2vec"]["word_width"] = 64
    component["model"]["tok2vec"]["word_rows"] = 5000
    component["model"]["lm_vocab_size"] = 500
    component["model"]["lm_width"] = 16
    return component


def read_examples(nlp: Language, name: str) -> List[Example]:
    return list(create_iob_corpus(CORPUS / name)(nlp))


def train_pipeline(nlp: Language, examples: List[Example], n_epochs: int, seed: int = 0) -> Language:
    """Initialize and train every component on the examples, in batches of ~500 words."""
    random.seed(seed)
    spacy.util.fix_random_seed(seed)
    nlp.initialize(lambda: examples)
    optimizer = nlp.create_optimizer()
    for _ in range(n_epochs):
        random.shuffle(examples)
        for batch in minibatch_by_words(examples, size=500):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    return nlp


@pytest.fixture(scope="session")
def trained_nlp_path(tmp_path_factory) -> Path:
    """A small rnn_ner pipeline trained on corpus/train.iob, saved to disk."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_ner", config=small_rnn_ner_config())
    train_pipeline(nlp, read_examples(nlp, "train.iob"), n_epochs=8)
    path = tmp_path_factory.mktemp("models") / "rnn_ner_sample"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="session")
def trained_nlp(trained_nlp_path) -> Language:
    return spacy.load(trained_nlp_path)
