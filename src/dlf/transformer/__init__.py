"""Module 3: attention and the Transformer, written from "Attention Is All You Need".

Read in this order: attention -> multi_head -> feed_forward -> positional -> blocks ->
encoder / decoder -> model -> training;
then the recurrent baseline: rnn -> seq2seq, and seq2seq_training, the loop of the recipes.
"""

from dlf.transformer.attention import (
    causal_mask,
    length_mask,
    padding_mask,
    scaled_dot_product_attention,
)
from dlf.transformer.blocks import DecoderLayer, EncoderLayer
from dlf.transformer.decoder import Decoder
from dlf.transformer.encoder import Encoder
from dlf.transformer.feed_forward import PositionwiseFeedForward
from dlf.transformer.model import (
    Transformer,
    TransformerConfig,
    base_parameter_count,
    count_parameters,
)
from dlf.transformer.multi_head import MultiHeadAttention
from dlf.transformer.positional import (
    POSITIONAL_ENCODINGS,
    LearnedPositionalEmbedding,
    NoPositionalEncoding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    positional_encoding,
)
from dlf.transformer.rnn import (
    BahdanauAttention,
    LSTMCell,
    RNNCell,
    RNNDecoder,
    RNNEncoder,
)
from dlf.transformer.seq2seq import Memory, Seq2Seq, Seq2SeqConfig
from dlf.transformer.seq2seq_training import (
    Batch,
    Evaluation,
    TrainResult,
    TrainSettings,
    chance_accuracy,
    decoder_step_fn,
    evaluate,
    greedy_decode,
    input_gradient_norms,
    make_batch,
    predict,
    teacher_forced_logits,
    token_accuracy,
    torch_threads,
    train,
)
from dlf.transformer.training import (
    LabelSmoothingLoss,
    bucket_by_length,
    noam_schedule,
    pad_batch,
    paper_optimizer,
)

__all__ = [
    "BahdanauAttention",
    "Batch",
    "Evaluation",
    "LSTMCell",
    "Memory",
    "RNNCell",
    "RNNDecoder",
    "RNNEncoder",
    "Seq2Seq",
    "Seq2SeqConfig",
    "TrainResult",
    "TrainSettings",
    "chance_accuracy",
    "decoder_step_fn",
    "evaluate",
    "greedy_decode",
    "input_gradient_norms",
    "make_batch",
    "predict",
    "teacher_forced_logits",
    "token_accuracy",
    "torch_threads",
    "train",
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "LabelSmoothingLoss",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "NoPositionalEncoding",
    "POSITIONAL_ENCODINGS",
    "PositionwiseFeedForward",
    "RotaryEmbedding",
    "SinusoidalPositionalEncoding",
    "Transformer",
    "TransformerConfig",
    "base_parameter_count",
    "bucket_by_length",
    "causal_mask",
    "count_parameters",
    "length_mask",
    "noam_schedule",
    "pad_batch",
    "padding_mask",
    "paper_optimizer",
    "positional_encoding",
    "scaled_dot_product_attention",
]
