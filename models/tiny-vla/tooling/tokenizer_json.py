"""Writes Hugging Face `tokenizer.json` files for model packages (docs/model-package.md, format /3).

Standard library only; the files are read by the `tokenizers` library (in Java through DJL).

    python3 tokenizer_json.py words models/tiny-vla/model.json OUT.json
        The package's word list as a WordLevel tokenizer: lower-cased, split on whitespace, <bos>
        first. It gives exactly the ids of the word-list format, so a /2 package can be written as
        /3 without changing its graphs.

    python3 tokenizer_json.py llama-bpe OUT.json [--merges 200] [--reserved 256]
        A Llama-2-style tokenizer (SentencePiece BPE as Hugging Face writes it: "▁" for spaces,
        prepended to the text, byte fallback <0x00>..<0xFF>, <unk>=0 <s>=1 </s>=2, <s> added by the
        post-processor) trained on the skill instructions inside OpenVLA's prompt template. Its last
        `--reserved` ids are pieces no merge produces: the slots OpenVLA's action tokens overwrite
        (token = vocab_size - bin); "<PAD>" is an added token after them, as in OpenVLA. Used to
        test the OpenVLA conventions without Llama's own files.
"""
import argparse
import collections
import json
import sys

SPACE = "\u2581"  # ▁

SKILLS = (
    [f"move to the {c} block" for c in ("red", "green", "blue", "yellow")]
    + [f"grasp the {c} block" for c in ("red", "green", "blue", "yellow")]
    + ["lift the block", "move above the plate"]
    + [f"move above the {c} block" for c in ("red", "green", "blue", "yellow")]
    + ["release the block"]
)
OPENVLA_PROMPT = "In: What action should the robot take to {instruction}?\nOut:"


def special(token_id, content):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def template(bos, bos_id):
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }


def words(manifest_path):
    text = json.load(open(manifest_path))["text"]
    vocab = text["vocab"]
    ids = {}
    for i, w in enumerate(vocab):
        ids.setdefault(w, i)
    specials = [(i, w) for i, w in enumerate(vocab) if w.startswith("<") and w.endswith(">")
                and not w.startswith("<unused_")]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(i, w) for i, w in specials],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": template(vocab[text.get("bos_id", 1)], text.get("bos_id", 1)),
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": ids, "unk_token": vocab[text.get("unk_id", 3)]},
    }


def train_bpe(corpus_words, merges_wanted):
    """Classic BPE over words that start with ▁; returns the merges in order."""
    counts = collections.Counter(corpus_words)
    splits = {w: list(w) for w in counts}
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, n in counts.items():
            s = splits[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        # Most frequent, ties broken by the pair itself so the file is reproducible.
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        for w in counts:
            s, out, i = splits[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            splits[w] = out
    return merges


def llama_bpe(merges_wanted, reserved):
    corpus = []
    for skill in SKILLS:
        # As the normalizer leaves it: ▁ first and for every space; pieces never span a ▁ boundary
        # (SentencePiece splits on whitespace) nor a newline (it stays a byte, <0x0A>, as in Llama).
        normalized = SPACE + OPENVLA_PROMPT.format(instruction=skill).replace(" ", SPACE)
        for word in normalized.replace(SPACE, "\n" + SPACE).split("\n"):
            if word:
                corpus.append(word)
    merges = train_bpe(corpus, merges_wanted)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for ch in sorted({c for w in corpus for c in w}):
        vocab.setdefault(ch, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    for i in range(reserved):
        # Two characters no corpus word has: no merge can produce them.
        vocab[f"\u2590{i:03d}"] = len(vocab)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        # Like OpenVLA's tokenizer: Llama has no pad token, OpenVLA adds "<PAD>" after the vocabulary.
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>"), special(len(vocab), "<PAD>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": template("<s>", 1),
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="kind", required=True)
    w = sub.add_parser("words")
    w.add_argument("manifest")
    w.add_argument("out")
    b = sub.add_parser("llama-bpe")
    b.add_argument("out")
    b.add_argument("--merges", type=int, default=200)
    b.add_argument("--reserved", type=int, default=256)
    a = ap.parse_args()
    tokenizer = words(a.manifest) if a.kind == "words" else llama_bpe(a.merges, a.reserved)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    vocab = tokenizer["model"]["vocab"]
    print(f"{a.out}: {tokenizer['model']['type']}, {len(vocab)} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
