import sys, pickle, collections
sys.path.insert(0, "/work/main")
from harness.models import hf_aligned as A
N, SHOTS = int(sys.argv[1]), int(sys.argv[2])
pairs, owners, enc, ref, variants = pickle.load(open(f"/work/logs/bf16_mc_{N}_{SHOTS}.pkl", "rb"))
vals = variants["aligned"]
widths = A.plan_widths(enc, 8, 8192)
st = collections.defaultdict(lambda: [0, 0])
byctx = collections.defaultdict(list)
for i, ((c, x), W) in enumerate(zip(enc, widths)):
    byctx[tuple(c)].append(i)
for ctx, idx in byctx.items():
    rows = {(widths[i], len(enc[i][0]) + len(enc[i][1]) - 1) for i in idx}
    s = A.cache_start(len(ctx) - 1, rows)
    for i in idx:
        W = widths[i]
        st[(W // 32 * 32, s // 16 * 16)][vals[i] == ref[i]] += 1
for k in sorted(st): print(k, st[k])
