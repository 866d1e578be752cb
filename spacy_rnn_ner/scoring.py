"""Entity scores from seqeval next to spaCy's `ents_*` scores.

`spacy_rnn_ner.seqeval_scorer.v1` returns everything `spacy.ner_scorer.v1`
returns (`ents_p`, `ents_r`, `ents_f`, `ents_per_type`) plus:

- `seqeval_p`, `seqeval_r`, `seqeval_f`: micro scores in seqeval's default
  mode, which matches the conlleval script;
- `seqeval_strict_p`, `seqeval_strict_r`, `seqeval_strict_f`: strict mode
  (IOB2 scheme; an entity counts only with its exact tags);
- `seqeval_per_type`, `seqeval_strict_per_type`: {label: {"p", "r", "f", "support"}}.

Tags are read per document on the predicted tokenization: gold entities are
aligned to the predicted tokens (`Example.get_aligned_ner`). As in spaCy's
scorer, documents without entity annotation are skipped, and a predicted entity
on gold tokens without entity annotation is neither right nor wrong: it is
left out. A gold entity that cannot be aligned to
the predicted tokens is not seen by seqeval (spaCy's `ents_r` counts it as
missed). With gold tokenization, `seqeval_f` equals `ents_f`.

Use it from a config:
    [components.rnn_ner.scorer]
    @scorers = "spacy_rnn_ner.seqeval_scorer.v1"
"""
import warnings
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.iob_utils import biluo_to_iob, doc_to_biluo_tags
from spacy.util import registry

Tags = List[List[str]]


@registry.scorers("spacy_rnn_ner.seqeval_scorer.v1")
def make_seqeval_scorer() -> Callable[..., Dict[str, Any]]:
    """Return a scorer giving spaCy's ents_* scores and seqeval's scores."""
    return seqeval_ner_score


def seqeval_ner_score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """Score entities with spaCy's get_ner_prf and with seqeval (default and strict mode)."""
    examples = list(examples)
    scores: Dict[str, Any] = dict(get_ner_prf(examples, **kwargs))
    y_true, y_pred = examples_to_iob(examples)
    scores.update(seqeval_scores(y_true, y_pred, prefix="seqeval"))
    scores.update(seqeval_scores(y_true, y_pred, prefix="seqeval_strict", strict=True))
    return scores


def examples_to_iob(examples: Iterable[Example]) -> Tuple[Tags, Tags]:
    """Return gold and predicted IOB2 tags, one list per example, on the predicted tokens."""
    y_true: Tags = []
    y_pred: Tags = []
    for example in examples:
        if not example.reference.has_annotation("ENT_IOB"):
            continue
        gold = [tag if tag and tag != "-" else "O" for tag in example.get_aligned_ner()]
        y_true.append(biluo_to_iob(gold))
        y_pred.append(_without_unannotated(example, doc_to_iob(example.predicted)))
    return y_true, y_pred


def _without_unannotated(example: Example, predicted: List[str]) -> List[str]:
    """Drop predicted entities on gold tokens without entity annotation (spaCy's rule)."""
    gold_iob = example.reference.to_array("ENT_IOB")
    if gold_iob.all():
        return predicted
    x2y = example.alignment.x2y
    for ent in example.predicted.ents:
        indices = x2y[ent.start : ent.end]  # gold token indices (AlignmentArray)
        if len(indices) and not gold_iob[indices[0] : indices[-1] + 1].all():
            predicted[ent.start : ent.end] = ["O"] * len(ent)
    return predicted


def doc_to_iob(doc: Doc) -> List[str]:
    """The IOB2 tags of a Doc's entities ("O" where the doc has no annotation)."""
    return biluo_to_iob([tag if tag != "-" else "O" for tag in doc_to_biluo_tags(doc, missing="O")])


def seqeval_scores(y_true: Tags, y_pred: Tags, prefix: str = "seqeval", strict: bool = False) -> Dict[str, Any]:
    """Micro P/R/F and per-type scores from seqeval, as plain floats, keys starting with `prefix`."""
    report = seqeval_report(y_true, y_pred, strict=strict)
    micro = report.pop("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    per_type = {
        label: {"p": values["precision"], "r": values["recall"], "f": values["f1-score"], "support": values["support"]}
        for label, values in report.items()
        if not label.endswith(" avg")
    }
    return {
        f"{prefix}_p": micro["precision"],
        f"{prefix}_r": micro["recall"],
        f"{prefix}_f": micro["f1-score"],
        f"{prefix}_per_type": per_type,
    }


def seqeval_report(y_true: Tags, y_pred: Tags, strict: bool = False) -> Dict[str, Dict[str, float]]:
    """seqeval's classification report as a dict of plain floats; empty without entities."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if not _has_entities(y_true) and not _has_entities(y_pred):
        return {}
    options: Dict[str, Any] = {"mode": "strict", "scheme": IOB2} if strict else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **options)
    return {
        label: {key: float(value) for key, value in values.items()}
        for label, values in report.items()
    }


def text_report(y_true: Tags, y_pred: Tags, strict: bool = False, digits: int = 4) -> str:
    """seqeval's printed per-type report."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if not _has_entities(y_true) and not _has_entities(y_pred):
        return "(no entities in gold or predictions)"
    options: Dict[str, Any] = {"mode": "strict", "scheme": IOB2} if strict else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(y_true, y_pred, digits=digits, zero_division=0, **options)


def _has_entities(tags: Sequence[Sequence[str]]) -> bool:
    return any(tag != "O" for sequence in tags for tag in sequence)
