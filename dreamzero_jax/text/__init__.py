"""Text side of DreamZero: the umT5 tokenizer."""
