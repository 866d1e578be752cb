"""The CRF against brute-force enumeration of every tag path on tiny inputs."""
import itertools

import numpy
import pytest
import torch

from spacy_rnn_ner.models.crf import LinearChainCRF
from spacy_rnn_ner.tags import make_tag_names, transition_constraints

torch.manual_seed(0)


def random_crf(n_tags: int, constraints=None) -> LinearChainCRF:
    crf = LinearChainCRF(n_tags, *(constraints or (None, None, None)))
    with torch.no_grad():
        for param in (crf.transitions, crf.start_transitions, crf.end_transitions):
            param.normal_()
    return crf


@torch.no_grad()
def path_score(crf: LinearChainCRF, emissions: torch.Tensor, path) -> float:
    transitions, start, end = crf.scores()
    score = start[path[0]] + emissions[0, path[0]] + end[path[-1]]
    for t in range(1, len(path)):
        score = score + transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    return float(score)


def all_paths(n_tags: int, length: int):
    return itertools.product(range(n_tags), repeat=length)


def test_log_partition_equals_brute_force():
    n_tags, lengths = 3, [4, 2, 1]
    crf = random_crf(n_tags)
    emissions = torch.randn(len(lengths), max(lengths), n_tags)
    log_z = crf.log_partition(emissions, torch.tensor(lengths)).detach()
    for b, length in enumerate(lengths):
        scores = [path_score(crf, emissions[b], p) for p in all_paths(n_tags, length)]
        assert float(log_z[b]) == pytest.approx(float(torch.logsumexp(torch.tensor(scores), 0)), abs=1e-4)


@pytest.mark.parametrize("margin", [30.0, 50.0, 80.0])
def test_log_partition_with_large_score_gaps(margin):
    # O, B, I: I may only follow B or I, so at t=2 it is reachable only from tags
    # far below the best one (O); float32 products lost that mass.
    allowed = numpy.array([[True, True, False], [True, True, True], [True, True, True]])
    crf = LinearChainCRF(3, allowed, numpy.array([True, True, False]), None)
    m = margin
    emissions = torch.tensor([[[m, -m, -m], [m, -m, -m], [-m, -m, m]]])
    log_z = float(crf.log_partition(emissions, torch.tensor([3])).detach())
    scores = []
    for path in all_paths(3, 3):
        if all(allowed[a, b] for a, b in zip(path, path[1:])) and path[0] != 2:
            scores.append(path_score(crf, emissions[0], path))
    assert log_z == pytest.approx(float(torch.logsumexp(torch.tensor(scores, dtype=torch.float64), 0)), abs=1e-3)


def test_nll_with_gold_mask_equals_brute_force():
    n_tags, length = 3, 4
    crf = random_crf(n_tags)
    emissions = torch.randn(1, length, n_tags)
    gold = [2, 0, 1, 1]
    mask = torch.zeros(1, length, n_tags, dtype=torch.bool)
    for t, tag in enumerate(gold):
        mask[0, t, tag] = True
    mask[0, 2] = True  # position 2 unknown: marginalised
    nll = crf.negative_log_likelihood(emissions, torch.tensor([length]), mask)
    scores = {p: path_score(crf, emissions[0], p) for p in all_paths(n_tags, length)}
    log_z = torch.logsumexp(torch.tensor(list(scores.values())), 0)
    consistent = [s for p, s in scores.items() if p[0] == 2 and p[1] == 0 and p[3] == 1]
    expected = log_z - torch.logsumexp(torch.tensor(consistent), 0)
    assert float(nll[0].detach()) == pytest.approx(float(expected), abs=1e-4)


def test_viterbi_equals_brute_force_argmax():
    n_tags, lengths = 4, [5, 3, 1]
    crf = random_crf(n_tags)
    emissions = torch.randn(len(lengths), max(lengths), n_tags)
    paths = crf.viterbi(emissions, torch.tensor(lengths))
    for b, length in enumerate(lengths):
        best = max(all_paths(n_tags, length), key=lambda p: path_score(crf, emissions[b], p))
        assert paths[b, :length].tolist() == list(best)
        assert paths[b, length:].tolist() == [0] * (max(lengths) - length)


def test_marginals_and_path_probabilities_equal_brute_force():
    n_tags, lengths = 3, [4, 2]
    crf = random_crf(n_tags)
    emissions = torch.randn(len(lengths), max(lengths), n_tags)
    lengths_t = torch.tensor(lengths)
    with torch.no_grad():
        marginals = crf.marginals(emissions, lengths_t)
        tags = crf.viterbi(emissions, lengths_t)
        unary, pairwise = crf.path_log_probs(emissions, lengths_t, tags)
    for b, length in enumerate(lengths):
        paths = list(all_paths(n_tags, length))
        probs = torch.softmax(torch.tensor([path_score(crf, emissions[b], p) for p in paths]), 0)
        for t in range(length):
            for tag in range(n_tags):
                expected = sum(float(pr) for p, pr in zip(paths, probs) if p[t] == tag)
                assert float(marginals[b, t, tag]) == pytest.approx(expected, abs=1e-5)
        path = tags[b, :length].tolist()
        # Probability of the whole predicted path from unary and pairwise terms.
        log_prob = float(unary[b, 0]) + sum(
            float(pairwise[b, t] - unary[b, t]) for t in range(length - 1)
        )
        expected_path = float(probs[paths.index(tuple(path))])
        assert numpy.exp(log_prob) == pytest.approx(expected_path, abs=1e-5)


def test_gradient_is_marginals_minus_gold():
    n_tags, length = 3, 5
    crf = random_crf(n_tags)
    emissions = torch.randn(1, length, n_tags, requires_grad=True)
    gold = torch.tensor([0, 1, 2, 2, 0])
    mask = torch.nn.functional.one_hot(gold, n_tags).bool().unsqueeze(0)
    crf.negative_log_likelihood(emissions, torch.tensor([length]), mask).sum().backward()
    expected = crf.marginals(emissions.detach(), torch.tensor([length]))[0] - mask[0].float()
    assert torch.allclose(emissions.grad[0], expected, atol=1e-5)


@pytest.mark.parametrize("scheme", ["BIO", "BILUO"])
def test_decoded_paths_respect_constraints(scheme):
    tag_names = make_tag_names(["PER", "LOC"], scheme)
    allowed, start, end = transition_constraints(tag_names, scheme)
    crf = random_crf(len(tag_names), (allowed, start, end))
    generator = torch.Generator().manual_seed(1)
    # Emissions that strongly favour invalid tags (I-, L-) everywhere.
    emissions = torch.randn(64, 12, len(tag_names), generator=generator) * 5
    lengths = torch.randint(1, 13, (64,), generator=generator)
    paths = crf.viterbi(emissions, lengths)
    for b in range(64):
        path = paths[b, : lengths[b]].tolist()
        assert start[path[0]], (scheme, [tag_names[i] for i in path])
        assert end[path[-1]], (scheme, [tag_names[i] for i in path])
        for prev, cur in zip(path, path[1:]):
            assert allowed[prev, cur], (scheme, [tag_names[i] for i in path])


@pytest.mark.parametrize("scheme", ["BIO", "BILUO"])
def test_constrained_viterbi_is_the_best_valid_path(scheme):
    tag_names = make_tag_names(["PER"], scheme)
    allowed, start, end = transition_constraints(tag_names, scheme)
    crf = random_crf(len(tag_names), (allowed, start, end))
    generator = torch.Generator().manual_seed(2)
    emissions = torch.randn(8, 5, len(tag_names), generator=generator) * 3
    lengths = torch.tensor([5, 4, 3, 2, 1, 5, 5, 3])
    paths = crf.viterbi(emissions, lengths)
    for b, length in enumerate(lengths.tolist()):
        valid = [
            p for p in all_paths(len(tag_names), length)
            if start[p[0]] and end[p[-1]] and all(allowed[a, c] for a, c in zip(p, p[1:]))
        ]
        best = max(valid, key=lambda p: path_score(crf, emissions[b], p))
        assert paths[b, :length].tolist() == list(best)


def test_group_means_equal_brute_force():
    from spacy_rnn_ner.models.torch_modules import group_means

    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 3)
    groups = torch.tensor([[0, 1, 0, 2, 1], [0, 0, 1, 3, 3]])
    lengths = torch.tensor([5, 3])
    pooled = group_means(hidden, groups, lengths)
    for b in range(2):
        for t in range(int(lengths[b])):
            same = [u for u in range(int(lengths[b])) if groups[b, u] == groups[b, t]]
            assert torch.allclose(pooled[b, t], hidden[b, same].mean(dim=0), atol=1e-6)
