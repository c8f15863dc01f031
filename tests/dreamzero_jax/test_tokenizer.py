"""The umT5 tokenizer wrapper and the locally-trained tiny sentencepiece model."""

from __future__ import annotations

import numpy as np
import pytest

from dreamzero_jax.text.tokenizer import (
    EOS_ID,
    PAD_ID,
    clean_text,
    get_tokenizer,
    main,
    tiny_tokenizer,
    train_tiny_model,
)

TEXTS = [
    "put the bowl on the plate",
    "Pick up 2 blocks: the blue one, then the red one (stack them)!",
    "open the top drawer and put the bowl inside",
    "Zebra quux 42% {x} ~ unseen words still round-trip",
]


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer(text_len=64)


def test_round_trip(tok):
    for text in TEXTS:
        ids, _ = tok([text])
        assert tok.decode(ids[0]) == text


def test_padding_eos_and_mask_follow_umt5(tok):
    ids, mask = tok(TEXTS[:2])
    assert ids.shape == mask.shape == (2, 64) and ids.dtype == np.int32
    for row in range(2):
        n = int(mask[row].sum())
        assert np.all(mask[row, :n] == 1) and np.all(mask[row, n:] == 0)
        assert ids[row, n - 1] == EOS_ID and np.all(ids[row, n:] == PAD_ID)
        assert np.all(ids[row, : n - 1] > EOS_ID)
    assert ids.max() < 256  # fits the tiny umT5 vocabulary


def test_truncation_keeps_eos():
    short = tiny_tokenizer(text_len=8)
    ids, mask = short([TEXTS[1]])
    assert mask.sum() == 8 and ids[0, -1] == EOS_ID
    assert TEXTS[1].startswith(short.decode(ids[0]).rstrip())


def test_training_is_deterministic(tmp_path):
    """Two separate trainings (not the cached model) give the same model file and the same ids."""
    ids = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "spiece.model").write_bytes(train_tiny_model())
        ids.append(get_tokenizer(str(tmp_path / run), text_len=64)(TEXTS)[0])
    assert (tmp_path / "first/spiece.model").read_bytes() == (tmp_path / "second/spiece.model").read_bytes()
    np.testing.assert_array_equal(ids[0], ids[1])


def test_whitespace_clean_like_upstream(tok):
    assert clean_text("  put\tthe &amp;amp; bowl \n on  ") == "put the & bowl on"
    np.testing.assert_array_equal(tok(["put  the\nbowl "])[0], tok(["put the bowl"])[0])


def test_loading_from_a_directory(tmp_path, tok):
    (tmp_path / "spiece.model").write_bytes(tok.processor.serialized_model_proto())
    loaded = get_tokenizer(str(tmp_path), text_len=64)
    np.testing.assert_array_equal(loaded(TEXTS)[0], tok(TEXTS)[0])


def test_cli(capsys, tmp_path):
    assert main(["--text-len", "16", "put the bowl on the plate"]) == 0
    assert "decoded: 'put the bowl on the plate'" in capsys.readouterr().out
    assert main(["--tokenizer", str(tmp_path / "missing"), "x"]) == 2
    assert "error:" in capsys.readouterr().err
