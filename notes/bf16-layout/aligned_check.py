import sys, pickle, time, torch
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder
from harness.models.resolve import load_model, LoadOptions
from harness.models import hf_aligned
N, SHOTS = int(sys.argv[1]), int(sys.argv[2])
pairs, owners, enc, ref, variants = pickle.load(open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "rb"))
m = load_model(str(default_model_folder()), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
model = m.model; torch.set_grad_enabled(False)
widths = hf_aligned.plan_widths(enc, 8, m.max_length)
t = time.time()
out = hf_aligned.score(model, enc, widths, m.max_length, 8, "cpu")
print("aligned time", time.time() - t)
vals = [o[0] for o in out]
print("exact equal", sum(a == b for a, b in zip(vals, ref)), "/", len(ref))
bad = [i for i in range(len(ref)) if vals[i] != ref[i]]
for i in bad[:10]:
    c, x = enc[i]
    L = len(c) + len(x) - 1
    print(i, "c", len(c), "L", L, "W", widths[i], vals[i], ref[i])
variants["aligned"] = vals
pickle.dump((pairs, owners, enc, ref, variants), open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "wb"))
