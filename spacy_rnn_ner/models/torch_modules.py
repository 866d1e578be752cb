"""PyTorch modules wrapped by the thinc architectures in this package.

Every size a module needs is a constructor argument, so a pipeline can rebuild
the module from its config and stored shapes before loading weights.
"""
from typing import List, Optional, Sequence, Tuple

import numpy
import torch
from torch import Tensor, nn

from .crf import LinearChainCRF

RNN_TYPES = {"lstm": nn.LSTM, "gru": nn.GRU}


class CharCNN(nn.Module):
    """Character embeddings, 1-d convolutions of several widths, max-pooled per word.

    Input: (n_types, max_chars) character ids of distinct word types, 0 for
    padding, and the type index of each token. Output: (n_tokens,
    n_filters * len(window_widths)). Each type is convolved once per batch.
    """

    def __init__(
        self,
        n_chars: int,
        char_width: int,
        n_filters: int,
        window_widths: Sequence[int],
    ) -> None:
        super().__init__()
        self.window_widths = list(window_widths)
        self.embed = nn.Embedding(n_chars, char_width, padding_idx=0)
        # A convolution of width w is one matrix product over w stacked
        # neighbours: much faster on a CPU than conv1d with few channels.
        self.filters = nn.ModuleList(nn.Linear(width * char_width, n_filters) for width in window_widths)

    def forward(self, char_ids: Tensor, token_types: Tensor, dropout: float = 0.0) -> Tensor:
        use_dropout = dropout > 0.0 and self.training
        if not torch.is_grad_enabled() and not use_dropout:
            return self.features_by_lookup(char_ids)[token_types]
        padding = (char_ids == 0).unsqueeze(2)
        embedded = self.embed(char_ids)
        if use_dropout:
            embedded = nn.functional.dropout(embedded, dropout, training=True)
        n_chars = char_ids.shape[1]
        pooled = []
        for width, linear in zip(self.window_widths, self.filters):
            left = (width - 1) // 2
            padded = nn.functional.pad(embedded, (0, 0, left, width - 1 - left))
            windows = torch.cat([padded[:, i : i + n_chars] for i in range(width)], dim=2)
            pooled.append(_max_pool_words(linear(windows), padding))
        return torch.cat(pooled, dim=1)[token_types]

    def features_by_lookup(self, char_ids: Tensor) -> Tensor:
        """Each type's pooled features, as `forward` computes them without dropout, by
        table lookups: a window's filter response is a sum over its positions of
        (character embedding x that position's filter slice), so each position's
        products are computed once per character (n_chars rows) instead of once
        per character occurrence. For prediction, where nothing is learnt.
        """
        n_types, n_chars = char_ids.shape
        padding = (char_ids == 0).unsqueeze(2)
        pooled = []
        for width, linear in zip(self.window_widths, self.filters):
            n_filters = linear.out_features
            # (width, vocab + 1, n_filters); the extra last row is the zero padding beyond a word's edges
            slices = linear.weight.view(n_filters, width, -1)
            tables = torch.einsum("vc,fwc->wvf", self.embed.weight, slices)
            tables = nn.functional.pad(tables, (0, 0, 0, 1))
            left = (width - 1) // 2
            edge = tables.shape[1] - 1
            ids = nn.functional.pad(char_ids, (left, width - 1 - left), value=edge)
            # offset each position's ids into its own block of one flat table
            flat_ids = torch.stack([ids[:, i : i + n_chars] + i * tables.shape[1] for i in range(width)], dim=2)
            features = nn.functional.embedding_bag(
                flat_ids.reshape(-1, width), tables.reshape(-1, n_filters), mode="sum"
            ).view(n_types, n_chars, n_filters)
            pooled.append(_max_pool_words(features + linear.bias, padding))
        return torch.cat(pooled, dim=1)


def _max_pool_words(features: Tensor, padding: Tensor) -> Tensor:
    """(n_types, n_chars, n_filters) filter responses -> (n_types, n_filters): the
    tanh of each filter's maximum over the word's characters (padding excluded)."""
    return torch.tanh(features.masked_fill(padding, -1e4).max(dim=1).values)


class BiRNN(nn.Module):
    """Stacked bidirectional LSTM/GRU over right-padded sequences.

    Each direction is its own unidirectional RNN over padded input; the
    backward one reads each sequence reversed within its length. This avoids
    packed sequences, whose backward pass is quadratic in length on a CPU.
    """

    def __init__(self, n_inputs: int, hidden_width: int, depth: int, rnn_type: str) -> None:
        super().__init__()
        rnn_class = RNN_TYPES[rnn_type]
        widths = [n_inputs] + [2 * hidden_width] * (depth - 1)
        self.forward_layers = nn.ModuleList(rnn_class(w, hidden_width, batch_first=True) for w in widths)
        self.backward_layers = nn.ModuleList(rnn_class(w, hidden_width, batch_first=True) for w in widths)

    def forward(self, inputs: Tensor, lengths: Tensor, compute_dtype: Optional[torch.dtype] = None) -> Tensor:
        return self.layer_outputs(inputs, lengths, compute_dtype)[-1]

    def layer_outputs(
        self, inputs: Tensor, lengths: Tensor, compute_dtype: Optional[torch.dtype] = None
    ) -> List[Tensor]:
        """Each layer's (batch, length, 2 * hidden_width) states: forward, then backward.
        Only the first layer's forward states have not read the words ahead.

        compute_dtype: a lower precision (torch.bfloat16) for the RNNs' matrix
        products, under autocast; their states are returned as float32.
        """
        return self._run_layers(inputs, lengths, compute_dtype, last_apart=False)[0]

    def last_layer_directions(
        self, inputs: Tensor, lengths: Tensor, compute_dtype: Optional[torch.dtype] = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """The last layer's forward states, its backward states in the order the
        backward RNN read them (each sequence reversed within its length), and the
        (batch, max_len, 1) index that puts them in reading order: what
        `layer_outputs` concatenates for the last layer, without the concatenation.
        """
        return self._run_layers(inputs, lengths, compute_dtype, last_apart=True)[1]

    def _run_layers(
        self, inputs: Tensor, lengths: Tensor, compute_dtype: Optional[torch.dtype], last_apart: bool
    ) -> Tuple[List[Tensor], Optional[Tuple[Tensor, Tensor, Tensor]]]:
        """Every layer's concatenated states; with `last_apart`, those of all layers
        but the last, and the last one's directions as `last_layer_directions` gives them."""
        reverse = _reverse_index(lengths, inputs.shape[1]).unsqueeze(2)
        hidden = inputs
        outputs = []
        for layer, (forward_rnn, backward_rnn) in enumerate(zip(self.forward_layers, self.backward_layers)):
            forward_out = _run_rnn(forward_rnn, hidden, compute_dtype)
            backward_read = _run_rnn(backward_rnn, _reorder(hidden, reverse), compute_dtype)
            if last_apart and layer == len(self.forward_layers) - 1:
                return outputs, (forward_out, backward_read, reverse)
            hidden = torch.cat([forward_out, _reorder(backward_read, reverse)], dim=2)
            outputs.append(hidden)
        return outputs, None


def _reorder(sequences: Tensor, index: Tensor) -> Tensor:
    """(batch, length, width) sequences with each one's positions taken in `index` order."""
    return sequences.gather(1, index.expand(-1, -1, sequences.shape[2]))


def _run_rnn(rnn: nn.Module, inputs: Tensor, compute_dtype: Optional[torch.dtype]) -> Tensor:
    if compute_dtype is None:
        return rnn(inputs)[0]
    with torch.autocast(device_type=inputs.device.type, dtype=compute_dtype):
        outputs = rnn(inputs)[0]
    return outputs.to(inputs.dtype)


def group_means(hidden: Tensor, groups: Tensor, lengths: Tensor) -> Tensor:
    """For each position, the mean of `hidden` over the positions of its sequence
    that share its group id (padding excluded)."""
    batch, length, width = hidden.shape
    active = (torch.arange(length, device=hidden.device).unsqueeze(0) < lengths.to(hidden.device).unsqueeze(1))
    active = active.unsqueeze(2).to(hidden.dtype)
    index = groups.long().unsqueeze(2)
    sums = hidden.new_zeros(batch, length, width).scatter_add(1, index.expand(-1, -1, width), hidden * active)
    counts = hidden.new_zeros(batch, length, 1).scatter_add(1, index, active)
    return sums.gather(1, index.expand(-1, -1, width)) / counts.gather(1, index).clamp(min=1.0)


def _reverse_index(lengths: Tensor, max_len: int) -> Tensor:
    """(batch, max_len) time indices reversing each sequence within its length."""
    positions = torch.arange(max_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.to(positions.device).unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def _lm_head(hidden_width: int, lm_width: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(hidden_width, lm_width), nn.Tanh(), nn.Linear(lm_width, n_classes))


class _WithAuxiliaryLoss(torch.autograd.Function):
    """Identity on `output`; in backward, `loss` also gets the gradient `scale`.

    thinc back-propagates a wrapped torch module from the gradient of its output
    alone; this adds `scale * loss` to what that gradient trains.
    """

    @staticmethod
    def forward(ctx, output: Tensor, loss: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        ctx.loss_shape = loss.shape
        return output.clone()

    @staticmethod
    def backward(ctx, d_output: Tensor):  # type: ignore[override]
        d_loss = d_output.new_full(ctx.loss_shape, ctx.scale)
        return d_output, d_loss, None


class BiRNNEncoder(nn.Module):
    """Bidirectional LSTM/GRU over padded sequences, projected to tag scores.

    Holds the CRF's transition scores too when the decoder is a CRF, so that the
    optimizer that updates the RNN (thinc's, through the shim) updates them.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden_width: int,
        n_tags: int,
        depth: int = 1,
        rnn_type: str = "lstm",
        use_crf: bool = True,
        allowed: Optional[numpy.ndarray] = None,
        allowed_start: Optional[numpy.ndarray] = None,
        allowed_end: Optional[numpy.ndarray] = None,
        doc_pooling: bool = False,
        lm_vocab_size: int = 0,
        lm_width: int = 64,
    ) -> None:
        super().__init__()
        if rnn_type not in RNN_TYPES:
            raise ValueError(f"Unknown rnn_type '{rnn_type}': expected one of {sorted(RNN_TYPES)}.")
        self.rnn = BiRNN(n_inputs, hidden_width, depth, rnn_type)
        # With document pooling each token also sees the mean state of every
        # occurrence of its word in the sequence ("Roosevelt" in all its contexts).
        self.doc_pooling = doc_pooling
        self.output = nn.Linear((4 if doc_pooling else 2) * hidden_width, n_tags)
        # With the softmax decoder the CRF keeps zero, frozen transition scores:
        # it then only enforces the tag scheme's constraints when decoding.
        self.use_crf = use_crf
        self.crf = LinearChainCRF(n_tags, allowed, allowed_start, allowed_end)
        if not use_crf:
            self.crf.requires_grad_(False)
        # Language-model heads (training only): the forward RNN's state predicts the
        # next word, the backward one's the previous word, over lm_vocab_size words
        # and one "other" class (id 0).
        self.lm_heads = None
        # Language-model loss summed since it was last read (pop_lm_loss), for reporting.
        self.lm_loss_sum: "float | Tensor" = 0.0
        if lm_vocab_size > 0:
            self.lm_heads = nn.ModuleList(_lm_head(hidden_width, lm_width, lm_vocab_size + 1) for _ in range(2))

    def forward(
        self,
        inputs: Tensor,
        lengths: Tensor,
        groups: Optional[Tensor] = None,
        lm_targets: Optional[Tensor] = None,
        *,
        dropout: float = 0.0,
        lm_scale: float = 0.0,
        inference_dtype: Optional[str] = None,
    ) -> Tensor:
        """Map (batch, length, n_inputs) features to (batch, length, n_tags) scores.

        groups (batch, length): with doc_pooling, tokens with the same id in a
        sequence share a pooled state; ids are below the sequence length.
        lm_targets (batch, length): in training, each token's word id for the
        language-model heads (-1: no target, e.g. padding). Their summed
        cross-entropy, times lm_scale, is added to the loss that the scores'
        gradient comes from.
        inference_dtype: "bfloat16" runs the RNN's matrix products in bfloat16
        when not training (see spacy_rnn_ner.models.birnn.INFERENCE_PRECISIONS).
        """
        use_dropout = dropout > 0.0 and self.training
        compute_dtype = torch.bfloat16 if inference_dtype == "bfloat16" and not self.training else None
        if not torch.is_grad_enabled() and not use_dropout:
            return self.predict_scores(inputs, lengths, groups, compute_dtype)
        if use_dropout:
            inputs = nn.functional.dropout(inputs, dropout, training=True)
        layers = self.rnn.layer_outputs(inputs, lengths, compute_dtype)
        hidden = layers[-1]
        if use_dropout:
            hidden = nn.functional.dropout(hidden, dropout, training=True)
        scores = self._tag_scores(hidden, lengths, groups)
        if lm_targets is not None and lm_scale > 0.0 and self.lm_heads is not None and self.training:
            # The first layer's states: from the second layer on, the forward
            # states have read the backward ones, which saw the word ahead.
            first = hidden if len(layers) == 1 else layers[0]
            if len(layers) > 1 and use_dropout:
                first = nn.functional.dropout(first, dropout, training=True)
            loss = self.language_model_loss(first, lm_targets, lengths)
            self.lm_loss_sum = self.lm_loss_sum + loss.detach()  # a tensor: no device sync here
            scores = _WithAuxiliaryLoss.apply(scores, loss, lm_scale)
        return scores

    def predict_scores(
        self, inputs: Tensor, lengths: Tensor, groups: Optional[Tensor], compute_dtype: Optional[torch.dtype]
    ) -> Tensor:
        """`forward`'s tag scores without dropout or the language model, for prediction.

        The output layer is linear, so each direction's states are projected apart
        and summed: only the backward direction's projections (a few scores per
        token, not hidden_width states) are put back in reading order, and the
        two directions' states are never concatenated.
        """
        forward_states, backward_states, reverse = self.rnn.last_layer_directions(inputs, lengths, compute_dtype)
        width = forward_states.shape[2]
        weight = self.output.weight
        n_parts = weight.shape[1] // (2 * width)  # [own; pooled] with doc pooling, else [own]
        forward_weight = torch.cat([weight[:, 2 * width * p : 2 * width * p + width] for p in range(n_parts)])
        backward_weight = torch.cat([weight[:, 2 * width * p + width : 2 * width * (p + 1)] for p in range(n_parts)])
        projected = nn.functional.linear(forward_states, forward_weight) + _reorder(
            nn.functional.linear(backward_states, backward_weight), reverse
        )
        n_tags = weight.shape[0]
        own = projected[:, :, :n_tags] + self.output.bias
        if not self.doc_pooling:
            return own
        if groups is None:
            raise ValueError("doc_pooling needs the group id of each token.")
        return own + group_means(projected[:, :, n_tags:], groups, lengths)

    def pop_lm_loss(self) -> float:
        """The language-model loss summed over the batches since the last call."""
        loss, self.lm_loss_sum = self.lm_loss_sum, 0.0
        return float(loss)

    def language_model_loss(self, first_layer: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """Summed cross-entropy of the next word (forward states) and the previous
        word (backward states): up to two terms per token; targets of -1 are ignored.

        first_layer (batch, length, 2 * hidden_width): the first RNN layer's states.
        """
        forward_logits, backward_logits = self.language_model_logits(first_layer)
        targets = targets.long()
        cross_entropy = nn.functional.cross_entropy
        n_classes = forward_logits.shape[2]
        next_words = targets[:, 1:]
        # The backward state at a padding position has read nothing real.
        positions = torch.arange(1, targets.shape[1], device=targets.device).unsqueeze(0)
        padding = positions >= lengths.to(targets.device).unsqueeze(1)
        previous_words = targets[:, :-1].masked_fill(padding, -1)
        return cross_entropy(
            forward_logits.reshape(-1, n_classes), next_words.reshape(-1), ignore_index=-1, reduction="sum"
        ) + cross_entropy(
            backward_logits.reshape(-1, n_classes), previous_words.reshape(-1), ignore_index=-1, reduction="sum"
        )

    def language_model_logits(self, first_layer: Tensor) -> Tuple[Tensor, Tensor]:
        """Next-word logits from the forward states of positions 0..n-2 and
        previous-word logits from the backward states of positions 1..n-1, read
        from the first RNN layer (the only one whose states have not seen the
        word they predict)."""
        if self.lm_heads is None:
            raise ValueError("This encoder was built without language-model heads.")
        width = first_layer.shape[2] // 2
        return self.lm_heads[0](first_layer[:, :-1, :width]), self.lm_heads[1](first_layer[:, 1:, width:])

    def _tag_scores(self, hidden: Tensor, lengths: Tensor, groups: Optional[Tensor]) -> Tensor:
        if not self.doc_pooling:
            return self.output(hidden)
        if groups is None:
            raise ValueError("doc_pooling needs the group id of each token.")
        # output([h; mean(h)]) = W_h h + b + mean(W_p h): pooling the projected
        # scores (n_tags wide) is much cheaper than pooling the states.
        width = hidden.shape[2]
        weight = self.output.weight
        own = nn.functional.linear(hidden, weight[:, :width], self.output.bias)
        return own + group_means(nn.functional.linear(hidden, weight[:, width:]), groups, lengths)

    def loss(self, scores: Tensor, lengths: Tensor, gold_mask: Tensor) -> Tensor:
        """Per-sequence negative log-likelihood of the gold tags.

        gold_mask (batch, length, n_tags) marks the tags allowed at each
        position: one for annotated tokens, all for tokens with unknown gold.
        """
        if self.use_crf:
            return self.crf.negative_log_likelihood(scores, lengths, gold_mask)
        log_probs = torch.log_softmax(scores, dim=2)
        gold_log_probs = torch.logsumexp(log_probs.masked_fill(~gold_mask, -10000.0), dim=2)
        active = torch.arange(scores.shape[1], device=scores.device) < lengths.unsqueeze(1)
        return -(gold_log_probs * active).sum(dim=1)

    def decode(self, scores: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Best valid tag path and its marginal log-probabilities (see CRF.path_log_probs)."""
        if self.use_crf:
            tags = self.crf.viterbi(scores, lengths)
            unary, pairwise = self.crf.path_log_probs(scores, lengths, tags)
            return tags, unary, pairwise
        log_probs = torch.log_softmax(scores, dim=2)
        tags = self.crf.viterbi(log_probs, lengths)
        unary = log_probs.gather(2, tags.unsqueeze(2)).squeeze(2)
        # Independent tokens: P(y_t, y_t+1) = P(y_t) P(y_t+1).
        return tags, unary, unary[:, :-1] + unary[:, 1:]
