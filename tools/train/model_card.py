#!/usr/bin/env python3
"""Write MODEL_CARD.md for a demo-zoo model from its training.json and the studio's own probe results.

usage: model_card.py MODEL_DIR PROBE_JSON...
  PROBE_JSON: files written by `statescope-cli probe phonebook|passkey --model MODEL_DIR ... --out F`
  (docs/PROBES-JSON.md); each becomes a table of accuracy by length and depth, with the command that made it.
Needs only the Python standard library (it runs here, not on the GPU machine).
"""
import json, os, sys

# The mix of zoo v0 (run 4), whose training.json predates the "data_mix" field.
V0_DATA_MIX = [
    ["text", 0.35, "running text (a 944 KB TinyStories slice, Grimm's fairy tales and Alice in Wonderland with the "
                   "Project Gutenberg headers stripped; the last 2% of it held out)"],
    ["chat", 0.10, "chat turns (a story as the reply to a request for one, in the chat template of "
                   "tokenizer_config.json)"],
    ["phonebook", 0.45, "phone books in the format of the studio's phone-book probe (`Name: number` lines, two "
                        "repeated, a query; up to 8 more queries answered)"],
    ["passkey", 0.10, "passkey prompts in the passkey probe's format"],
]


def probe_table(path):
    with open(path) as f:
        run = json.load(f)
    s, o = run["summary"], run["options"]
    # the phone book's size at each length: the "units" of its samples (docs/PROBES-JSON.md), as a range
    units = {}
    for x in run["samples"]:
        if run["probe"] == "phonebook" and "units" in x:
            units.setdefault(x["length"], []).append(x["units"])
    head = "| length (tokens) | " + ("entries | " if units else "")
    lines = [f"**{run['probe']}** ({run['completed']} prompts, {o['samples']} per cell, seed {o['seed']}, "
             f"backend {run['backend']}; overall {s['overall']:.2f}):", "",
             head + " | ".join(f"depth {d:g}" for d in s["depths"]) + " |",
             "|---|" + ("---|" if units else "") + "---|" * len(s["depths"])]
    def entries(u):  # the entries column's cell: "-" where no sample ran, else the range of book sizes
        if not units:
            return ""
        if not u:
            return "- | "
        lo, hi = min(u), max(u)
        return f"{lo} | " if lo == hi else f"{lo}-{hi} | "

    for length, row in zip(s["lengths"], s["accuracy"]):
        lines.append(f"| {length} | " + entries(units.get(length)) +
                     " | ".join("-" if a is None else f"{a:.2f}" for a in row) + " |")
    cmd = (f"statescope-cli probe {run['probe']} --model resources/models/{os.path.basename(run['model']['path'])} "
           f"--lengths {','.join(str(x) for x in o['lengths'])} --depths {','.join(f'{d:g}' for d in o['depths'])} "
           f"--samples {o['samples']} --seed {o['seed']} --out {run['probe']}.json")
    return lines + ["", f"`{cmd}`", ""]


def recall_limits(probe_paths):
    """One sentence on what the probes found, from their overall accuracies."""
    overall = []
    for path in probe_paths:
        with open(path) as f:
            overall.append(json.load(f)["summary"]["overall"])
    if overall and max(overall) == 0:
        return ("At this budget the model did not learn to copy a number from its context: the recall probes "
                "score 0 in every cell.")
    return ("The recall tables above are this model's; the other zoo models' cards hold theirs for the same "
            "prompts.")


def main():
    model_dir, probes = sys.argv[1], sys.argv[2:]
    with open(os.path.join(model_dir, "training.json")) as f:
        t = json.load(f)
    name = os.path.basename(os.path.normpath(model_dir))
    cfg = ", ".join(f"{k}={v}" for k, v in t["config"].items() if k != "model_type")
    recall = ", ".join(f"{k} entries: {v:.2f}" for k, v in t["recall_by_book_size"].items()) \
        if isinstance(t.get("recall_by_book_size"), dict) else str(t.get("recall_by_book_size"))
    out = [
        f"# {name}: {t['description']}", "",
        f"A demo-zoo model made by the Statescope project with tools/train/train_zoo.py "
        f"({t['architecture']}, {t['parameters']:,} parameters, embeddings tied, stored in bf16). The four zoo "
        "models (zoo-mamba, zoo-mamba2, zoo-llama, zoo-hybrid) share one tokenizer file byte for byte, one data "
        "stream in one order and one step budget, so they differ only in architecture.", "",
        "## Shape", "", f"`{t['config']['model_type']}`: {cfg}; vocabulary 4096.", "",
        "## Data", "",
        "Byte-level BPE (4,096 tokens, trained on the corpus below) over one seeded stream of rows of 513 tokens: "
        + ", ".join(f"{round(share * 100)}% {what}" for _, share, what in t.get("data_mix", V0_DATA_MIX)) + ".", "",
        "## Training", "",
        f"- {t['steps']:,} steps of {t['batch']} x {t['seq']} tokens = {t['tokens_seen']:,} tokens seen; "
        f"AdamW (lr {t['lr']}, warm-up 100 steps, cosine to 10%), seed {t['seed']}.",
        f"- {t['train_seconds']:.0f} s on {t['device']} ({t.get('gpu_sharing', 'four models sharing the GPU')}), "
        f"torch {t['torch']}, "
        f"transformers {t['transformers']}.",
        f"- Final training loss (mean of the last three logged steps): {t['final_train_loss']:.3f}; "
        f"held-out loss: {t['valid_loss']}.",
        f"- Greedy continuation of {json.dumps(t['reference_prompt'])}: {json.dumps(t['reference_greedy_text'])}", "",
        "## Recall", "",
        f"The training script's own check (phone book, 20 prompts per size, transformers' generate): {recall}.", "",
        "Measured by the studio's probes on the CPU backend:", "",
    ]
    for p in probes:
        out += probe_table(p)
    out += [
        "## Limits", "",
        f"A toy: {t['tokens_seen'] / 1e6:.1f}M tokens on a 1.7 MB corpus. The held-out loss is far above the "
        "training loss (the text was seen many times over). " + recall_limits(probes) +
        " tests/runtime/zoo_test.cpp checks the engine against transformers on these weights (tests/data/zoo).", "",
        "## Licence", "",
        "Weights: GPL-3.0-or-later, as the project. Training data: TinyStories (Eldan & Li), CDLA-Sharing-1.0; "
        "Grimm's Fairy Tales (Project Gutenberg #2591) and Alice's Adventures in Wonderland (#11), public domain.",
    ]
    with open(os.path.join(model_dir, "MODEL_CARD.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
