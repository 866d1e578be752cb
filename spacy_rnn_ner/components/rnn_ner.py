"""The `rnn_ner` component: BiRNN-CRF named entity recognition.

This module is imported by spaCy whenever a pipeline is created (through our
`spacy_factories` entry point), so it must stay light: torch is only imported
by the model builders and decoding functions, when a model is used.
"""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d

from .. import tags as tagging
from ..parallel import install_fork_hook

CONFIDENCE_ATTR = "confidence"
PRESET_PENALTY = -100000.0  # tag score outside what a preset entity allows

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_rnn_ner.BiRNNTagger.v3"
hidden_width = 512
depth = 1
rnn_type = "lstm"
dropout = 0.5
decoder = "crf"
window_size = 512
window_overlap = 64
batch_tokens = 32768
doc_pooling = true
lm_weight = 0.1
lm_vocab_size = 10000
lm_width = 64

[model.tok2vec]
@architectures = "spacy_rnn_ner.CharCNNEmbed.v4"
width = 128
attrs = ["PREFIX", "SUFFIX", "SHAPE"]
rows = [2000, 4000, 1000]
word_width = 100
word_rows = 30000
word_min_count = 1
rare_unknown_rate = 0.8
char_width = 30
char_filters = 50
char_window_widths = [3]
max_chars = 20
n_chars = 512
word_dropout = 0.2
read_corrections = false
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "rnn_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", f"span._.{CONFIDENCE_ATTR}"],
    default_config={
        "model": DEFAULT_MODEL,
        "tag_scheme": "BILUO",
        "confidence": True,
        "inference_precision": "auto",
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_rnn_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    tag_scheme: str,
    scorer: Optional[Callable],
    confidence: bool = True,
    inference_precision: str = "auto",
) -> "RNNEntityRecognizer":
    """Create an `rnn_ner` component: a BiRNN tagger with a CRF decoder.

    model (Model[List[Doc], List[Floats2d]]): A tagger scoring tags per token,
        such as spacy_rnn_ner.BiRNNTagger.v2.
    tag_scheme (str): "BILUO" or "BIO".
    scorer (Optional[Callable]): The scoring method; defaults to spaCy's ents scorer.
    confidence (bool): Whether to set `span._.confidence` on each entity. It lives
        in `doc.user_data`, which makes `Doc.to_bytes` slower: turn it off for
        `nlp.pipe(n_process>1)` if you do not need it.
    inference_precision (str): Precision of the RNN when predicting: "float32",
        "bfloat16", or "auto" (bfloat16 on CPUs with AMX, float32 elsewhere).
        Training always runs in float32.
    """
    return RNNEntityRecognizer(
        nlp.vocab,
        model,
        name,
        tag_scheme=tag_scheme,
        scorer=scorer,
        confidence=confidence,
        inference_precision=inference_precision,
    )


class RNNEntityRecognizer(TrainablePipe):
    """Tag entities with a BiRNN and a linear-chain CRF, writing `doc.ents`.

    Each predicted entity's probability under the CRF (the marginal probability
    of its exact tag sequence) is available as `span._.confidence`.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "rnn_ner",
        *,
        tag_scheme: str = "BILUO",
        scorer: Optional[Callable] = None,
        confidence: bool = True,
        inference_precision: str = "auto",
    ) -> None:
        from ..models.birnn import set_inference_precision

        set_inference_precision(model, inference_precision)
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {"labels": [], "tag_scheme": tagging.validate_scheme(tag_scheme)}
        self._space_penalty: Optional[numpy.ndarray] = None
        self.set_confidence = confidence
        # nlp.pipe(n_process>1) forks: give each worker one torch thread so it cannot hang.
        install_fork_hook()
        if not Span.has_extension(CONFIDENCE_ATTR):
            Span.set_extension(CONFIDENCE_ATTR, default=None)

    @property
    def labels(self) -> tuple:
        return tuple(self.cfg["labels"])

    @property
    def tag_names(self) -> List[str]:
        return tagging.make_tag_names(self.labels, self.cfg["tag_scheme"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    def add_label(self, label: str) -> int:
        """Add an entity label before initialization. Returns 1 if added, 0 if known."""
        if not isinstance(label, str):
            raise ValueError(f"Entity labels must be strings, got {label!r}.")
        if label in self.cfg["labels"]:
            return 0
        from ..models.birnn import has_encoder

        if has_encoder(self.model):
            raise ValueError(
                f"Cannot add label '{label}' to '{self.name}' after initialization: "
                "its output layer is sized for the labels it was initialized with."
            )
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Collect labels from the examples (or take `labels`) and build the model.

        Like spaCy's trainable components, a component initialized again (a trained
        one included) gets fresh weights; labels it had are kept, new ones added.
        """
        from ..models.birnn import drop_encoder

        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        drop_encoder(self.model)
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            for example in get_examples():
                for ent in example.reference.ents:
                    self.add_label(ent.label_)
        if not self.labels:
            raise ValueError(
                f"'{self.name}' found no entity labels: the training examples have no "
                "doc.ents and no labels were given in [initialize.components]."
            )
        self._build_encoder()
        sample = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=sample)
        self._set_vocabularies(get_examples)

    def _set_vocabularies(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        """Give a known-word table in our own model (CharCNNEmbed.v3) and the
        language-model heads (BiRNNTagger.v3) the vocabulary of all training
        examples, not only the initialization sample."""
        from ..models.birnn import has_language_model, set_lm_vocabulary
        from ..models.known_words import count_norms, has_known_word_table, set_known_words

        needs_table = has_known_word_table(self.model)
        if not (needs_table or has_language_model(self.model)):
            return
        counts = count_norms(eg.predicted for eg in get_examples())
        if needs_table:
            set_known_words(self.model, counts)
        if has_language_model(self.model):
            set_lm_vocabulary(self.model, counts)

    def _build_encoder(self) -> None:
        self._space_penalty = None
        from ..models.birnn import build_encoder

        tag_names = self.tag_names
        constraints = tagging.transition_constraints(tag_names, self.cfg["tag_scheme"])
        build_encoder(self.model, len(tag_names), constraints)

    def predict(self, docs: Iterable[Doc]) -> List[Any]:
        """Decode the best tag sequence of each doc, with path marginals."""
        from ..models.birnn import decode

        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return [None for _ in docs]
        scores = self.model.predict(docs)
        if self._space_penalty is None:
            penalty = tagging.whitespace_penalty(self.tag_names, self.cfg["tag_scheme"])
            self._space_penalty = self.model.ops.asarray1f(penalty)
        for doc, doc_scores in zip(docs, scores):
            _forbid_entity_edges_on_space(doc, doc_scores, self._space_penalty)
            if doc.ents:
                self._keep_preset_ents(doc, doc_scores)
        return decode(self.model, scores)

    def _keep_preset_ents(self, doc: Doc, scores: Floats2d) -> None:
        """Entities set before this component (e.g. by an entity_ruler) constrain
        decoding, as in spaCy's `ner`: their tokens may only take their tags."""
        mask = tagging.preset_tag_mask(doc, set(self.labels), self.tag_names, self.cfg["tag_scheme"])
        xp = self.model.ops.xp
        scores[...] = xp.where(xp.asarray(mask), scores, xp.asarray(PRESET_PENALTY, dtype=scores.dtype))

    def set_annotations(self, docs: Iterable[Doc], decoded: List[Any]) -> None:
        """Write the predicted entities to doc.ents, with span._.confidence."""
        tag_names = self.tag_names
        scheme = self.cfg["tag_scheme"]
        for doc, result in zip(docs, decoded):
            if result is None or len(doc) == 0:
                doc.ents = []
                continue
            preset = list(doc.ents)  # kept as they are (see _keep_preset_ents)
            spans = []
            for start, end, label in tagging.tag_spans(result.tags, tag_names, scheme):
                start, end = _strip_space(doc, start, end)
                if start < end and not any(ent.start < end and start < ent.end for ent in preset):
                    spans.append(Span(doc, start, end, label=label))
            doc.ents = sorted(preset + spans, key=lambda span: span.start) if preset else spans
            if spans and self.set_confidence:
                # log P(span) = unary[s] + sum(pairwise[t] - unary[t], s <= t < e-1)
                steps = numpy.concatenate([[0.0], numpy.cumsum(result.pairwise - result.unary[:-1])])
                for span in spans:
                    log_prob = result.unary[span.start] + steps[span.end - 1] - steps[span.start]
                    span._.set(CONFIDENCE_ATTR, float(numpy.exp(min(0.0, log_prob))))

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples: CRF loss, backprop, and an optimizer step.

        The summed CRF loss is reported under the component's name; with a
        language-model objective (BiRNNTagger.v3), its loss (summed over tokens,
        times lm_weight) under "<name>_lm".
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        from ..models.birnn import pop_language_model_loss

        set_dropout_rate(self.model, drop)
        pop_language_model_loss(self.model)  # drop what passes outside update left
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        lm_loss = pop_language_model_loss(self.model)
        if lm_loss is not None:
            key = f"{self.name}_lm"
            losses[key] = losses.get(key, 0.0) + lm_loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: List[Floats2d]):
        """CRF negative log-likelihood of the gold entities and its gradient.

        Tokens whose gold annotation is missing or misaligned are marginalised.
        """
        from ..models.birnn import tagging_loss

        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.get_loss")
        tag_names = self.tag_names
        scheme = self.cfg["tag_scheme"]
        masks = [tagging.gold_tag_mask(eg.get_aligned_ner(), tag_names, scheme) for eg in examples]
        return tagging_loss(self.model, scores, masks)

    # Serialization: the torch layer's shapes come from the stored labels, so
    # it is rebuilt from cfg before the weights are loaded.

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize "cfg" and "model" (either may be excluded)."""
        self._validate_serialization_attrs()
        serializers = {"cfg": lambda: srsly.json_dumps(self.cfg), "model": lambda: self.model.to_bytes()}
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNEntityRecognizer":
        self._validate_serialization_attrs()
        deserializers = {
            "cfg": lambda data: self.cfg.update(srsly.json_loads(data)),
            "model": self._load_model,
        }
        util.from_bytes(bytes_data, deserializers, exclude)
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        """Write the files "cfg" and "model" (either may be excluded)."""
        serializers = {"cfg": lambda p: srsly.write_json(p, self.cfg), "model": lambda p: self.model.to_disk(p)}
        util.to_disk(path, serializers, exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "RNNEntityRecognizer":
        deserializers = {
            "cfg": lambda p: self.cfg.update(srsly.read_json(self._required(p))),
            "model": lambda p: self._load_model(self._required(p).read_bytes()),
        }
        util.from_disk(path, deserializers, exclude)
        return self

    def _required(self, path: Path) -> Path:
        if not path.exists():
            raise ValueError(f"Cannot load '{self.name}': missing file {path}.")
        return path

    def _load_model(self, model_bytes: bytes) -> None:
        """Load saved weights; the window and dropout settings stay those of the
        config this component was built from, so they can be changed at load time."""
        from ..models.birnn import runtime_settings

        if self.labels:
            self._build_encoder()
        settings = runtime_settings(self.model)
        try:
            self.model.from_bytes(model_bytes)
        except ValueError as err:
            raise ValueError(f"Cannot load the weights of '{self.name}': {err}") from err
        self.model.attrs.update(settings)


def _forbid_entity_edges_on_space(doc: Doc, scores: Floats2d, penalty: numpy.ndarray) -> None:
    """Whitespace tokens may sit inside an entity but never start or end one."""
    spaces = numpy.flatnonzero(doc.to_array("IS_SPACE"))
    if len(spaces):
        scores[spaces] += penalty


def _strip_space(doc: Doc, start: int, end: int) -> Tuple[int, int]:
    """Move an entity's edges inwards past whitespace tokens (BIO can end on one)."""
    while start < end and doc[start].is_space:
        start += 1
    while end > start and doc[end - 1].is_space:
        end -= 1
    return start, end
