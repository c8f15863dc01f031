"""umT5 tokenisation with `sentencepiece` directly (no `transformers`), plus a tiny locally-trained model.

Upstream tokenises with `AutoTokenizer("google/umt5-xxl")` through its `HuggingfaceTokenizer` wrapper:
whitespace clean-up, the sentencepiece pieces, an EOS (id 1) appended, padding with id 0 to
``max_length=512`` and truncation to it. umT5's `spiece.model` defines pad 0, eos 1, unk 2 itself, so
sentencepiece ids equal the Hugging Face ids.

The tiny tokenizer is trained in-process (well under a second) from `tiny_corpus.txt` with the same
special ids and a vocabulary that fits the tiny umT5 (256); nothing is downloaded.

CLI: ``python -m dreamzero_jax.text.tokenizer --tokenizer tiny "put the bowl on the plate"`` prints ids.
"""

from __future__ import annotations

import argparse
import functools
import html
import io
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sentencepiece as spm

TINY_CORPUS = Path(__file__).with_name("tiny_corpus.txt")
TINY_VOCAB = 256  # = the tiny umT5 config's vocab
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2  # umT5 conventions (spiece.model)


def clean_text(text: str) -> str:
    """Upstream's `whitespace_clean(basic_clean(text))`, without `ftfy.fix_text` (not a dependency).

    ftfy only repairs mis-decoded unicode (mojibake); for well-formed instructions it is the identity.
    """
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


class Tokenizer:
    """Texts -> (ids [B, text_len] int32, mask [B, text_len] int32), padded and truncated like upstream."""

    def __init__(self, processor: spm.SentencePieceProcessor, text_len: int):
        if processor.pad_id() != PAD_ID or processor.eos_id() != EOS_ID:
            raise ValueError(
                f"tokenizer model has pad/eos ids {processor.pad_id()}/{processor.eos_id()}, umT5 needs 0/1"
            )
        self.processor = processor
        self.text_len = text_len

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Ids of one cleaned text with EOS appended, truncated so that EOS stays (HF `truncation=True`)."""
        ids = self.processor.encode(clean_text(text), out_type=int)
        return [*ids[: self.text_len - 1], EOS_ID]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``, stopping at the first EOS and ignoring padding."""
        ids = [int(i) for i in ids]
        if EOS_ID in ids:
            ids = ids[: ids.index(EOS_ID)]
        return self.processor.decode([i for i in ids if i != PAD_ID])

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(texts, str):
            texts = [texts]
        ids = np.full((len(texts), self.text_len), PAD_ID, np.int32)
        mask = np.zeros((len(texts), self.text_len), np.int32)
        for row, text in enumerate(texts):
            encoded = self.encode(text)
            ids[row, : len(encoded)] = encoded
            mask[row, : len(encoded)] = 1
        return ids, mask


def train_tiny_model() -> bytes:
    """Train the tiny sentencepiece model from `tiny_corpus.txt`: the serialized model (same bytes each run)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TINY_CORPUS.read_text(encoding="utf-8").splitlines()),
        model_writer=model,
        model_type="unigram",
        vocab_size=TINY_VOCAB,
        hard_vocab_limit=False,
        character_coverage=1.0,
        # identity normalisation and kept whitespace make decode(encode(text)) == text exactly
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        pad_id=PAD_ID,
        eos_id=EOS_ID,
        unk_id=UNK_ID,
        bos_id=-1,
        num_threads=1,  # deterministic
        minloglevel=2,
    )
    return model.getvalue()


@functools.lru_cache(maxsize=1)
def _tiny_model_proto() -> bytes:
    return train_tiny_model()


def tiny_tokenizer(text_len: int = 512) -> Tokenizer:
    """Tokenizer for the tiny config, trained locally from `tiny_corpus.txt` (ids < 256)."""
    return Tokenizer(spm.SentencePieceProcessor(model_proto=_tiny_model_proto()), text_len)


def load_tokenizer(path: str | Path, text_len: int = 512) -> Tokenizer:
    """A umT5 tokenizer from a directory holding `spiece.model` (e.g. google/umt5-xxl) or the file itself."""
    path = Path(path)
    model_file = path / "spiece.model" if path.is_dir() else path
    if not model_file.is_file():
        raise FileNotFoundError(f"no sentencepiece model at {model_file} (expected a dir with spiece.model)")
    return Tokenizer(spm.SentencePieceProcessor(model_file=str(model_file)), text_len)


TOKENIZERS = {"tiny": tiny_tokenizer}


def get_tokenizer(name_or_path: str, text_len: int = 512) -> Tokenizer:
    """``"tiny"`` (see `TOKENIZERS`) or a path to a umT5 tokenizer directory / spiece.model."""
    if name_or_path in TOKENIZERS:
        return TOKENIZERS[name_or_path](text_len)
    return load_tokenizer(name_or_path, text_len)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tokenise a prompt the way DreamZero's umT5 sees it.")
    parser.add_argument("text", help="the prompt to tokenise")
    parser.add_argument(
        "--tokenizer", default="tiny", help="'tiny' (built locally) or a umT5 tokenizer dir / spiece.model"
    )
    parser.add_argument("--text-len", type=int, default=512, help="pad/truncate length (umT5-XXL: 512)")
    args = parser.parse_args(argv)
    if args.text_len < 1:
        print("error: --text-len must be at least 1", file=sys.stderr)
        return 2
    try:
        tok = get_tokenizer(args.tokenizer, args.text_len)
    except (FileNotFoundError, OSError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ids, mask = tok([args.text])
    n = int(mask.sum())
    print(f"{n} tokens (of {args.text_len}): {ids[0, :n].tolist()}")
    print(f"decoded: {tok.decode(ids[0])!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
