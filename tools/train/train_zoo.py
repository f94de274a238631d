#!/usr/bin/env python3
"""Train the demo zoo: four small language models on identical data, so the studio has real models to show.

The four share one tokenizer, one data pipeline (the same rows in the same order for the same seed) and one
step budget:
  mamba    MambaForCausalLM        (Mamba-1, selective scan)
  mamba2   Mamba2ForCausalLM       (Mamba-2, SSD)
  llama    LlamaForCausalLM        (Transformer baseline, GQA + RoPE)
  hybrid   NemotronHForCausalLM    (mostly Mamba-2 with one attention layer and two MLP layers)

Data: TinyStories slice + Grimm + Alice (Project Gutenberg headers stripped) as plain text and as chat turns,
mixed with two synthetic recall tasks in the formats of ANALYSES.md §5: phone-book lookup ("Name: number" lines
then a query) and passkey retrieval. The synthetic rows are where pure SSMs are expected to forget and
attention to recall.

Training speed: without mamba_ssm, transformers' Mamba layers fall back to scans that loop over tokens in Python
(2.5 s per step for Mamba-1, 0.57 s for Mamba-2 on an H200, against 0.05 s for the Transformer); fast_scan.py
beside this swaps in chunked parallel scans for training only, after checking them against the original forward.

usage:
  train_zoo.py tokenizer CORPUS_DIR OUT_DIR            byte-level BPE on the corpus -> OUT_DIR/tokenizer/
  train_zoo.py train NAME CORPUS_DIR OUT_DIR           train one model (run the four at once, one process each;
                                                       they agree on one step budget through OUT_DIR/timing)
Options of `train`: --budget-s S (training wall-clock the step budget is fitted to), --max-steps N, --seed S.
Run on the GPU machine; python3 there has torch, transformers, tokenizers and safetensors.
"""
import argparse, glob, json, math, os, random, re, sys, time, traceback

SPECIALS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
EOT, END = 0, 4  # ids of <|endoftext|> and <|end|> (specials are added first, in this order)
VOCAB = 4096
SEQ = 512
# 64 x 512 tokens a step, lr 3e-3, the first 30% of the steps with half the rows repeated spans: in a comparison
# on the H200 (tools/train/logs/2026-11-29-recipes.log) a Llama at batch 16 (lr 2e-3, with or without the early
# repeats) still copied nothing after 3,000 steps, while at batch 64 it looked up 20-entry phone books perfectly
# by step 1,000. Larger batches, not more steps, get the small models past the plateau before copying.
BATCH = 64
LR = 3e-3
EARLY = 0.3

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{%- endif %}"
)

FIRST = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph
Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Margaret Donald Sandra Steven Ashley
Paul Kimberly Andrew Emily Joshua Donna Kenneth Michelle Kevin Dorothy Brian Carol George Amanda Edward Melissa Ronald
Deborah Timothy Stephanie Jason Rebecca Jeffrey Sharon Ryan Laura Jacob Cynthia Gary Kathleen Nicholas Amy Eric Shirley
Jonathan Angela Stephen Helen Larry Anna Justin Brenda Scott Pamela Brandon Nicole Benjamin Emma Samuel Samantha Frank
Katherine Gregory Christine Raymond Debra Alexander Rachel Patrick Catherine Jack Carolyn Dennis Janet Jerry Ruth Tyler
Maria Aaron Heather Jose Diane Henry Virginia Adam Julie Douglas Joyce Nathan Victoria Peter Olivia Zachary Kelly
Kyle Christina Walter Lauren Harold Joan Jeremy Evelyn Ethan Judith Carl Megan Keith Cheryl Roger Andrea Gerald Hannah
Christian Martha Terry Jacqueline Sean Frances Arthur Gloria Austin Ann Noah Teresa Lawrence Kathryn Jesse Sara Joe
Janice Bryan Jean Billy Alice Jordan Madison Albert Doris Dylan Abigail Bruce Julia Willie Judy Gabriel Grace Alan
Denise Juan Amber Logan Marilyn Wayne Beverly Ralph Danielle Roy Theresa Eugene Sophia Randy Marie Vincent Diana Russell
Brittany Louis Natalie Philip Isabella Bobby Charlotte Johnny Rose Bradley Alexis Kayla""".split()
LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker
Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell
Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan
Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran
Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells
Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder
Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold
Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley
Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval""".split()

PASSKEY_PREFIX = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it.\n\n"
PASSKEY_BLOCK = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n"
PASSKEY_NEEDLE = "The passkey is {k}. Remember it. {k} is the passkey.\n"
PASSKEY_SUFFIX = "\nWhat is the pass key? The passkey is"

# Shapes chosen so the four together stay under 24 MB in bf16 (about 2.4-2.6M parameters each, embeddings tied,
# d_model 240): at d_model 256 the four came to 23.9 MB with the tokenizer files, too close to the limit.
CONFIGS = {
    "mamba": dict(model_type="mamba", hidden_size=240, state_size=16, num_hidden_layers=4, expand=2,
                  conv_kernel=4, time_step_rank=15),
    "mamba2": dict(model_type="mamba2", hidden_size=240, num_heads=15, head_dim=32, state_size=64, n_groups=1,
                   expand=2, num_hidden_layers=4, chunk_size=64),
    "llama": dict(model_type="llama", hidden_size=240, intermediate_size=352, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=60, max_position_embeddings=2048),
    "hybrid": dict(model_type="nemotron_h", hidden_size=240, hybrid_override_pattern="M*M-M-", mamba_num_heads=15,
                   mamba_head_dim=32, ssm_state_size=64, n_groups=1, chunk_size=64, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=60, intermediate_size=384, mlp_hidden_act="relu2",
                   max_position_embeddings=2048, use_mamba_kernels=False),
}
DESCRIPTION = {
    "mamba": "Mamba-1 (selective scan), 4 layers",
    "mamba2": "Mamba-2 (SSD), 4 layers",
    "llama": "Llama-style Transformer (GQA 4/2 heads, RoPE, SwiGLU), 4 layers",
    "hybrid": "Nemotron-H-style hybrid, pattern M*M-M- (3 Mamba-2, 1 attention, 2 relu² MLP layers)",
}
# The rows' mix (Rows.row draws one kind per row with these shares, in this order); the model card quotes it.
DATA_MIX = [
    ("text", 0.25, "running text (a 944 KB TinyStories slice, Grimm's fairy tales and Alice in Wonderland with the "
                   "Project Gutenberg headers stripped; the last 2% of it held out)"),
    ("chat", 0.08, "chat turns (a story as the reply to a request for one, in the chat template of "
                   "tokenizer_config.json)"),
    ("repeat", 0.20, "spans of 8-96 tokens written twice (half random token ids, half running text), which only "
                     "copying predicts"),
    ("phonebook", 0.35, "phone books in the format of the studio's phone-book probe (`Name: number` lines, two "
                        "repeated, a query; up to 8 more queries answered)"),
    ("passkey", 0.12, "passkey prompts in the passkey probe's format"),
]
REFERENCE_PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play"


# ---------------------------------------------------------------------------------------------- corpus

def strip_gutenberg(text):
    start = re.search(r"\*\*\* START OF TH[EI]S? PROJECT GUTENBERG EBOOK[^\n]*\n", text)
    end = re.search(r"\*\*\* END OF TH[EI]S? PROJECT GUTENBERG EBOOK", text)
    body = text[start.end() if start else 0:end.start() if end else len(text)].strip()
    return re.sub(r"\n\s*End of (the )?Project Gutenberg[^\n]*$", "", body).strip()


def read_corpus(corpus_dir):
    """Returns (documents, stories): documents are plain texts; stories are the TinyStories items (for chat rows).
    TinyStories slice: a story's paragraphs are separated by a blank line, stories by none."""
    stories, cur = [], []
    with open(os.path.join(corpus_dir, "tinystories-944k.txt"), encoding="utf-8") as f:
        prev_blank = True
        for line in f.read().split("\n"):
            if line.strip() == "":
                prev_blank = True
                continue
            if not prev_blank and cur:  # a non-empty line right after another: a new story starts
                stories.append("\n\n".join(cur))
                cur = []
            cur.append(line.strip())
            prev_blank = False
    if cur:
        stories.append("\n\n".join(cur))
    books = []
    for name in ("pg2591-grimm.txt", "pg11-alice.txt"):
        with open(os.path.join(corpus_dir, name), encoding="utf-8-sig") as f:
            books.append(strip_gutenberg(f.read()))
    return stories + books, stories


# ---------------------------------------------------------------------------------------------- tokenizer

def train_tokenizer(corpus_dir, out_dir):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    docs, _ = read_corpus(corpus_dir)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIALS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    # the synthetic tasks' text is in the training mix, so give the merges a look at it too
    rng = random.Random(1)
    extra = [phonebook_training_text(rng, rng.randint(4, 40)) for _ in range(400)]
    extra += [passkey_text(rng, rng.randint(2, 20), rng.random())[0] for _ in range(100)]
    tok.train_from_iterator(docs + extra, trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "model_max_length": 2048,
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(f"tokenizer: {tok.get_vocab_size()} tokens, {len(docs)} documents", flush=True)


# ---------------------------------------------------------------------------------------------- synthetic tasks

def phone(rng):
    return str(rng.randint(6, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(9))


def phonebook_text(rng, size):
    """ANALYSES.md §5.3: entries, then two of them again, then a query; the answer is the queried number."""
    names, seen = [], set()
    while len(names) < size:
        n = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if n not in seen:
            seen.add(n)
            names.append(n)
    entries = [f"{n}: {phone(rng)}" for n in names]
    a, b, q = rng.sample(range(size), 3) if size >= 3 else (0, 0, rng.randrange(size))
    prompt = "\n".join(entries) + "\n\n" + entries[a] + "\n" + entries[b] + "\n\n" + names[q] + ":"
    answer = entries[q].split(": ")[1]
    return prompt, answer, entries


def phonebook_training_text(rng, size):
    """A phone book as in phonebook_text, answered, then up to 8 more queries answered the same way: every answer
    is a copy of an earlier line, so a row teaches copying many times over (as multi-query associative recall
    does) while its start is exactly the probe's prompt."""
    prompt, answer, entries = phonebook_text(rng, size)
    more = [entries[rng.randrange(size)] for _ in range(rng.randint(0, 8))]
    return prompt + " " + answer + "\n" + "".join(e + "\n" for e in more)


def passkey_text(rng, nblocks, depth):
    """ANALYSES.md §5.1 at a short length: the needle replaces block int(depth * (nblocks - 1))."""
    k = f"{rng.randint(0, 99999):05d}"
    blocks = [PASSKEY_BLOCK] * nblocks
    blocks[int(depth * (nblocks - 1))] = PASSKEY_NEEDLE.format(k=k)
    return PASSKEY_PREFIX + "".join(blocks) + PASSKEY_SUFFIX, k


CHAT_ASKS = ["Tell me a story.", "Tell me a short story.", "Can you tell me a story?", "Please tell me a story.",
             "Write a story for a child.", "I want to hear a story."]


def chat_text(rng, story):
    m = re.search(r"named (\w+)", story)
    ask = f"Tell me a story about {m.group(1)}." if m and rng.random() < 0.5 else rng.choice(CHAT_ASKS)
    return f"<|user|>\n{ask}<|end|>\n<|assistant|>\n{story}<|end|>\n"


class Rows:
    """Training rows of SEQ+1 ids. One seeded stream of choices, so every model sees the same rows in order."""

    def __init__(self, tok, corpus_dir, seed):
        import numpy as np
        docs, self.stories = read_corpus(corpus_dir)
        ids = []
        for enc in tok.encode_batch(docs):
            ids.extend(enc.ids)
            ids.append(EOT)
        ids = np.array(ids, dtype=np.int64)
        cut = int(len(ids) * 0.98)
        self.train, self.valid = ids[:cut], ids[cut:]
        self.tok = tok
        self.rng = random.Random(seed)

    def _packed(self, make):
        out = []
        while len(out) < SEQ + 1:
            out.extend(self.tok.encode(make()).ids)
            out.append(EOT)
        return out[:SEQ + 1]

    def _repeat(self):
        """A span and the same span again: every token of the second copy is predictable only by finding the
        first (induction), the mechanism both recall probes need. Half the spans are random token ids (nothing to
        memorise, only copying helps), half a window of the running text."""
        r = self.rng
        n = r.randint(8, 96)
        if r.random() < 0.5:
            span = [r.randrange(len(SPECIALS), VOCAB) for _ in range(n)]
        else:
            s = r.randrange(len(self.train) - n)
            span = self.train[s:s + n].tolist()
        return span + span + [EOT]

    def row(self, early=False):
        """early: the curriculum's first steps, where half the rows are repeated spans (then the mix above)."""
        r, u = self.rng, self.rng.random()
        kind = DATA_MIX[-1][0]
        if early and r.random() < 0.5:
            u, kind = 1.0, "repeat"
        for k, share, _ in DATA_MIX:
            if u < share:
                kind = k
                break
            u -= share
        if kind == "text":
            s = r.randrange(len(self.train) - SEQ - 1)
            return self.train[s:s + SEQ + 1].tolist()
        if kind == "chat":
            return self._packed(lambda: chat_text(r, r.choice(self.stories)))
        if kind == "repeat":
            out = []
            while len(out) < SEQ + 1:
                out.extend(self._repeat())
            return out[:SEQ + 1]
        if kind == "phonebook":  # answer on its own line; half the books small, where copying is learnt first
            return self._packed(lambda: phonebook_training_text(r, r.randint(3, 12) if r.random() < 0.5 else
                                                                 r.randint(3, 40)))
        def key():  # passkey
            p, k = passkey_text(r, r.randint(2, 24), r.random())
            return p + " " + k + "."
        return self._packed(key)

    def batch(self, torch, device, batch, early=False):
        return torch.tensor([self.row(early) for _ in range(batch)], dtype=torch.long, device=device)


# ---------------------------------------------------------------------------------------------- training

def build_model(name, transformers, torch):
    kw = dict(CONFIGS[name])
    model_type = kw.pop("model_type")
    cfg = transformers.AutoConfig.for_model(model_type, vocab_size=VOCAB, tie_word_embeddings=True,
                                            bos_token_id=EOT, eos_token_id=END, pad_token_id=EOT, **kw)
    model = transformers.AutoModelForCausalLM.from_config(cfg)
    # NemotronH in transformers 5.17 keeps its own lm_head despite tie_word_embeddings: share it by hand
    head, emb = model.get_output_embeddings(), model.get_input_embeddings()
    if head is not None and head.weight is not emb.weight:
        head.weight = emb.weight
    return model


def agree_on_steps(out_dir, name, step_s, budget_s, max_steps, n_models=4, wait_s=300):
    """Every process writes its measured seconds per step; each then reads all four and takes the same budget:
    the steps the slowest model fits into budget_s. A model that never reports is left out after wait_s."""
    tdir = os.path.join(out_dir, "timing")
    os.makedirs(tdir, exist_ok=True)
    with open(os.path.join(tdir, name + ".json"), "w") as f:
        json.dump({"step_s": step_s}, f)
    t0 = time.time()
    def reported():
        return len(glob.glob(os.path.join(tdir, "*.json"))) + len(glob.glob(os.path.join(tdir, "*.failed")))

    while reported() < n_models and time.time() - t0 < wait_s:
        time.sleep(0.5)
    times = {}
    for p in glob.glob(os.path.join(tdir, "*.json")):
        with open(p) as f:
            times[os.path.basename(p)[:-5]] = json.load(f)["step_s"]
    slowest = max(times.values())
    steps = max(100, min(max_steps, int(budget_s / slowest) // 50 * 50))
    return steps, times


def lr_at(step, steps, peak, warmup=100):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def greedy(model, torch, ids, max_new):
    """Greedy continuation through transformers' own generate (with its cache), stopping at <|end|> or
    <|endoftext|>; returns the new ids."""
    x = torch.tensor([ids], dtype=torch.long, device=next(model.parameters()).device)
    with torch.no_grad():
        out = model.generate(x, max_new_tokens=max_new, do_sample=False, eos_token_id=[END, EOT],
                             pad_token_id=EOT)
    return out[0, len(ids):].tolist()


def recall_eval(model, torch, tok, seed, sizes=(5, 10, 20, 40), samples=20):
    """Phone-book accuracy by book size (first line of the continuation, stripped, equals the number)."""
    rng = random.Random(seed)
    res = {}
    model.eval()
    for size in sizes:
        ok = 0
        for _ in range(samples):
            p, a, _ = phonebook_text(rng, size)
            got = tok.decode(greedy(model, torch, tok.encode(p).ids, 16))
            ok += got.split("\n")[0].strip() == a
        res[size] = ok / samples
    return res


def copy_probe_rows(tok, seed, sizes=(5, 20), samples=32):
    """Fixed phone-book prompts with their answers, for copy_accuracy: (size, ids of prompt + " " + answer,
    number of prompt ids)."""
    rng = random.Random(seed)
    out = []
    for size in sizes:
        for _ in range(samples):
            p, a, _ = phonebook_text(rng, size)
            prompt = tok.encode(p).ids
            ids = tok.encode(p + " " + a).ids
            if ids[:len(prompt)] == prompt:  # the answer starts a new token (": " splits), so this holds
                out.append((size, ids, len(prompt)))
    for _ in range(samples):  # "rep": a span of 32 random ids written twice; scored per token of the second copy
        span = [rng.randrange(len(SPECIALS), VOCAB) for _ in range(32)]
        out.append(("rep", span + span, 33))
    return out


def copy_accuracy(model, torch, probe_rows, device):
    """Teacher-forced phone-book recall while training: the share of prompts whose every answer token is the
    argmax (cheap: one forward pass, no generation), and for "rep" the share of a repeated span's tokens
    predicted. Returns {size: accuracy}."""
    model.eval()
    width = max(len(ids) for _, ids, _ in probe_rows)
    x = torch.full((len(probe_rows), width), EOT, dtype=torch.long, device=device)
    for i, (_, ids, _) in enumerate(probe_rows):
        x[i, :len(ids)] = torch.tensor(ids, device=device)
    with torch.no_grad():
        pred = model(input_ids=x).logits.argmax(-1)
    model.train()
    hits = {}
    for i, (size, ids, n) in enumerate(probe_rows):
        right = [int(pred[i, t - 1]) == ids[t] for t in range(n, len(ids))]
        if size == "rep":
            hits.setdefault(size, []).extend(right)
        else:
            hits.setdefault(size, []).append(all(right))
    return {k: sum(v) / len(v) for k, v in hits.items()}


def validation_loss(model, torch, rows, device, n=16):
    model.eval()
    v = rows.valid
    step = max(1, (len(v) - SEQ - 1) // n)
    losses = []
    with torch.no_grad():
        for i in range(n):
            s = i * step
            x = torch.tensor([v[s:s + SEQ + 1].tolist()], dtype=torch.long, device=device)
            losses.append(float(model(input_ids=x[:, :-1], labels=x[:, :-1]).loss))
    model.train()
    return sum(losses) / len(losses)


def train(name, corpus_dir, out_dir, budget_s, max_steps, seed, lr, batch=BATCH, early=EARLY, n_models=4,
          diagnose=False):
    """early: the share of the steps run as the curriculum's first part (Rows.row(early=True)). diagnose: train
    and log only (no export, no evaluation), for comparing recipes."""
    import torch, transformers
    from tokenizers import Tokenizer
    torch.set_num_threads(3)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = Tokenizer.from_file(os.path.join(out_dir, "tokenizer", "tokenizer.json"))
    torch.manual_seed(seed)
    model = build_model(name, transformers, torch).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"[{name}] {type(model).__name__}: {n_params:,} parameters on {device}", flush=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fast_scan
    n_patched = fast_scan.patch_mixers(model, log=lambda m: print(f"[{name}]{m}", flush=True))
    fast_scan.use_compiled_scan(model, log=lambda m: print(f"[{name}]{m}", flush=True))
    fast_scan.use_triton_scan(model, log=lambda m: print(f"[{name}]{m}", flush=True))
    rows = Rows(tok, corpus_dir, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    model.train()
    probe_rows = copy_probe_rows(tok, seed=4321)
    log, copy_log, t_start, steps, step = [], [], time.time(), None, 0
    probe_steps, t_probe = 25, None
    while steps is None or step < steps:
        if step == 5:
            torch.cuda.synchronize() if device == "cuda" else None
            t_probe = time.time()
        if step == probe_steps and steps is None:
            torch.cuda.synchronize() if device == "cuda" else None
            step_s = (time.time() - t_probe) / (probe_steps - 5)
            steps, times = agree_on_steps(out_dir, name, step_s, budget_s, max_steps, n_models=n_models)
            print(f"[{name}] {step_s * 1000:.1f} ms/step; step budget {steps} (ms/step: " +
                  ", ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(times.items())) + ")", flush=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps or max_steps, lr)
        x = rows.batch(torch, device, batch, early=early > 0 and (steps is None or step < early * steps))
        out = model(input_ids=x[:, :-1], labels=x[:, :-1])
        loss = out.loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == (steps or 0) - 1:
            log.append((step, loss.item()))
            extra = ""
            if step % 250 == 0 or step == (steps or 0) - 1:
                acc = copy_accuracy(model, torch, probe_rows, device)
                copy_log.append((step, acc))
                extra = " copy " + " ".join(f"{k}:{v:.2f}" for k, v in acc.items())
            print(f"[{name}] step {step} loss {log[-1][1]:.3f}{extra} ({time.time() - t_start:.0f} s)", flush=True)
        step += 1
    train_s = time.time() - t_start
    fast_scan.unpatch_mixers(model)  # generation and export go through transformers' own forward
    final_loss = sum(l for _, l in log[-3:]) / len(log[-3:])
    print(f"[{name}] trained: {steps} steps in {train_s:.0f} s, last loss {final_loss:.3f}", flush=True)
    if diagnose:
        return
    stats = dict(steps=steps, batch=batch, seq=SEQ, tokens_seen=steps * batch * SEQ, curriculum_early_share=early,
                 train_seconds=round(train_s, 1), final_train_loss=round(final_loss, 4), parameters=n_params,
                 seed=seed, lr=lr, loss_log=log, copy_accuracy_log=copy_log,
                 gpu_sharing=os.environ.get("ZOO_GPU_SHARING", "run alone"), data_mix=[list(m) for m in DATA_MIX],
                 mixers_on_chunked_scan=n_patched,
                 torch=torch.__version__, transformers=transformers.__version__,
                 device=torch.cuda.get_device_name(0) if device == "cuda" else "cpu")
    # save first: the evaluations below are extras and must not cost the trained weights
    d = export(name, model, torch, transformers, tok, out_dir, stats)
    model = model.to(device).float()
    for what, fn in (("valid_loss", lambda: round(validation_loss(model, torch, rows, device), 4)),
                     ("recall_by_book_size", lambda: {str(k): v for k, v in
                                                      recall_eval(model, torch, tok, seed=1234).items()})):
        t0 = time.time()
        try:
            stats[what] = fn()
        except Exception as e:
            stats[what] = f"failed: {type(e).__name__}: {e}"
            traceback.print_exc()
        print(f"[{name}] {what}: {stats[what]} ({time.time() - t0:.0f} s)", flush=True)
        with open(os.path.join(d, "training.json"), "w") as f:
            json.dump(stats, f, indent=1)


def export(name, model, torch, transformers, tok, out_dir, stats):
    """Save in Hugging Face format (bf16), then reload the saved files in fp32 on the CPU and keep its logits
    for a fixed prompt: the reference the engine's test compares against."""
    import shutil
    from safetensors.torch import save_file
    d = os.path.join(out_dir, "models", f"zoo-{name}")
    model = model.to("cpu").to(torch.bfloat16)
    model.generation_config.eos_token_id = [END, EOT]
    model.generation_config.pad_token_id = EOT
    model.generation_config.bos_token_id = EOT
    head, emb = model.get_output_embeddings(), model.get_input_embeddings()
    tied = head is not None and head.weight is emb.weight
    if tied:  # save_pretrained would refuse (or duplicate) a shared tensor it was not told about
        head.weight = torch.nn.Parameter(emb.weight.detach().clone())
    model.save_pretrained(d, safe_serialization=True)
    if tied:
        from safetensors.torch import load_file
        path = os.path.join(d, "model.safetensors")
        tensors = load_file(path)
        head_keys = [k for k in tensors if k.endswith("lm_head.weight")]
        for k in head_keys:
            del tensors[k]
        save_file(tensors, path, metadata={"format": "pt"})
        print(f"[{name}] tied: dropped {head_keys} from model.safetensors", flush=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(out_dir, "tokenizer", f), os.path.join(d, f))
    ref = type(model).from_pretrained(d, dtype=torch.float32).eval()
    if tied:  # whatever the loader did with the missing lm_head, a tied model's head is its embedding matrix
        ref.get_output_embeddings().weight = ref.get_input_embeddings().weight
    ids = tok.encode(REFERENCE_PROMPT).ids
    with torch.no_grad():
        logits = ref(input_ids=torch.tensor([ids])).logits[0].float().contiguous()
    cont = greedy(ref, torch, ids, 24)
    rdir = os.path.join(out_dir, "reference")
    os.makedirs(rdir, exist_ok=True)
    save_file({"input_ids": torch.tensor(ids, dtype=torch.int64), "logits": logits,
               "greedy_ids": torch.tensor(cont, dtype=torch.int64)},
              os.path.join(rdir, f"zoo-{name}.safetensors"))
    stats.update(architecture=type(model).__name__, description=DESCRIPTION[name], reference_prompt=REFERENCE_PROMPT,
                 reference_greedy_text=tok.decode(cont), config=CONFIGS[name])
    with open(os.path.join(d, "training.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(f"[{name}] saved {d}; reference continuation: {tok.decode(cont)!r}", flush=True)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("verb", choices=["tokenizer", "train"])
    ap.add_argument("args", nargs="+")
    ap.add_argument("--budget-s", type=float, default=150)
    ap.add_argument("--max-steps", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--early", type=float, default=EARLY, help="share of the steps with half the rows repeated spans")
    ap.add_argument("--n-models", type=int, default=4, help="processes that agree on the step budget")
    ap.add_argument("--diagnose", action="store_true", help="train and log only: no export, no evaluation")
    a = ap.parse_args()
    if a.verb == "tokenizer":
        train_tokenizer(*a.args)
    else:
        name, corpus_dir, out_dir = a.args
        try:
            train(name, corpus_dir, out_dir, a.budget_s, a.max_steps, a.seed, a.lr, a.batch, a.early, a.n_models,
                  a.diagnose)
        except Exception:
            traceback.print_exc()
            # never leave the other processes waiting for this one's timing
            os.makedirs(os.path.join(out_dir, "timing"), exist_ok=True)
            open(os.path.join(out_dir, "timing", name + ".failed"), "w").close()
            sys.exit(1)


if __name__ == "__main__":
    main()
