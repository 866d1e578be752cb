"""Spelling benchmark: char_spell against pyspellchecker and symspellpy, side by side.

    nice -n 10 .venv/bin/python bench/spelling.py [--ner-model bench/runs/conll2003_rnn_ner/model-best]

Isolated words (top-1 / top-5, lower-cased exact match): Norvig's spell-testset1
and TOEFL-Spell type-M pairs (all; the "tune" essays the shipped model's choices
were made on; the "eval" essays held out from its fine-tuning). Sentence level:
JFLEG noisy vs clean (word correction rate, correct words broken). Clean text: CoNLL-2003 test tokens
changed. Throughput of the spaCy pipeline on running text. With --ner-model,
entity F1 on clean / noisy / noisy + char_spell CoNLL-2003 test. Data is read
from ../shared (never copied). Needs `pip install pyspellchecker==0.9.1 symspellpy==6.10.1`.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.scorer import Scorer

from spacy_rnn_ner.spelling.real_errors import TOEFL_SPLIT, read_norvig, read_toefl_spell, toefl_part, without_typos

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPELLING = SHARED / "spelling"
LEXICON = SPELLING / "wordfreq" / "frequency_dictionary_en_82_765.txt"
CONLL_TEST = SHARED / "corpora" / "conll2003" / "test.txt"

Suggest = Callable[[List[str]], List[List[str]]]


def isolated_accuracy(name: str, suggest: Suggest, pairs: Sequence[Tuple[str, str]]) -> Dict[str, float]:
    """Top-1/top-5 over the pairs; every system sees each distinct misspelling once
    (timed), so words/s counts distinct words for all of them."""
    words = sorted({wrong for wrong, _ in pairs})
    start = time.perf_counter()
    predictions = dict(zip(words, suggest(words)))
    seconds = time.perf_counter() - start
    top1 = sum(bool(predictions[wrong]) and predictions[wrong][0] == right for wrong, right in pairs)
    top5 = sum(right in predictions[wrong][:5] for wrong, right in pairs)
    return {"system": name, "n": len(pairs), "n_distinct": len(words), "top1": top1 / len(pairs),
            "top5": top5 / len(pairs), "words_per_s": len(words) / seconds}


def char_spell_suggester(speller) -> Suggest:
    """A lexicon word is left as it is (top 1), as the component does, with the
    speller's other candidates after it (top 5), as the peers list theirs; a rare
    lexicon word that the component would correct (rare_word_min_rank) is not."""

    def suggest(words: List[str]) -> List[List[str]]:
        speller.clear_cache()  # time the real work, not the cache
        ranked = speller.suggest(words)
        return [
            ([w] + [c for c, _ in ranked[w] if c != w])[:5] if kept(w, ranked[w]) else [c for c, _ in ranked[w]]
            for w in words
        ]

    def kept(word: str, ranked: List[Tuple[str, float]]) -> bool:
        if word not in speller.lexicon:
            return False
        return not (speller.is_rare_word(word) and speller.replaces_rare_word(word, ranked))

    return suggest


def symspell_suggester(verbosity: str = "ALL") -> Suggest:
    """symspellpy within 2 edits: Verbosity.ALL lists every candidate (for top 5);
    TOP returns only the best (the mode to time corrections with)."""
    from symspellpy import SymSpell, Verbosity

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    sym.load_dictionary(str(LEXICON), term_index=0, count_index=1, encoding="utf-8-sig")
    mode = getattr(Verbosity, verbosity)

    def suggest(words: List[str]) -> List[List[str]]:
        return [[s.term for s in sym.lookup(w, mode, max_edit_distance=2, include_unknown=True)[:5]] for w in words]

    return suggest


def pyspellchecker_suggester() -> Suggest:
    from spellchecker import SpellChecker

    checker = SpellChecker(distance=2)

    def suggest(words: List[str]) -> List[List[str]]:
        results = []
        for w in words:
            # correction() is the most frequent candidate: computed once here, not twice
            candidates = sorted(checker.candidates(w) or [w], key=lambda c: -checker.word_usage_frequency(c))
            results.append(candidates[:5])
        return results

    return suggest


def sentence_level(nlp, speller, noisy_path: Path, clean_path: Path) -> Dict[str, float]:
    """Correct JFLEG noisy sentences token by token; compare with the clean sentences."""
    noisy_lines = noisy_path.read_text(encoding="utf-8").splitlines()
    clean_lines = clean_path.read_text(encoding="utf-8").splitlines()
    assert len(noisy_lines) == len(clean_lines), "JFLEG files are not aligned"
    n_typos = n_fixed = n_flagged = n_correct = n_broken = skipped = 0
    for noisy, clean in zip(noisy_lines, clean_lines):
        noisy_words, clean_words = noisy.split(), clean.split()
        if len(noisy_words) != len(clean_words) or not noisy_words:
            skipped += 1
            continue
        doc = speller(Doc(nlp.vocab, words=noisy_words))
        corrected = doc._.corrected_text.split(" ")
        for before, after, gold in zip(noisy_words, corrected, clean_words):
            if before != gold:
                n_typos += 1
                n_fixed += after.lower() == gold.lower()
                n_flagged += after != before
            else:
                n_correct += 1
                n_broken += after != before
    return {"typos": n_typos, "corrected": n_fixed / n_typos, "flagged": n_flagged / n_typos,
            "correct_words": n_correct, "broken": n_broken / n_correct, "sentences_skipped": skipped}


def clean_text(nlp, speller) -> Dict[str, float]:
    from spacy_rnn_ner.corpora.iob import read_iob_docs

    n_tokens = n_changed = n_ent_changed = n_capitalised = 0
    examples = []
    for gold in read_iob_docs(nlp.vocab, CONLL_TEST):
        doc = speller(Doc(nlp.vocab, words=[t.text for t in gold]))
        for token, gold_token in zip(doc, gold):
            n_tokens += 1
            if token._.suggestions:
                n_changed += 1
                n_ent_changed += bool(gold_token.ent_type)
                n_capitalised += token.text[:1].isupper()
                if len(examples) < 40:
                    examples.append(f"{token.text}->{token.norm_}")
    # The examples are words of the CoNLL test text: printed, never written to the results.
    print("changed on clean CoNLL test (first 40):", " ".join(examples), flush=True)
    return {"tokens": n_tokens, "changed": n_changed / n_tokens, "changed_count": n_changed,
            "entity_tokens_changed": n_ent_changed, "capitalised_changed": n_capitalised}


def throughput(nlp, texts: List[str]) -> Dict[str, float]:
    """Words per second of the whole pipeline (tokenizer included): cold, then warm cache."""
    n_words = sum(len(t.split()) for t in texts)
    if "char_spell" in nlp.pipe_names:
        nlp.get_pipe("char_spell").clear_cache()
    result: Dict[str, float] = {"words": n_words}
    for run in ("cold", "warm"):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=256):
            pass
        result[f"words_per_s_{run}"] = n_words / (time.perf_counter() - start)
    return result


def conll_texts() -> List[str]:
    from spacy_rnn_ner.corpora.iob import read_iob_docs

    vocab = spacy.blank("en").vocab
    return [" ".join(t.text for t in sent) for doc in read_iob_docs(vocab, CONLL_TEST) for sent in doc.sents]


def add_typos(words: List[str], rng: random.Random, generator, share: float = 0.2) -> List[str]:
    return [generator(w) if len(w) >= 4 and w.isalpha() and rng.random() < share else w for w in words]


# setting suffix -> (char_spell config or None, lexicon extended with the NER training
# corpus's words, rnn_ner embeds the corrected words: CharCNNEmbed.v2)
SPELL_SETTINGS = {
    "": (None, False, False),
    "+char_spell": ({}, False, False),
    "+char_spell(names)": ({"correct_names": True}, False, False),
    "+char_spell(names)+reads": ({"correct_names": True}, False, True),
    "+char_spell(names,domain)": ({"correct_names": True}, True, False),
    "+char_spell(names,domain)+reads": ({"correct_names": True}, True, True),
}


def load_ner_reading_corrections(model_path: Path):
    """The NER model loaded so that it embeds corrected words (same weights): a
    CharCNNEmbed.v1 as v2, a v3 with `read_corrections = true`; None if its tok2vec
    is another architecture."""
    config = spacy.util.load_config(model_path / "config.cfg")
    architecture = config["components"]["rnn_ner"]["model"]["tok2vec"].get("@architectures")
    key = "components.rnn_ner.model.tok2vec"
    if architecture == "spacy_rnn_ner.CharCNNEmbed.v1":
        return spacy.load(model_path, config={f"{key}.@architectures": "spacy_rnn_ner.CharCNNEmbed.v2"})
    if architecture == "spacy_rnn_ner.CharCNNEmbed.v3":
        return spacy.load(model_path, config={f"{key}.read_corrections": True})
    return None


def write_word_counts(docs) -> Path:
    """A temporary `word count` file of the docs' alphabetic words (never kept)."""
    import atexit
    import tempfile
    from collections import Counter

    counts = Counter(t.lower_ for doc in docs for t in doc if t.is_alpha)
    handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    handle.write("".join(f"{word} {count}\n" for word, count in counts.items()))
    handle.close()
    atexit.register(Path(handle.name).unlink)
    return Path(handle.name)


def override_settings(speller, settings: Dict[str, float]) -> None:
    """Override cfg settings (a trained pipeline keeps the ones it was saved with)."""
    if settings:
        speller.cfg.update(settings)
        speller.clear_cache()


def ner_robustness(model_path: Path, seed: int = 0, split: str = "test", own_pipeline_only: bool = False,
                   name_min_prob: Optional[float] = None,
                   phonetic_max_distance: Optional[int] = None,
                   rare_word_min_rank: Optional[int] = None) -> Dict[str, Dict[str, float]]:
    """Entity F1 (spaCy's ents scorer) on CoNLL-2003 `split` (test or valid), clean and
    noisy, without char_spell, with it, and with it correcting name typos too.
    name_min_prob: if given, every char_spell (the pipeline's own too) uses it.
    phonetic_max_distance, rare_word_min_rank: likewise."""
    from spacy_rnn_ner.corpora.iob import read_iob_docs
    from spacy_rnn_ner.spelling.typos import TypoGenerator

    ner = spacy.load(model_path)
    given = {"name_min_prob": name_min_prob, "phonetic_max_distance": phonetic_max_distance,
             "rare_word_min_rank": rare_word_min_rank}
    overrides = {key: value for key, value in given.items() if value is not None}
    if "char_spell" in ner.pipe_names:
        override_settings(ner.get_pipe("char_spell"), overrides)
    ner_reading = load_ner_reading_corrections(model_path)
    golds = list(read_iob_docs(ner.vocab, CONLL_TEST.parent / f"{split}.txt"))
    rng, generator = random.Random(seed), TypoGenerator(seed=seed)
    texts = {
        "clean": [[t.text for t in g] for g in golds],
        "noisy": [add_typos([t.text for t in g], rng, generator) for g in golds],
    }
    results: Dict[str, Dict[str, float]] = {}
    domain_words = write_word_counts(read_iob_docs(ner.vocab, CONLL_TEST.parent / "train.txt"))
    settings = dict(SPELL_SETTINGS)
    if own_pipeline_only and "char_spell" in ner.pipe_names:
        # The pipeline's own components without its char_spell: what the speller adds.
        settings["-own_char_spell"] = (None, False, False)
    for spell_name, (spell_config, domain, reads) in settings.items():
        if (own_pipeline_only and spell_config is not None) or (reads and ner_reading is None):
            continue
        speller = None
        if spell_config is not None:
            speller = spacy.blank("en", vocab=ner.vocab).add_pipe("char_spell", config=spell_config)
            if domain:
                speller.add_domain_words([domain_words])
            override_settings(speller, overrides)
        tagger = ner_reading if reads else ner
        skipped = "char_spell" if spell_name == "-own_char_spell" else None
        pipes = [pipe for name, pipe in tagger.pipeline if name != skipped]
        for text_name, word_lists in texts.items():
            setting = text_name + spell_name
            examples, n_entity_changed = [], 0
            start = time.perf_counter()
            for gold, words in zip(golds, word_lists):
                ents = [t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "") for t in gold]
                predicted = Doc(ner.vocab, words=words)
                if speller is not None:
                    predicted = speller(predicted)
                    n_entity_changed += sum(
                        bool(t._.suggestions) and g.ent_iob_ != "O" for t, g in zip(predicted, gold)
                    )
                for pipe in pipes:
                    predicted = pipe(predicted)
                examples.append(Example(predicted, Doc(ner.vocab, words=words, ents=ents)))
            scores = Scorer.score_spans(examples, "ents")
            results[setting] = {"ents_f": scores["ents_f"], "ents_p": scores["ents_p"], "ents_r": scores["ents_r"],
                                "entity_tokens_changed": n_entity_changed, "seconds": time.perf_counter() - start}
            print(f"NER {split} {setting}: {results[setting]}", flush=True)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--pretrained", default="en", help="char_spell model: 'en' (shipped) or a directory")
    parser.add_argument("--sample", type=int, default=150, help="TOEFL pairs sampled for pyspellchecker (slow)")
    parser.add_argument("--ner-model", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--phonetic-max-distance", type=int, default=None,
                        help="char_spell setting (default: the component's); 0 turns phonetic candidates off")
    parser.add_argument("--rare-word-min-rank", type=int, default=None,
                        help="char_spell setting (default: the component's); 0 turns the rare-word check off")
    parser.add_argument("--ner-only", choices=["valid", "test"], default=None,
                        help="run only the typo-robust NER part, on this CoNLL split")
    parser.add_argument("--own-pipeline-only", action="store_true",
                        help="NER part: only the model's own pipeline (for a model that has char_spell inside), with and without its char_spell")
    parser.add_argument("--name-min-prob", type=float, default=None,
                        help="NER part: every char_spell uses this name-mode threshold (default: each one's own)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    results: Dict[str, object] = {}
    if args.ner_only:
        results["ner"] = {args.ner_only: ner_robustness(args.ner_model, split=args.ner_only,
                                                        own_pipeline_only=args.own_pipeline_only,
                                                        name_min_prob=args.name_min_prob,
                                                        phonetic_max_distance=args.phonetic_max_distance,
                                                        rare_word_min_rank=args.rare_word_min_rank)}
        if args.output:
            args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
        return 0
    nlp = spacy.blank("en")
    start = time.perf_counter()
    spell_config = {"pretrained": args.pretrained}
    for setting in ("phonetic_max_distance", "rare_word_min_rank"):
        if getattr(args, setting) is not None:
            spell_config[setting] = getattr(args, setting)
    speller = nlp.add_pipe("char_spell", config=spell_config)
    speller.build_indexes()  # now, not inside a timed section
    results["load_seconds"] = time.perf_counter() - start
    print(f"char_spell loaded, index built in {results['load_seconds']:.1f}s", flush=True)

    norvig = read_norvig(SPELLING / "norvig" / "spell-testset1.txt")
    toefl_rows = read_toefl_spell(SPELLING / "toefl-spell" / "Annotations.tsv")
    # word pairs only (single-word misspelling and correction), in every set alike
    toefl = [pair for part in TOEFL_SPLIT for pair in toefl_part(toefl_rows, part)]
    toefl_eval = toefl_part(toefl_rows, "eval")  # essays the shipped model never saw
    # the pairs the shipped model's ranking and settings were chosen on (as spell_build
    # takes them: tune essays, less the typos of the eval essays and of testset1)
    toefl_tune = without_typos(toefl_part(toefl_rows, "tune"), toefl_eval + norvig)
    toefl_sample = random.Random(0).sample(toefl, min(args.sample, len(toefl)))
    systems: List[Tuple[str, Suggest]] = [("char_spell", char_spell_suggester(speller))]
    if not args.skip_baselines:
        systems += [
            ("symspellpy 6.10.1", symspell_suggester("ALL")),
            ("symspellpy 6.10.1 (Verbosity.TOP)", symspell_suggester("TOP")),
            ("pyspellchecker 0.9.1", pyspellchecker_suggester()),
        ]
    rows = []
    for name, suggest in systems:
        runs = [("norvig testset1", norvig), (f"toefl-spell M (sample {len(toefl_sample)})", toefl_sample)]
        if not name.startswith("pyspellchecker"):  # pyspellchecker is too slow for thousands of pairs
            runs += [("toefl-spell M", toefl), ("toefl-spell M, tune essays", toefl_tune),
                     ("toefl-spell M, eval essays", toefl_eval)]
        for set_name, pairs in runs:
            rows.append({"set": set_name, **isolated_accuracy(name, suggest, pairs)})
            print(rows[-1], flush=True)
    results["isolated"] = rows

    jfleg = SPELLING / "jfleg"
    results["jfleg"] = sentence_level(nlp, speller, jfleg / "test.jfleg.noise", jfleg / "test.jfleg")
    print("jfleg", results["jfleg"], flush=True)
    results["conll_clean"] = clean_text(nlp, speller)
    print("conll clean", results["conll_clean"], flush=True)
    texts = {
        "jfleg_noisy": (jfleg / "test.jfleg.noise").read_text(encoding="utf-8").splitlines(),
        "jfleg_clean": (jfleg / "test.jfleg").read_text(encoding="utf-8").splitlines(),
        "conll_test": conll_texts(),
    }
    for name, lines in texts.items():
        # fresh pipelines for each text, so that "cold" means cold caches (tokenizer's too)
        fresh = spacy.blank("en")
        fresh.add_pipe("char_spell", config=spell_config).build_indexes()  # before timing
        results[f"throughput_{name}"] = throughput(fresh, lines)
        results[f"throughput_{name}_tokenizer_only"] = throughput(spacy.blank("en"), lines)
        print("throughput", name, results[f"throughput_{name}"], results[f"throughput_{name}_tokenizer_only"], flush=True)
    if args.ner_model:
        if args.ner_model.exists():
            results["ner"] = {"test": ner_robustness(args.ner_model, phonetic_max_distance=args.phonetic_max_distance,
                                                     rare_word_min_rank=args.rare_word_min_rank)}
        else:
            print(f"NER model {args.ner_model} not found: skipping the NER robustness part", file=sys.stderr)
    print(json.dumps(results, indent=2))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
