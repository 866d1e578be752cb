"""Tag schemes (BIO, BILUO): tag inventories, transition constraints and
conversion between gold entity annotation and tag-id masks.

Pure Python and numpy: no torch here.
"""
from typing import Container, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from spacy.training.iob_utils import biluo_to_iob, offsets_to_biluo_tags

SCHEMES = ("BIO", "BILUO")
OUTSIDE = "O"


def validate_scheme(scheme: str) -> str:
    """Return the canonical scheme name, or raise a ValueError naming the options."""
    upper = scheme.upper()
    if upper not in SCHEMES:
        raise ValueError(f"Unknown tag scheme '{scheme}': expected one of {', '.join(SCHEMES)}.")
    return upper


def make_tag_names(labels: Sequence[str], scheme: str) -> List[str]:
    """Build the tag inventory: 'O' first, then each label's prefixed tags."""
    prefixes = "BI" if validate_scheme(scheme) == "BIO" else "BILU"
    return [OUTSIDE] + [f"{prefix}-{label}" for label in labels for prefix in prefixes]


def split_tag(tag: str) -> Tuple[str, str]:
    """Split 'B-PER' into ('B', 'PER'); 'O' gives ('O', '')."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, label = tag.partition("-")
    return prefix, label


def _allowed_pair(prev: str, cur: str, scheme: str) -> bool:
    prev_prefix, prev_label = split_tag(prev)
    cur_prefix, cur_label = split_tag(cur)
    if scheme == "BIO":
        if cur_prefix == "I":
            return prev_prefix in ("B", "I") and prev_label == cur_label
        return True
    # BILUO: an open entity (B, I) must continue with I or L of the same label.
    if prev_prefix in ("B", "I"):
        return cur_prefix in ("I", "L") and cur_label == prev_label
    return cur_prefix in ("B", "U", OUTSIDE)


def transition_constraints(
    tag_names: Sequence[str], scheme: str
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return boolean masks of allowed (prev, cur) transitions, start tags and end tags."""
    scheme = validate_scheme(scheme)
    n_tags = len(tag_names)
    allowed = numpy.zeros((n_tags, n_tags), dtype=bool)
    for i, prev in enumerate(tag_names):
        for j, cur in enumerate(tag_names):
            allowed[i, j] = _allowed_pair(prev, cur, scheme)
    prefixes = [split_tag(tag)[0] for tag in tag_names]
    if scheme == "BIO":
        start = numpy.array([p != "I" for p in prefixes])
        end = numpy.ones(n_tags, dtype=bool)
    else:
        start = numpy.array([p in ("B", "U", OUTSIDE) for p in prefixes])
        end = numpy.array([p in ("L", "U", OUTSIDE) for p in prefixes])
    return allowed, start, end


def whitespace_penalty(tag_names: Sequence[str], scheme: str, penalty: float = -10000.0) -> numpy.ndarray:
    """Score offsets for whitespace tokens: only 'O' and entity-inside tags stay allowed."""
    validate_scheme(scheme)
    return numpy.array(
        [0.0 if split_tag(tag)[0] in (OUTSIDE, "I") else penalty for tag in tag_names], dtype="f"
    )


def gold_tag_mask(
    biluo_tags: Sequence[Optional[str]], tag_names: Sequence[str], scheme: str
) -> numpy.ndarray:
    """Turn aligned gold BILUO tags into a (n_tokens, n_tags) mask of allowed tags.

    Tokens whose gold tag is unknown (None from misalignment, '-' for missing
    annotation) allow every tag, so the CRF marginalises over them instead of
    learning a wrong 'O'. Labels the model does not know are treated as unknown.
    """
    n_tags = len(tag_names)
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    tags = _to_scheme(biluo_tags, scheme)
    mask = numpy.ones((len(tags), n_tags), dtype=bool)
    for i, tag in enumerate(tags):
        if tag is None or tag == "-" or tag == "":
            continue
        tag_id = tag_ids.get(tag)
        if tag_id is not None:
            mask[i] = False
            mask[i, tag_id] = True
    return mask


def preset_tag_mask(doc: Doc, labels: Container[str], tag_names: Sequence[str], scheme: str) -> numpy.ndarray:
    """(n_tokens, n_tags) mask of the tags allowed by the entities already in `doc.ents`.

    A preset entity with a known label allows only its own tags; one with a label
    the model does not know makes its tokens 'O' (it is kept as it is). Tokens
    outside preset entities allow every tag.
    """
    known = [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents if ent.label_ in labels]
    biluo: List[Optional[str]] = offsets_to_biluo_tags(doc, known, missing="-")
    for ent in doc.ents:
        if ent.label_ not in labels:
            biluo[ent.start : ent.end] = [OUTSIDE] * len(ent)
    return gold_tag_mask(biluo, tag_names, scheme)


def _to_scheme(biluo_tags: Sequence[Optional[str]], scheme: str) -> List[Optional[str]]:
    if validate_scheme(scheme) == "BILUO":
        return list(biluo_tags)
    return biluo_to_iob(biluo_tags)


def tag_spans(tags: numpy.ndarray, tag_names: Sequence[str], scheme: str) -> List[Tuple[int, int, str]]:
    """(start, end, label) of each entity in a valid tag-id sequence, vectorized."""
    prefixes = numpy.array([split_tag(tag)[0] for tag in tag_names])[tags]
    if validate_scheme(scheme) == "BILUO":
        starts = numpy.flatnonzero((prefixes == "B") | (prefixes == "U"))
        ends = numpy.flatnonzero((prefixes == "L") | (prefixes == "U")) + 1
    else:
        starts = numpy.flatnonzero(prefixes == "B")
        inside = (prefixes == "B") | (prefixes == "I")
        continues = numpy.append(prefixes[1:] == "I", False)
        ends = numpy.flatnonzero(inside & ~continues) + 1
    if len(starts) != len(ends) or numpy.any(ends <= starts):
        raise ValueError(f"Invalid {scheme} tag sequence: {[tag_names[t] for t in tags]}")
    return [(int(s), int(e), split_tag(tag_names[tags[s]])[1]) for s, e in zip(starts, ends)]
