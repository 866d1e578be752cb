"""Typo augmenter: misspell some words of training Examples, keeping annotations aligned.

Registered as `spacy_rnn_ner.typo_augmenter.v1` (spaCy's `augmenters` registry),
for `[corpora.train.augmenter]`, so that rnn_ner also learns from noisy text.
Only the token texts change: the token count, whitespace and every
token-level annotation (entities, tags, sentence starts) stay where they were.
"""
import random
from typing import Callable, Iterator, List

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from .spelling.typos import TypoGenerator


@registry.augmenters("spacy_rnn_ner.typo_augmenter.v1")
def create_typo_augmenter(
    level: float = 0.5,
    prob: float = 0.1,
    min_length: int = 4,
    keep_original: bool = True,
    seed: int = 0,
) -> Callable[[Language, Example], Iterator[Example]]:
    """Create an augmenter that misspells words.

    level (float): Share of Examples that get a noisy copy.
    prob (float): Probability of misspelling each alphabetic token of at least `min_length` letters.
    min_length (int): Shortest word that may be misspelt.
    keep_original (bool): Also yield the unchanged Example.
    seed (int): Random seed.
    """
    rng = random.Random(seed)
    generator = TypoGenerator(seed=seed)

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        if keep_original:
            yield example
        if rng.random() >= level:
            if not keep_original:
                yield example
            return
        words = [t.text for t in example.reference]
        noisy = [generator(w) if len(w) >= min_length and w.isalpha() and rng.random() < prob else w for w in words]
        if noisy == words:
            if keep_original:
                return
            yield example
            return
        yield replace_words(nlp, example, noisy)

    return augment


def replace_words(nlp: Language, example: Example, words: List[str]) -> Example:
    """A copy of `example` whose reference tokens read `words` (same count), annotations kept.

    The reference is rebuilt token by token: entities (missing annotation stays
    missing), KB ids, tags, lemmas, morphology, parses or sentence starts, and NORM
    (so a misspelt token keeps the norm of the word meant) are copied, span groups
    by token index, and categories.
    """
    reference = example.reference
    if len(words) != len(reference):
        raise ValueError(f"replace_words needs {len(reference)} words, got {len(words)}.")
    spaces = [bool(t.whitespace_) for t in reference]
    noisy_reference = Doc(reference.vocab, words=words, spaces=spaces)
    attrs = _token_attrs(reference)
    noisy_reference.from_array(attrs, reference.to_array(attrs))
    for key, group in reference.spans.items():
        noisy_reference.spans[key] = [
            Span(noisy_reference, span.start, span.end, label=span.label, kb_id=span.kb_id, span_id=span.id)
            for span in group
        ]
    noisy_reference.cats = dict(reference.cats)
    same_tokens = [t.text for t in example.predicted] == [t.text for t in reference]
    if same_tokens:
        predicted = Doc(nlp.vocab, words=words, spaces=spaces)
    else:
        predicted = nlp.make_doc(noisy_reference.text)
    return Example(predicted, noisy_reference)


def _token_attrs(doc: Doc) -> List[str]:
    """The token attributes to copy: entity columns always (0 keeps 'missing'), the
    others where annotated; a parse brings its own sentence starts."""
    attrs = ["NORM", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID", "ENT_ID"]
    attrs += [attr for attr in ("TAG", "POS", "MORPH", "LEMMA") if doc.has_annotation(attr)]
    if doc.has_annotation("DEP"):
        attrs += ["HEAD", "DEP"]
    elif doc.has_annotation("SENT_START"):
        attrs.append("SENT_START")
    return attrs
