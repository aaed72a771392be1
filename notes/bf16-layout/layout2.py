import sys, pickle, torch
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import compare_lm_eval
torch.set_num_threads(1)
from compare_lm_eval import default_model_folder
from harness.models.resolve import load_model, LoadOptions
pairs, owners, enc, ref, variants = pickle.load(open("/work/logs/bf16_mc_300_0.pkl", "rb"))
m = load_model(str(default_model_folder()), LoadOptions(device="cpu", dtype="bfloat16", batch_size=8))
model = m.model
torch.set_grad_enabled(False)
for item in [9, 10, 123]:
    ks = [k for k, o in enumerate(owners) if o == item]
    ctx, cont = enc[ks[0]]
    row = ctx + cont[:-1]; L = len(row)
    outs = {}
    for W in range(L, 100):
        x = torch.zeros((1, W), dtype=torch.long); x[0, :L] = torch.tensor(row)
        hs = model(x, output_hidden_states=True)
        outs[W] = (hs.hidden_states[-1][0, :L], hs.logits[0, :L])
    classes = []
    for W in outs:
        for c in classes:
            if torch.equal(outs[c[0]][1], outs[W][1]):
                c.append(W); break
        else:
            classes.append([W])
    print("item", item, "L", L, "ctx", len(ctx), "classes", [(c[0], c[-1], len(c)) for c in classes])
    # ctx positions: same across W?
    cc = []
    for W in outs:
        for c in cc:
            if torch.equal(outs[c[0]][0][:len(ctx)], outs[W][0][:len(ctx)]):
                c.append(W); break
        else:
            cc.append([W])
    print("   ctx-hidden classes", [(c[0], c[-1], len(c)) for c in cc])
