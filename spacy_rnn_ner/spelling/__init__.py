"""Spelling helpers: lexicon, candidate index, typo generator (no torch imports)."""
