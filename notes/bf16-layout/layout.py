import sys, pickle, torch
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder
from harness.models.resolve import load_model, LoadOptions
from harness.models import hf_scoring
pairs, owners, enc, ref, variants = pickle.load(open("/work/logs/bf16_mc_300_0.pkl", "rb"))
m = load_model(str(default_model_folder()), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
model = m.model
torch.set_grad_enabled(False)
item = int(sys.argv[1]) if len(sys.argv) > 1 else 9
ks = [k for k, o in enumerate(owners) if o == item]
ctx, cont = enc[ks[0]]
row = ctx + cont[:-1]
L = len(row)
ids = torch.tensor([row])
a = model(ids).logits[0]
other = enc[ks[1]][0] + enc[ks[1]][1][:-1]
W = max(L, len(other)) + 7
batch = torch.zeros((2, W), dtype=torch.long); batch[0, :L] = ids[0]; batch[1, :len(other)] = torch.tensor(other)
b = model(batch).logits[0, :L]
mask = torch.tril(torch.ones(L, L, dtype=torch.bool))[None, None]
c = model(ids, attention_mask=mask).logits[0]
am = torch.ones((1, L), dtype=torch.long)
c2 = model(ids, attention_mask=am).logits[0]
# eager attention
def d(x, y): return (x.float() - y.float()).abs().max().item(), torch.equal(x, y)
print("L", L, "ctx", len(ctx))
print("pad+batch vs single", d(a, b))
print("4d bool mask vs none", d(a, c))
print("2d ones mask vs none", d(a, c2))
# context alone with cache, then continuation
out = model(torch.tensor([ctx]), use_cache=True)
e = model(torch.tensor([cont[:-1]]) if len(cont) > 1 else None, past_key_values=out.past_key_values).logits[0] if len(cont) > 1 else None
if e is not None:
    print("ctx cache then cont vs single (cont part)", d(a[len(ctx):], e))
print("ctx part of ctx-alone vs single", d(a[:len(ctx)], out.logits[0]))
# eager vs sdpa
model.config._attn_implementation = "eager"
f = model(ids).logits[0]
print("eager vs sdpa", d(a, f))
model.config._attn_implementation = "sdpa"
# hidden states per layer: single vs packed
print("---- shape dependence")
for W2 in [L, L + 1, L + 3, L + 7, L + 16, 64]:
    for B in [1, 2, 8]:
        x = torch.zeros((B, W2), dtype=torch.long); x[:, :L] = ids[0]
        y = model(x).logits
        print(W2, B, "row0 vs single", d(a, y[0, :L]), "rows equal", all(torch.equal(y[0], y[j]) for j in range(B)))
# Which op? compare layer outputs single vs padded W=L+7 B=1
x = torch.zeros((1, L + 7), dtype=torch.long); x[:, :L] = ids[0]
hs1 = model(ids, output_hidden_states=True).hidden_states
hs2 = model(x, output_hidden_states=True).hidden_states
for i, (h1, h2) in enumerate(zip(hs1, hs2)):
    print("layer", i, d(h1[0], h2[0, :L]))
    if i > 3: break
