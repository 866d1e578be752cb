"""spacy-rnn-ner: BiRNN-CRF entity recognition and char-level spelling for spaCy.

Importing this package is cheap and never imports torch: spaCy loads our
factories each time a pipeline is created, so heavy imports happen only when a
model is actually built.
"""

__version__ = "0.1.0"
