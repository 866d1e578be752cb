"""The torch module behind CharSpeller (imported only when a model is built)."""
from typing import Tuple

import torch
from torch import Tensor, nn

from .speller import BOS, EOS, PAD


class CharSeq2Seq(nn.Module):
    """BiGRU encoder, GRU decoder with Luong attention, over characters."""

    def __init__(self, n_chars: int, char_width: int, hidden_width: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_width, padding_idx=PAD)
        self.encoder = nn.GRU(char_width, hidden_width, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden_width, hidden_width)
        self.decoder = nn.GRU(char_width, hidden_width, batch_first=True)
        self.attend = nn.Linear(hidden_width, 2 * hidden_width, bias=False)
        self.combine = nn.Linear(3 * hidden_width, hidden_width)
        self.output = nn.Linear(hidden_width, n_chars)
        self.dropout = nn.Dropout(dropout)

    def encode(self, typos: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Encoder states, padding mask and the decoder's initial state for padded typos."""
        embedded = self.dropout(self.embed(typos))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.encoder(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=typos.shape[1])
        mask = typos != PAD
        mask[:, 0] = True
        start = torch.tanh(self.bridge(torch.cat([final[0], final[1]], dim=-1)))
        return outputs, mask, start

    def initial_state(self, memory: Tuple[Tensor, Tensor, Tensor]) -> Tensor:
        return memory[2][:1].unsqueeze(0).contiguous()

    def _logits(self, memory: Tuple[Tensor, Tensor, Tensor], rows: Tensor, decoded: Tensor) -> Tensor:
        outputs, mask = memory[0].index_select(0, rows), memory[1].index_select(0, rows)
        scores = torch.bmm(self.attend(decoded), outputs.transpose(1, 2))
        scores = scores.masked_fill(~mask.unsqueeze(1), -1e9)
        context = torch.bmm(torch.softmax(scores, dim=-1), outputs)
        hidden = torch.tanh(self.combine(torch.cat([decoded, context], dim=-1)))
        return self.output(self.dropout(hidden))

    def sequence_log_prob(self, memory: Tuple[Tensor, Tensor, Tensor], rows: Tensor, targets: Tensor) -> Tensor:
        """log P(target | typo) for targets framed as BOS ... EOS, each reading typo `rows[i]`."""
        inputs, gold = targets[:, :-1], targets[:, 1:]
        start = memory[2].index_select(0, rows).unsqueeze(0).contiguous()
        decoded, _ = self.decoder(self.dropout(self.embed(inputs)), start)
        log_probs = torch.log_softmax(self._logits(memory, rows, decoded), dim=-1)
        picked = log_probs.gather(2, gold.unsqueeze(-1)).squeeze(-1)
        return (picked * (gold != PAD)).sum(dim=1)

    def step(
        self, memory: Tuple[Tensor, Tensor, Tensor], rows: Tensor, previous: Tensor, state: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """One decoding step for a batch of beams: log probs of the next char and the new state."""
        decoded, state = self.decoder(self.embed(previous).unsqueeze(1), state)
        log_probs = torch.log_softmax(self._logits(memory, rows, decoded), dim=-1)
        return log_probs[:, 0], state

    def forward(self, typos: Tensor, lengths: Tensor, targets: Tensor) -> Tensor:
        """Negative log-likelihood of each target given its typo."""
        memory = self.encode(typos, lengths)
        rows = torch.arange(typos.shape[0], device=typos.device)
        return -self.sequence_log_prob(memory, rows, targets)


__all__ = ["CharSeq2Seq", "BOS", "EOS"]
