import sys, pickle, time, torch
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder
from harness.models.resolve import load_model, LoadOptions
from harness.requests import Loglikelihood
N, SHOTS = int(sys.argv[1]), int(sys.argv[2])
pairs, owners, enc, ref, variants = pickle.load(open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "rb"))
m = load_model(str(default_model_folder()), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
reqs = [Loglikelihood(c, x) for c, x in pairs]
m.plan_loglikelihood(reqs)
t = time.time()
half = len(reqs) // 3
out = m.loglikelihood(reqs[half:]) 
out = m.loglikelihood(reqs[:half]) + out
print("adapter time", time.time() - t)
print("exact", sum(a[0] == b for a, b in zip(out, ref)), len(ref))
