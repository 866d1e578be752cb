"""Corpus readers registered for `spacy train`."""
