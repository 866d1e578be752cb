"""The `char_spell` component: lexicon-based detection, neural correction of misspellings.

Tokens that are in the lexicon take a fast path (one set lookup). A token is a
misspelling candidate only if it is purely alphabetic, long enough, not on the
allow-list and does not look like a name (capitalised mid-sentence, all caps,
mixed case). Candidates come from a symmetric-deletion index (lexicon words
within `max_edit_distance` edits, and words that sound alike up to
`phonetic_max_distance` edits); a char encoder-decoder scores
log P(candidate | typo), combined with log word frequency and edit distance.
When no candidate is close enough, a beam search constrained to a lexicon
trie proposes one. The correction goes to `token.norm_` (lower case),
`token._.suggestions` holds [candidate, probability] pairs and
`doc._.corrected_text` the text with corrections, keeping whitespace and
the original casing pattern. Offsets and `doc.text` never change.

This module is imported whenever spaCy creates a pipeline: torch is only
imported by the model functions, when a model is used.
"""
import math
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Callable, Container, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Token
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import ensure_path, registry
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer

from ..parallel import install_fork_hook
from ..spelling.lexicon import Lexicon, count_corpus_words, load_lexicon
from ..spelling.casing import casing_pattern, match_casing
from ..spelling.phonetic import PhoneticIndex

SHIPPED_MODELS = {"en": Path(__file__).resolve().parents[1] / "data" / "char_spell_en"}
LEXICON_FILE = "lexicon.txt.gz"
SENTENCE_END = {".", "!", "?", ":", ";", '"', "''", "``", "\n"}
# factory settings: from the config, never from a saved cfg
CONFIG_SETTINGS = (
    "allow_list", "max_edit_distance", "phonetic_max_distance", "min_length", "n_suggestions", "beam_search",
    "correct_names", "rare_word_min_rank", "rare_word_min_prob",
)
CACHE_SIZE = 50000  # suggestions kept per lower-cased word, least recently used dropped first
PHONETIC_CANDIDATES = 10  # phonetic candidates kept per typo, the best by frequency and distance
PHONETIC_LANGUAGES = {"en": 3}  # default phonetic_max_distance: the key follows English spelling
# What a token to check is: an unknown word, a name typo (correct_names), or a rare
# lexicon word that may be a real-word error ("wonted" for wanted).
TYPO, NAME, RARE_WORD = "typo", "name", "rare_word"
# A rare word goes through the model only if a lexicon word one edit away is at least
# this many times as frequent: every replaced rare word on Norvig's big.txt and the
# spelling sets had one 30x or more, and this spares the model 80% of the rare words.
RARE_WORD_NEIGHBOUR_RATIO = 20.0

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_rnn_ner.CharSpeller.v1"
char_width = 32
hidden_width = 128
max_length = 30
dropout = 0.1
direction = "channel"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]
# What `from_disk` needs to rebuild the torch model before loading its weights.
MODEL_WIDTH_KEYS = ("char_width", "hidden_width")
MODEL_SHAPE_KEYS = ("direction", *MODEL_WIDTH_KEYS)
DEFAULT_RANKING = {"model_weight": 1.0, "freq_weight": 0.3, "distance_weight": -1.0}


@Language.factory(
    "char_spell",
    assigns=["token.norm", "token._.suggestions", "doc._.corrected_text"],
    default_config={
        "model": DEFAULT_MODEL,
        "pretrained": "en",
        "lexicon": None,
        "max_words": 80000,
        "allow_list": [],
        "max_edit_distance": 2,
        "phonetic_max_distance": None,
        "min_length": 3,
        "n_suggestions": 5,
        "beam_search": True,
        "correct_names": False,
        "rare_word_min_rank": 40000,
        "rare_word_min_prob": 0.8,
        "scorer": {"@scorers": "spacy_rnn_ner.spell_scorer.v1"},
    },
    default_score_weights={"spell_acc": 1.0, "spell_broken": 0.0, "spell_changed": 0.0},
)
def make_char_spell(
    nlp: Language,
    name: str,
    model: Model,
    pretrained: Optional[str],
    lexicon: Optional[str],
    max_words: int,
    allow_list: List[str],
    max_edit_distance: int,
    min_length: int,
    n_suggestions: int,
    beam_search: bool,
    scorer: Optional[Callable],
    correct_names: bool = False,
    phonetic_max_distance: Optional[int] = None,
    rare_word_min_rank: int = 40000,
    rare_word_min_prob: float = 0.8,
) -> "CharSpeller":
    """Create a `char_spell` component.

    model (Model): The char encoder-decoder, e.g. spacy_rnn_ner.CharSpeller.v1.
    pretrained (Optional[str]): "en" for the shipped English model, a directory
        saved by the component, or None to start untrained (then `initialize`).
    lexicon (Optional[str]): A `word count` file or "wordfreq:LANG"; used by
        `initialize`, and replaces a pretrained lexicon when given.
    max_words (int): Keep this many most frequent words of `lexicon` (0: all); a
        pretrained lexicon is used as saved.
    allow_list (List[str]): Words never treated as misspellings.
    max_edit_distance (int): Candidates are lexicon words within this many edits.
    phonetic_max_distance (Optional[int]): Words with the typo's phonetic key up to
        this many edits away (and never more than half the typo's letters) are
        candidates too ("muinets" -> minutes); 0 turns this off. None: 3 for English
        pipelines, 0 for other languages (the key follows English spelling).
    min_length (int): Shorter tokens are never corrected.
    n_suggestions (int): Length of `token._.suggestions`.
    beam_search (bool): Decode with a lexicon-constrained beam when no candidate is near.
    correct_names (bool): Also correct capitalised words ("Germnay"), all-caps
        words of 5+ letters ("GERMNAY") and casing slips ("rFance"): into the
        spelling the document repeats, if one is close ("Akarm" ... "Akram"),
        else only into one of the 30,000 most frequent lexicon words within two
        edits, with a clear winner; never a form the document repeats. Off by
        default: it trades some changed names in clean text for entity recall
        on noisy text. See also `add_domain_words`.
    rare_word_min_rank (int): Lower-case lexicon words this rare (frequency rank,
        0 = most frequent) are checked too, and corrected when another word wins
        with probability >= rare_word_min_prob: real-word errors such as "wonted"
        for wanted or "planed" for planned. 0 turns this off; allow-listed words
        are never checked.
    rare_word_min_prob (float): See rare_word_min_rank.
    scorer (Optional[Callable]): Scoring method (spell_acc, spell_broken, spell_changed).
    """
    speller = CharSpeller(
        nlp.vocab,
        model,
        name,
        allow_list=allow_list,
        max_edit_distance=max_edit_distance,
        phonetic_max_distance=(
            PHONETIC_LANGUAGES.get(nlp.lang, 0) if phonetic_max_distance is None else phonetic_max_distance
        ),
        min_length=min_length,
        n_suggestions=n_suggestions,
        beam_search=beam_search,
        correct_names=correct_names,
        rare_word_min_rank=rare_word_min_rank,
        rare_word_min_prob=rare_word_min_prob,
        scorer=scorer,
    )
    speller.cfg["lexicon_source"] = lexicon
    speller.cfg["max_words"] = max_words
    if pretrained:
        path = SHIPPED_MODELS.get(pretrained, Path(pretrained))
        if path.exists():
            speller.from_disk(path, keep_settings=True)
            if lexicon:
                speller.set_lexicon(load_lexicon(lexicon, max_words))
        else:
            # A saved pipeline brings its own weights (from_disk follows), so the
            # directory it was trained from need not exist where it is loaded.
            known = ", ".join(sorted(SHIPPED_MODELS))
            speller.missing_pretrained = (
                f"char_spell: pretrained model '{pretrained}' not found (shipped: {known}; or give a directory)."
            )
    return speller


class LexiconLookups:
    """A lexicon with what is derived from it: the known and allow-listed words, the
    candidate indexes (built when first needed) and the suggestion caches.
    CharSpeller.set_lexicon replaces the whole object in one assignment, so a thread
    that still works with the old lexicon builds and caches into the old object only."""

    def __init__(self, lexicon: Lexicon, allow_list: Iterable[str]) -> None:
        self.lexicon = lexicon
        self.allowed = {word.lower() for word in allow_list}
        self.known = set(lexicon.counts) | self.allowed
        self.index: Any = None
        self.phonetic_index: Optional[PhoneticIndex] = None
        self.trie: Optional[Dict[str, Any]] = None
        self.ranks: Optional[Dict[str, int]] = None
        self.rare_words: Optional[Tuple[int, set]] = None  # (min rank, words)
        self.clear_caches()

    def clear_caches(self) -> None:
        # New dicts rather than clear(): a thread still filling the old ones is harmless.
        self.suggestions: "OrderedDict[str, List[Tuple[str, float]]]" = OrderedDict()
        self.rare_checks: Dict[str, bool] = {}


class CharSpeller(TrainablePipe):
    """Detect and correct misspelt words, writing corrections to token.norm_."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "char_spell",
        *,
        allow_list: Sequence[str] = (),
        max_edit_distance: int = 2,
        phonetic_max_distance: int = 0,
        min_length: int = 3,
        n_suggestions: int = 5,
        beam_search: bool = True,
        correct_names: bool = False,
        rare_word_min_rank: int = 40000,
        rare_word_min_prob: float = 0.8,
        scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "chars": "",
            "ranking": dict(DEFAULT_RANKING),
            "max_edit_distance": max_edit_distance,
            "phonetic_max_distance": phonetic_max_distance,
            "min_length": min_length,
            "n_suggestions": n_suggestions,
            "beam_search": beam_search,
            "max_candidates": 50,
            "capitalised_min_prob": 0.6,
            "capitalised_max_rank": 2000,
            "correct_names": correct_names,
            "name_min_prob": 0.9,
            "name_max_rank": 30000,
            "name_max_distance": 2,
            "name_min_length_caps": 5,
            "name_from_document": True,
            "rare_word_min_rank": rare_word_min_rank,
            "rare_word_min_prob": rare_word_min_prob,
            "allow_list": sorted(set(allow_list)),
        }
        self._lookups = LexiconLookups(Lexicon({}), ())
        self.missing_pretrained: Optional[str] = None  # error to raise on use, if set
        _register_extensions()
        # nlp.pipe(n_process>1) forks: give each worker one torch thread so it cannot hang.
        install_fork_hook()

    # Lexicon and lookups

    @property
    def lexicon(self) -> Lexicon:
        return self._lookups.lexicon

    def set_lexicon(self, lexicon: Lexicon) -> None:
        """Use a new lexicon (with new candidate indexes and caches)."""
        # One assignment: a thread still working with the old lexicon finishes with
        # the old lookups object, and what it builds or caches there is never read.
        self._lookups = LexiconLookups(lexicon, self.cfg["allow_list"])

    def add_domain_words(self, paths: Sequence[Union[str, Path]]) -> None:
        """Merge the words of these corpora (DocBin or `word count` files) into the
        lexicon, e.g. a pretrained speller's before it reads text of your domain:
        `nlp.get_pipe("char_spell").add_domain_words(["train.spacy"])`. The merged
        lexicon is saved with the pipeline."""
        counts: Counter = Counter()
        for path in paths:  # one merge for all corpora, so their order does not matter
            counts.update(count_corpus_words(path, self.vocab))
        self.set_lexicon(self.lexicon.with_domain_words(counts))

    def clear_cache(self) -> None:
        """Forget the suggestions computed so far (e.g. to time the real work)."""
        self._lookups.clear_caches()

    @property
    def index(self) -> Any:
        lookups = self._lookups
        if lookups.index is None:
            from ..spelling.candidates import DeletionIndex

            lookups.index = DeletionIndex(lookups.lexicon.words(), self.cfg["max_edit_distance"])
        return lookups.index

    def build_indexes(self) -> None:
        """Build the candidate indexes (and a posterior model's lexicon trie) now, e.g.
        before timing or serving; otherwise they are built when first needed."""
        from ..models.speller import has_module, is_channel_model

        _ = self.index
        if self.cfg["phonetic_max_distance"] > self.cfg["max_edit_distance"]:
            _ = self.phonetic_index
        if self.cfg["beam_search"] and has_module(self.model) and not is_channel_model(self.model):
            _ = self.trie

    @property
    def phonetic_index(self) -> PhoneticIndex:
        """Lexicon words by phonetic key (built on first use, about 0.5 s for 80,000 words)."""
        lookups = self._lookups
        if lookups.phonetic_index is None:
            lookups.phonetic_index = PhoneticIndex(lookups.lexicon.words())
        return lookups.phonetic_index

    @property
    def trie(self) -> Dict[str, Any]:
        lookups = self._lookups
        if lookups.trie is None:
            lookups.trie = _build_trie(lookups.lexicon.words())
        return lookups.trie

    def is_misspelling(self, token: Token, counts: Optional[Counter] = None) -> bool:
        """Whether a token should be checked: an unknown, ordinary lower-case word,
        a rare lower-case lexicon word (see rare_word_min_rank), or, with
        correct_names, a name typo. A rare word is corrected only if another word
        clearly wins.

        counts (Optional[Counter]): How often each form occurs in the token's doc.
        """
        return self._misspelling_kind(token, counts) is not None

    def _misspelling_kind(self, token: Token, counts: Optional[Counter]) -> Optional[str]:
        """None if the token is not to be checked, else TYPO, NAME or RARE_WORD."""
        text = token.text
        lower = text.lower()
        known = self._lookups.known
        if text in known or lower in known:
            return RARE_WORD if self._is_rare_word(token) else None
        if len(text) < self.cfg["min_length"] or not text.isalpha():
            return None
        if not self._spellable(lower):
            return None  # "café" with an ASCII lexicon: the model cannot spell it, so it is not a typo
        capitalised = self.cfg["correct_names"] and _is_capitalised(text)
        if not text[1:].islower() and not (capitalised and self._correctable_caps(text)):
            return None  # all caps, camelCase: names, acronyms, code
        if token.ent_type:
            return None
        if _is_name_like(token) or capitalised:
            # A name typo ("Germnay") is corrected only on request, and never a form the
            # document repeats: real names recur, random typos rarely do. On request,
            # sentence-initial words ("MOSCOOW 1996-08-22") follow the same rules.
            if not self.cfg["correct_names"]:
                return None
            counts = counts if counts is not None else Counter(t.text for t in token.doc)
            return NAME if counts[text] == 1 else None
        return None if _inside_name(token) else TYPO  # "Gazzetta dello Sport"

    def _rare_words(self) -> set:
        """The lexicon words at or beyond rare_word_min_rank, less the allow-list (cached)."""
        lookups = self._lookups
        min_rank = self.cfg.get("rare_word_min_rank", 0)
        rare = lookups.rare_words
        if rare is None or rare[0] != min_rank:  # rank and set in one tuple: set together
            words = set(list(lookups.lexicon.counts)[min_rank:]) - lookups.allowed if min_rank else set()
            rare = lookups.rare_words = (min_rank, words)
        return rare[1]

    def _is_rare_word(self, token: Token) -> bool:
        return self.is_rare_word(token.text) and not token.ent_type and not _inside_name(token)

    def is_rare_word(self, word: str) -> bool:
        """Whether a word is checked for a real-word error: a lower-case lexicon word
        rarer than rare_word_min_rank, not allow-listed, with a far more frequent
        lexicon word one edit away (RARE_WORD_NEIGHBOUR_RATIO)."""
        if word not in self._rare_words() or not word.isalpha() or len(word) < self.cfg["min_length"]:
            return False
        rare_checks = self._lookups.rare_checks  # at most one entry per rare lexicon word
        checked = rare_checks.get(word)
        if checked is None:
            checked = rare_checks[word] = self._spellable(word) and self._has_frequent_neighbour(word)
        return checked

    def _has_frequent_neighbour(self, word: str) -> bool:
        """Whether a lexicon word one edit away is RARE_WORD_NEIGHBOUR_RATIO times as frequent."""
        min_count = RARE_WORD_NEIGHBOUR_RATIO * self.lexicon.counts[word]
        return any(
            distance == 1 and self.lexicon.counts[other] >= min_count
            for other, distance in self.index.lookup(word, 1)
        )

    def replaces_rare_word(self, word: str, ranked: List[Tuple[str, float]]) -> bool:
        """Whether a rare word (see is_rare_word) is corrected, given its suggestions:
        another word must win with probability >= rare_word_min_prob."""
        return bool(ranked) and ranked[0][0] != word and ranked[0][1] >= self.cfg["rare_word_min_prob"]

    def _spellable(self, lower: str) -> bool:
        """Whether the model's character inventory holds every letter of the word."""
        chars = self.cfg["chars"]
        return not chars or all(char in chars for char in lower)

    # Prediction

    def predict(self, docs: Iterable[Doc]) -> List[List[Tuple[int, List[Tuple[str, float]]]]]:
        """Find misspellings and rank their corrections: per doc, (token index, suggestions)."""
        self._check_pretrained()
        docs = list(docs)
        found = [self._misspellings(doc) for doc in docs]
        suggestions = self.suggest(sorted({token.text.lower() for tokens in found for token, _ in tokens}))
        predictions = []
        for doc, tokens in zip(docs, found):
            names = self._document_names(doc) if any(_is_capitalised(t.text) for t, _ in tokens) else None
            predicted = []
            for token, kind in tokens:
                mention = names.correction(token.text) if names is not None else None
                if mention is not None:
                    predicted.append((token.i, [(mention, 1.0)]))
                    continue
                ranked = suggestions[token.text.lower()]
                if self._confident(token, ranked, kind):
                    predicted.append((token.i, ranked))
            predictions.append(predicted)
        return predictions

    def _document_names(self, doc: Doc) -> Optional["DocumentNames"]:
        """The doc's capitalised words, if name typos take the spelling the document
        repeats ("Clintno" ... "Clinton"; see DocumentNames)."""
        if not (self.cfg["correct_names"] and self.cfg["name_from_document"]):
            return None
        return DocumentNames(doc, self._lookups.known)

    def _correctable_caps(self, text: str) -> bool:
        """With correct_names, capitalised words with a casing slip ("rFance") are corrected,
        and all-caps words this long ("GERMNAY", "ENGLIzH")."""
        if casing_pattern(text) != "upper":
            return True
        min_length = self.cfg["name_min_length_caps"]
        return bool(min_length and len(text) >= min_length)

    def _misspellings(self, doc: Doc) -> List[Tuple[Token, str]]:
        """The doc's tokens to check, each with its kind (TYPO, NAME or RARE_WORD)."""
        counts = Counter(t.text for t in doc) if self.cfg["correct_names"] else None
        kinds = ((token, self._misspelling_kind(token, counts)) for token in doc)
        return [(token, kind) for token, kind in kinds if kind is not None]

    def _confident(self, token: Token, ranked: List[Tuple[str, float]], kind: str) -> bool:
        """Capitalised words are corrected only into a frequent word, by a clear winner
        close by: names look like typos. A rare lexicon word only by a clear winner."""
        from ..spelling.candidates import osa_distance

        if kind == RARE_WORD:
            return self.replaces_rare_word(token.text, ranked)
        if casing_pattern(token.text) == "lower":
            return True
        if not ranked:
            return False
        lower, (best, prob) = token.text.lower(), ranked[0]
        if kind == NAME:
            return (
                prob >= self.cfg["name_min_prob"]
                and self.rank(best) < self.cfg["name_max_rank"]
                and osa_distance(lower, best, 2) <= self.cfg["name_max_distance"]
            )
        if prob < self.cfg["capitalised_min_prob"] or self.rank(best) >= self.cfg["capitalised_max_rank"]:
            return False  # "Leeson" -> lesson: a sentence-initial name more often than a typo
        return osa_distance(lower, best, 1) <= 1

    def rank(self, word: str) -> int:
        """A lexicon word's frequency rank (0 for the most frequent); len(lexicon) if unknown."""
        lookups = self._lookups
        if lookups.ranks is None:
            lookups.ranks = {w: i for i, w in enumerate(lookups.lexicon.counts)}
        return lookups.ranks.get(word, len(lookups.ranks))

    def suggest(self, words: Sequence[str]) -> Dict[str, List[Tuple[str, float]]]:
        """Ranked [candidate, probability] suggestions for lower-case words (cached)."""
        # Threads may share a pipeline: each cache operation below is atomic, and one
        # that finds its entry evicted by another thread meanwhile lets it go (no
        # lock, so the component still pickles and forks as spaCy pipelines do).
        # The cache is read once: if set_lexicon replaces it meanwhile, suggestions
        # ranked with the old lexicon go to the old cache and are never served again.
        cache = self._lookups.suggestions
        result: Dict[str, List[Tuple[str, float]]] = {}
        for word in words:
            cached = cache.get(word)
            if cached is not None:
                result[word] = cached
                try:
                    cache.move_to_end(word)  # least recently used goes first
                except KeyError:
                    pass
        missing = list(dict.fromkeys(w for w in words if w not in result))
        if missing:
            for word, ranked in zip(missing, self._rank(missing)):
                result[word] = cache[word] = ranked
            while len(cache) > CACHE_SIZE:
                try:
                    cache.popitem(last=False)
                except KeyError:
                    break
        return result

    def _rank(self, words: Sequence[str]) -> List[List[Tuple[str, float]]]:
        from ..models.speller import constrained_beam_search, has_module, is_channel_model, score_candidates

        candidates = [self.candidates(word) for word in words]
        if not has_module(self.model):
            raise ValueError(f"'{self.name}' has no model yet: initialize it or load a pretrained one.")
        model_scores = score_candidates(self.model, words, [[c for c, _ in cands] for cands in candidates])
        ranking = self.cfg["ranking"]
        results: List[List[Tuple[str, float]]] = []
        for word, cands, scores in zip(words, candidates, model_scores):
            scored = [
                (c, ranking["model_weight"] * float(s) + ranking["freq_weight"] * self.lexicon.log_prob(c)
                 + ranking["distance_weight"] * d)
                for (c, d), s in zip(cands, scores)
            ]
            near = any(d <= self.cfg["max_edit_distance"] for _, d in cands)
            if not near and self.cfg["beam_search"] and not is_channel_model(self.model):
                found = {c for c, _ in scored}
                beam = self._beam_candidates(word, constrained_beam_search(self.model, word, self.trie))
                scored += [(c, score) for c, score in beam if c not in found]
            results.append(_normalise(scored, self.cfg["n_suggestions"]))
        return results

    def candidates(self, word: str, prune: bool = True) -> List[Tuple[str, int]]:
        """Lexicon words near a typo, with their edit distances.

        word (str): The typo, in lower case.
        prune (bool): Keep only the best by frequency and distance: `max_candidates`
            within `max_edit_distance` and PHONETIC_CANDIDATES further away. False
            returns them all (e.g. to tune the ranking weights).
        RETURNS (List[Tuple[str, int]]): (word, distance) pairs: the words within
            `max_edit_distance` edits, then those that sound alike further away.
        """
        near = self.index.lookup(word)
        far = self._phonetic_candidates(word)
        if prune:
            near = self._prefilter(near, self.cfg.get("max_candidates", 0))
            far = self._prefilter(far, PHONETIC_CANDIDATES)
        return near + far

    def _phonetic_candidates(self, word: str) -> List[Tuple[str, int]]:
        """Words with the typo's phonetic key, more than `max_edit_distance` and at most
        `phonetic_max_distance` edits away, changing at most half of its letters."""
        near_limit = self.cfg["max_edit_distance"]
        limit = min(self.cfg["phonetic_max_distance"], len(word) // 2)
        if limit <= near_limit:
            return []
        return self.phonetic_index.lookup(word, near_limit, limit)

    def _prefilter(self, candidates: List[Tuple[str, int]], limit: int) -> List[Tuple[str, int]]:
        """Keep the `limit` best candidates by frequency and distance alone (0: all)."""
        if not limit or len(candidates) <= limit:
            return candidates
        ranking = self.cfg["ranking"]
        key = lambda item: -(ranking["freq_weight"] * self.lexicon.log_prob(item[0]) + ranking["distance_weight"] * item[1])
        return sorted(candidates, key=key)[:limit]

    def _beam_candidates(self, word: str, beam: List[Tuple[str, float]]) -> List[Tuple[str, float]]:
        """Score beam-search outputs, keeping those a plausible number of edits away."""
        from ..spelling.candidates import osa_distance

        ranking = self.cfg["ranking"]
        limit = self.cfg["max_edit_distance"] + max(1, len(word) // 5)
        scored = []
        for candidate, log_prob in beam:
            distance = osa_distance(word, candidate, limit)
            if distance <= limit:
                score = (ranking["model_weight"] * log_prob + ranking["freq_weight"] * self.lexicon.log_prob(candidate)
                         + ranking["distance_weight"] * distance)
                scored.append((candidate, score))
        return scored

    def set_annotations(self, docs: Iterable[Doc], predictions: List[List[Tuple[int, List[Tuple[str, float]]]]]) -> None:
        """Write corrections to token.norm_, suggestions and doc._.corrected_text."""
        for doc, found in zip(docs, predictions):
            corrections: Dict[int, str] = {}
            for i, suggestions in found:
                token = doc[i]
                token._.suggestions = [[c, p] for c, p in suggestions]
                if suggestions:
                    best = suggestions[0][0]
                    token.norm_ = best
                    corrections[i] = match_casing(best, token.text)
            doc._.corrected_text = _corrected_text(doc, corrections) if corrections else doc.text

    # Training

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        lexicon: Optional[str] = None,
        domain_words: Sequence[str] = (),
    ) -> None:
        """Load the lexicon (from the factory setting or `lexicon`) and build the model.

        A pretrained model keeps its weights and character inventory (fine-tuning).

        lexicon (Optional[str]): A `word count` file or "wordfreq:LANG".
        domain_words (Sequence[str]): Corpora whose words join the lexicon (a DocBin
            `.spacy` file such as your NER training data, or a `word count` file):
            their names are then neither flagged nor missed as corrections. Set in
            `[initialize.components.char_spell]`; see `add_domain_words`.
        """
        from ..models.speller import build_speller_module, has_module

        self._check_pretrained()
        source = lexicon or self.cfg.get("lexicon_source")
        if source:
            self.set_lexicon(load_lexicon(source, self.cfg.get("max_words", 0)))
        if domain_words:
            self.add_domain_words(domain_words)
        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        if not len(self.lexicon):
            raise ValueError(f"'{self.name}' has no lexicon: set `lexicon` in its config (a file or 'wordfreq:LANG').")
        if not has_module(self.model):
            chars = sorted({c for word in self.lexicon for c in word})
            self.cfg["chars"] = "".join(chars)
            self.cfg.update({key: self.model.attrs[key] for key in MODEL_SHAPE_KEYS})
            build_speller_module(self.model, self.cfg["chars"])

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from (typo, correction) pairs: tokens whose reference norm differs from their text."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        pairs = training_pairs(examples)
        if not pairs:
            return losses
        from ..models.speller import is_channel_model

        if is_channel_model(self.model):
            pairs = [(word, typo) for typo, word in pairs]
        nll, backprop = self.model.begin_update(pairs)
        backprop(self.model.ops.xp.ones_like(nll) / len(pairs))
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += float(nll.sum()) / len(pairs)
        return losses

    def get_loss(self, examples: Iterable[Example], scores: Any) -> Tuple[float, Any]:
        raise NotImplementedError("char_spell computes its loss inside the model (negative log-likelihood).")

    # Serialization

    def _check_pretrained(self) -> None:
        if self.missing_pretrained is not None:
            raise ValueError(self.missing_pretrained)

    def _stored_cfg(self, stored: Dict[str, Any], keep_settings: bool) -> Dict[str, Any]:
        """The saved cfg, less the factory's settings (and, with keep_settings, less
        everything but what was learned)."""
        if keep_settings:
            return {k: v for k, v in stored.items() if k in ("chars", "ranking", *MODEL_SHAPE_KEYS)}
        # The factory's settings win, so that `spacy.load(path, config=...)` and
        # nlp.config describe what runs.
        return {k: v for k, v in stored.items() if k not in CONFIG_SETTINGS}

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize "cfg", "lexicon" and "model" (any may be excluded)."""
        from ..models.speller import has_module

        serializers = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "lexicon": self.lexicon.to_text,
            "model": lambda: self.model.to_bytes() if has_module(self.model) else b"",
        }
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "CharSpeller":
        deserializers = {
            "cfg": lambda data: self.cfg.update(self._stored_cfg(srsly.json_loads(data), keep_settings=False)),
            "lexicon": lambda data: self.set_lexicon(Lexicon.from_text(data, f"{self.name} bytes")),
            "model": lambda data: self._load_model(data, f"{self.name} bytes"),
        }
        util.from_bytes(bytes_data, deserializers, exclude)
        if "model" not in exclude:
            self.missing_pretrained = None
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Write the files "cfg", LEXICON_FILE and "model" (exclude "cfg", "lexicon", "model")."""
        from ..models.speller import has_module

        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        if "cfg" not in exclude:
            srsly.write_json(path / "cfg", self.cfg)
        if "lexicon" not in exclude:
            self.lexicon.to_disk(path / LEXICON_FILE)
        if "model" not in exclude and has_module(self.model):
            (path / "model").write_bytes(self.model.to_bytes())

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple(), keep_settings: bool = False
    ) -> "CharSpeller":
        path = ensure_path(path)
        parts = {"cfg": path / "cfg", "lexicon": path / LEXICON_FILE}
        for part, required in parts.items():
            if part not in exclude and not required.exists():
                raise ValueError(f"Cannot load '{self.name}': missing file {required}.")
        if "cfg" not in exclude:
            self.cfg.update(self._stored_cfg(srsly.read_json(parts["cfg"]), keep_settings))
        if "lexicon" not in exclude:
            self.set_lexicon(Lexicon.from_disk(parts["lexicon"]))
        if "model" not in exclude:
            model_path = path / "model"
            self._load_model(model_path.read_bytes() if model_path.exists() else b"", str(model_path))
            self.missing_pretrained = None
        return self

    def _load_model(self, model_bytes: bytes, source: str) -> None:
        from ..models.speller import build_speller_module

        if not model_bytes:
            return
        # The stored direction and widths win: a pretrained model loads into any model config.
        self.model.attrs["direction"] = self.cfg.get("direction", "posterior")
        for key in MODEL_WIDTH_KEYS:  # absent from cfgs saved before they were stored
            if key in self.cfg:
                self.model.attrs[key] = self.cfg[key]
        build_speller_module(self.model, self.cfg["chars"])
        try:
            self.model.from_bytes(model_bytes)
        except ValueError as err:
            raise ValueError(f"Cannot load the weights of '{self.name}' from {source}: {err}") from err


def training_pairs(examples: Iterable[Example]) -> List[Tuple[str, str]]:
    """(typo, correction) pairs: predicted tokens whose aligned reference NORM differs from them."""
    pairs: List[Tuple[str, str]] = []
    for eg in examples:
        norms = eg.get_aligned("NORM", as_string=True)
        for token, norm in zip(eg.predicted, norms):
            lower = token.text.lower()
            if norm and norm != lower and token.text.isalpha():
                pairs.append((lower, norm))
    return pairs


def _corrected_text(doc: Doc, corrections: Dict[int, str]) -> str:
    return "".join(corrections.get(t.i, t.text) + t.whitespace_ for t in doc)


def _starts_sentence(token: Token) -> bool:
    if token.i == 0:
        return True
    if token.is_sent_start:
        return True
    previous = token.doc[token.i - 1]
    return previous.text in SENTENCE_END or "\n" in previous.whitespace_ or previous.is_space


def _looks_like_name(token: Token) -> bool:
    """A sentence-initial capitalised word followed by another one ("Nadim Ladki said"),
    or written capitalised elsewhere mid-sentence in the same doc."""
    doc = token.doc
    following = doc[token.i + 1] if token.i + 1 < len(doc) else None
    if following is not None and following.text[:1].isupper() and following.text[:1].isalpha():
        return True
    text = token.text
    return any(other.text == text and other.i != token.i and not _starts_sentence(other) for other in doc)


def _is_name_like(token: Token) -> bool:
    """Capitalised mid-sentence, or a sentence-initial word that looks like a name."""
    return token.text[:1].isupper() and (not _starts_sentence(token) or _looks_like_name(token))


class DocumentNames:
    """The capitalised words of one doc, and an index of those that may serve as the
    spelling of a name typo: lexicon words and forms the doc repeats."""

    def __init__(self, doc: Doc, known: Container[str]) -> None:
        from ..spelling.candidates import DeletionIndex

        self.counts = Counter(t.text for t in doc if t.text.isalpha() and _is_capitalised(t.text))
        self.spellings: Dict[str, List[Tuple[str, int, Optional[str]]]] = {}
        for form, count in self.counts.items():
            lower = form.lower()
            if count > 1 or lower in known:
                self.spellings.setdefault(lower, []).append((form, count, casing_pattern(form)))
        self.index = DeletionIndex(self.spellings, max_distance=2) if self.spellings else None

    def correction(self, text: str) -> Optional[str]:
        """The most frequent spelling within one edit of a form seen once (two for
        words of 8+ letters), with the same casing pattern; None if there is none."""
        if self.index is None or self.counts.get(text, 0) != 1:
            return None
        pattern = casing_pattern(text)
        limit = 1 if len(text) < 8 else 2
        best: Optional[Tuple[int, int, str]] = None
        for lower, distance in self.index.lookup(text.lower(), limit):
            for form, count, form_pattern in self.spellings[lower]:
                if form != text and form_pattern == pattern and (best is None or (-count, distance) < best[:2]):
                    best = (-count, distance, lower)
        return best[2] if best else None


def _is_capitalised(text: str) -> bool:
    """Title case or all caps, casing slips repaired ("Clinton", "LONDON", "rTent")."""
    return casing_pattern(text) in ("title", "upper")


def _inside_name(token: Token) -> bool:
    doc = token.doc
    if token.i == 0 or token.i + 1 >= len(doc):
        return False
    before, after = doc[token.i - 1], doc[token.i + 1]
    return before.text[:1].isupper() and after.text[:1].isupper() and not _starts_sentence(before)


def _normalise(scored: List[Tuple[str, float]], n: int) -> List[Tuple[str, float]]:
    """Sort by score and turn scores into probabilities over the candidates (softmax)."""
    if not scored:
        return []
    scored.sort(key=lambda item: -item[1])
    top = scored[0][1]
    weights = [math.exp(s - top) for _, s in scored]
    total = sum(weights)
    return [(c, round(w / total, 4)) for (c, _), w in zip(scored[:n], weights[:n])]


def _build_trie(words: Iterable[str]) -> Dict[str, Any]:
    root: Dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return root


def _register_extensions() -> None:
    if not Token.has_extension("suggestions"):
        Token.set_extension("suggestions", default=None)
    if not Doc.has_extension("corrected_text"):
        Doc.set_extension("corrected_text", default=None)


@registry.callbacks("spacy_rnn_ner.domain_words.v1")
def make_domain_words_callback(component: str, paths: List[str]) -> Callable[[Language], Language]:
    """An `[initialize.before_init]` callback: merge the words of these corpora (DocBin
    or `word count` files, e.g. the training data) into a char_spell lexicon. It works
    for a frozen char_spell too, which `initialize` skips."""

    def add_words(nlp: Language) -> Language:
        nlp.get_pipe(component).add_domain_words([path for path in paths if path])
        return nlp

    return add_words


@registry.scorers("spacy_rnn_ner.spell_scorer.v1")
def make_spell_scorer() -> Callable[..., Dict[str, float]]:
    return score_spelling


def score_spelling(examples: Iterable[Example], **kwargs: Any) -> Dict[str, float]:
    """spell_acc: share of misspelt tokens (reference NORM differs) corrected right;
    spell_broken: share of correct tokens given another NORM; spell_changed: share of tokens changed."""
    n_typos = n_fixed = n_correct = n_broken = n_tokens = n_changed = 0
    for eg in examples:
        gold = eg.get_aligned("NORM", as_string=True)
        for token, norm in zip(eg.predicted, gold):
            if norm is None:
                continue
            n_tokens += 1
            predicted = token.norm_
            n_changed += predicted != token.lex.norm_
            if norm != token.lex.norm_:
                n_typos += 1
                n_fixed += predicted == norm
            else:
                n_correct += 1
                n_broken += predicted != norm
    return {
        "spell_acc": n_fixed / n_typos if n_typos else 0.0,
        "spell_broken": n_broken / n_correct if n_correct else 0.0,
        "spell_changed": n_changed / n_tokens if n_tokens else 0.0,
    }
