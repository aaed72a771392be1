"""Experiment: which evalh bf16 scoring variant matches lm-eval's bf16 decisions on arc_easy?"""
import json, sys, time, math
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval  # offline env
import torch
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder, DEFAULT_DATA
from harness.models.resolve import load_model, LoadOptions
from harness.models import hf_scoring

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SHOTS = int(sys.argv[2]) if len(sys.argv) > 2 else 0
folder = default_model_folder()
rows = [json.loads(l) for l in open(DEFAULT_DATA / "allenai/ai2_arc/ARC-Easy/test.jsonl")][:N]
val = [json.loads(l) for l in open(DEFAULT_DATA / "allenai/ai2_arc/ARC-Easy/validation.jsonl")][:5]
def q(d): return f"Question: {d['question']}\nAnswer:"
def ans(d): return d["choices"]["text"][d["choices"]["label"].index(d["answerKey"])]
prefix = "".join(f"{q(d)} {ans(d)}\n\n" for d in val) if SHOTS else ""
pairs, owners = [], []
for i, d in enumerate(rows):
    for c in d["choices"]["text"]:
        pairs.append((prefix + q(d), " " + c)); owners.append(i)
m = load_model(str(folder), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
enc = m.encode_pairs(pairs)
from lm_eval.models.huggingface import HFLM
lm = HFLM(pretrained=m.model, tokenizer=m.tokenizer, batch_size=8, device="cpu")
t = time.time()
ref = [r[0] for r in lm._loglikelihood_tokens([(p, c, x) for p, (c, x) in zip(pairs, enc)], disable_tqdm=True)]
print("lm-eval", time.time() - t, flush=True)
variants = {}
t = time.time()
variants["packed_f32"] = [r[0] for r in hf_scoring.packed(m.model, enc, 8, "cpu", None)]
print("packed", time.time() - t, flush=True)
import pickle; pickle.dump((pairs, owners, enc, ref, variants), open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "wb"))

def decisions(scores):
    out = {}
    for i, d in enumerate(rows):
        idx = [k for k, o in enumerate(owners) if o == i]
        s = [scores[k] for k in idx]
        L = [len(pairs[k][1]) for k in idx]
        acc = max(range(len(s)), key=lambda j: s[j])  # first max, like numpy argmax
        accn = max(range(len(s)), key=lambda j: s[j] / L[j])
        out[i] = (acc, accn)
    return out
R = decisions(ref)
for name, v in variants.items():
    D = decisions(v)
    diff = [i for i in R if R[i] != D[i]]
    print(name, "items differ", len(diff), diff, "max|d|", max(abs(a - b) for a, b in zip(ref, v)))
