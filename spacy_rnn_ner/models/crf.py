"""A linear-chain conditional random field in PyTorch.

All operations take padded emission scores of shape (batch, length, n_tags) and
a tensor of sequence lengths. Transition constraints (BIO/BILUO) are fixed
masks: forbidden transitions get a large negative score in training and
decoding alike, so a decoded path never breaks the tag scheme.
"""
from typing import Optional, Tuple

import numpy
import torch
from torch import Tensor, nn

FORBIDDEN = -10000.0


class LinearChainCRF(nn.Module):
    """Transition, start and end scores over a tag inventory, with constraints."""

    def __init__(
        self,
        n_tags: int,
        allowed: Optional[numpy.ndarray] = None,
        allowed_start: Optional[numpy.ndarray] = None,
        allowed_end: Optional[numpy.ndarray] = None,
    ) -> None:
        super().__init__()
        self.n_tags = n_tags
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start_transitions = nn.Parameter(torch.zeros(n_tags))
        self.end_transitions = nn.Parameter(torch.zeros(n_tags))
        self.register_buffer("transition_penalty", _penalty(allowed, (n_tags, n_tags)))
        self.register_buffer("start_penalty", _penalty(allowed_start, (n_tags,)))
        self.register_buffer("end_penalty", _penalty(allowed_end, (n_tags,)))

    def scores(self) -> Tuple[Tensor, Tensor, Tensor]:
        """Constrained (transition, start, end) scores."""
        return (
            self.transitions + self.transition_penalty,
            self.start_transitions + self.start_penalty,
            self.end_transitions + self.end_penalty,
        )

    def log_partition(
        self, emissions: Tensor, lengths: Tensor, tag_mask: Optional[Tensor] = None
    ) -> Tensor:
        """Log-sum-exp of the scores of all paths, per sequence (forward algorithm).

        tag_mask (batch, length, n_tags), if given, restricts the paths to the
        allowed tags at each position: with a gold mask this gives the gold score.
        """
        if tag_mask is not None:
            emissions = emissions.masked_fill(~tag_mask, FORBIDDEN)
        transitions, start, end = self.scores()
        exp_transitions = transitions.double().exp()  # float64: see _log_matmul
        active = _active_steps(lengths, emissions.shape[1])
        # unbind once: indexing emissions[:, t] in the loop would make backward quadratic.
        steps = emissions.unbind(1)
        alpha = start + steps[0]
        for t in range(1, len(steps)):
            step = _log_matmul(alpha, exp_transitions) + steps[t]
            alpha = torch.where(active[:, t : t + 1], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def negative_log_likelihood(
        self, emissions: Tensor, lengths: Tensor, gold_mask: Tensor
    ) -> Tensor:
        """Per-sequence NLL of the gold annotation; unknown gold tags are marginalised."""
        return self.log_partition(emissions, lengths) - self.log_partition(
            emissions, lengths, gold_mask
        )

    def viterbi(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """Best constrained tag path per sequence, padded with 0 past each length."""
        batch_size, max_len, _ = emissions.shape
        transitions, start, end = self.scores()
        active = _active_steps(lengths, max_len)
        score = start + emissions[:, 0]
        backpointers = []
        for t in range(1, max_len):
            best, best_prev = (score.unsqueeze(2) + transitions).max(dim=1)
            step = best + emissions[:, t]
            keep = active[:, t : t + 1]
            score = torch.where(keep, step, score)
            # Past a sequence's end, point each tag back to itself.
            identity = torch.arange(self.n_tags, device=emissions.device).expand_as(best_prev)
            backpointers.append(torch.where(keep, best_prev, identity))
        best_last = (score + end).argmax(dim=1)
        path = [best_last]
        for pointers in reversed(backpointers):
            best_last = pointers.gather(1, best_last.unsqueeze(1)).squeeze(1)
            path.append(best_last)
        path.reverse()
        tags = torch.stack(path, dim=1)
        return tags.masked_fill(~active, 0)

    def forward_backward(self, emissions: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Return log alpha, log beta (batch, length, n_tags) and log Z (batch,)."""
        batch_size, max_len, n_tags = emissions.shape
        transitions, start, end = self.scores()
        exp_transitions = transitions.double().exp()  # float64: see _log_matmul
        active = _active_steps(lengths, max_len)
        alphas = [start + emissions[:, 0]]
        for t in range(1, max_len):
            step = _log_matmul(alphas[-1], exp_transitions) + emissions[:, t]
            alphas.append(torch.where(active[:, t : t + 1], step, alphas[-1]))
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)
        # beta at each sequence's last position is the end score.
        last = (lengths - 1).clamp(min=0)
        betas = [end.expand(batch_size, n_tags)]
        for t in range(max_len - 2, -1, -1):
            step = _log_matmul(emissions[:, t + 1] + betas[-1], exp_transitions.T)
            at_end = (t == last).unsqueeze(1)
            inside = active[:, t + 1 : t + 2]
            betas.append(torch.where(inside, step, torch.where(at_end, end, betas[-1])))
        betas.reverse()
        return torch.stack(alphas, dim=1), torch.stack(betas, dim=1), log_z

    def marginals(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """P(tag at position t) for every position, (batch, length, n_tags)."""
        log_alpha, log_beta, log_z = self.forward_backward(emissions, lengths)
        return torch.exp(log_alpha + log_beta - log_z.view(-1, 1, 1))

    def path_log_probs(
        self, emissions: Tensor, lengths: Tensor, tags: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Marginal log-probabilities along a tag path.

        Returns (unary, pairwise): unary[b, t] = log P(y_t = tags[b, t]) and
        pairwise[b, t] = log P(y_t = tags[b, t], y_t+1 = tags[b, t+1]). By the
        Markov property, log P(y_s..y_e) = unary[s] + sum(pairwise[t] - unary[t]
        for t in s..e-1): the exact probability of a predicted span.
        """
        transitions, _, _ = self.scores()
        log_alpha, log_beta, log_z = self.forward_backward(emissions, lengths)
        log_z = log_z.view(-1, 1)
        index = tags.unsqueeze(2)
        alpha_path = log_alpha.gather(2, index).squeeze(2)
        beta_path = log_beta.gather(2, index).squeeze(2)
        emit_path = emissions.gather(2, index).squeeze(2)
        unary = alpha_path + beta_path - log_z
        pair_trans = transitions[tags[:, :-1], tags[:, 1:]]
        pairwise = alpha_path[:, :-1] + pair_trans + emit_path[:, 1:] + beta_path[:, 1:] - log_z
        return unary, pairwise


def _penalty(allowed: Optional[numpy.ndarray], shape: Tuple[int, ...]) -> Tensor:
    if allowed is None:
        return torch.zeros(shape)
    allowed_tensor = torch.as_tensor(numpy.asarray(allowed, dtype=bool))
    if tuple(allowed_tensor.shape) != shape:
        raise ValueError(f"Constraint mask has shape {tuple(allowed_tensor.shape)}, expected {shape}.")
    return torch.where(allowed_tensor, 0.0, FORBIDDEN).float()


def _log_matmul(log_scores: Tensor, exp_transitions: Tensor) -> Tensor:
    """log(exp(log_scores) @ exp_transitions), stably: one matrix product per step.

    Much faster than a logsumexp over (batch, n_tags, n_tags). The product is
    taken in float64 (exp_transitions is float64): in float32, predecessors more
    than ~70 nats below the best one underflowed to a clamped mass, which
    overstated the mass of tags reachable only from them. Sums of zero (only
    forbidden predecessors) are clamped to a tiny mass, not log(0), so gradients
    stay finite.
    """
    shift = log_scores.max(dim=1, keepdim=True).values.detach()
    mass = torch.exp((log_scores - shift).double()) @ exp_transitions
    return torch.log(torch.clamp_min(mass, 1e-300)).to(log_scores.dtype) + shift


def _active_steps(lengths: Tensor, max_len: int) -> Tensor:
    positions = torch.arange(max_len, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)
