import json, sys, time, math, pickle
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval
import torch
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder, DEFAULT_DATA
from harness.models.resolve import load_model, LoadOptions
from harness.models import hf_scoring
N, SHOTS = int(sys.argv[1]), int(sys.argv[2])
pairs, owners, enc, ref, variants = pickle.load(open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "rb"))
m = load_model(str(default_model_folder()), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
model = m.model

# variant: log_softmax in model dtype, sum in model dtype
orig_positions = hf_scoring._positions
def positions_native(model, ids, mask, positions, cache, rows_at):
    decoder, head = hf_scoring.split_head(model)
    keyword = {hf_scoring._cache_keyword(decoder): next(iter(cache.values()))} if cache else {}
    hidden = decoder(ids, attention_mask=mask, position_ids=positions, use_cache=False, **keyword).last_hidden_state
    return torch.log_softmax(head(hidden[rows_at]), dim=-1)
captured = []
hf_scoring._positions = positions_native
orig_fsum = math.fsum
def bf16sum(vals):
    return float(torch.tensor(vals, dtype=torch.bfloat16).sum())
hf_scoring.math = type("M", (), {"fsum": staticmethod(bf16sum)})
t = time.time()
variants["packed_bf16sm"] = [r[0] for r in hf_scoring.packed(model, enc, 8, "cpu", None)]
print("packed_bf16sm", time.time() - t, flush=True)
hf_scoring._positions = orig_positions
hf_scoring.math = math
rows = [None] * (max(owners) + 1)
def decisions(scores):
    out = {}
    for i in range(max(owners) + 1):
        idx = [k for k, o in enumerate(owners) if o == i]
        s = [scores[k] for k in idx]
        L = [len(pairs[k][1]) for k in idx]
        out[i] = (max(range(len(s)), key=lambda j: s[j]), max(range(len(s)), key=lambda j: s[j] / L[j]))
    return out
R = decisions(ref)
for name, v in variants.items():
    D = decisions(v)
    diff = [i for i in R if R[i] != D[i]]
    print(name, "items differ", len(diff), diff, "max|d|", max(abs(a - b) for a, b in zip(ref, v)),
          "exact equal", sum(a == b for a, b in zip(ref, v)), "/", len(ref))
pickle.dump((pairs, owners, enc, ref, variants), open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "wb"))
