"""Batch annotation: streaming readers and resumable writers, and the engines that run a pipeline over them.

Used by `python -m spacy_rnn_ner annotate`; see docs/batch.md.
"""
