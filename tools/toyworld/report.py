"""Prints stage times and measured figures (from work/*.json) as markdown. usage: python3 report.py"""
import json
import os

W = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")


def load(n):
    p = os.path.join(W, n)
    return json.load(open(p)) if os.path.exists(p) else None


st = load("stage_times.json") or {}
print("### Stage times (2-core machine shared with other work; seconds of wall time)")
print("| stage | wall s | steps |")
print("|---|---|---|")
tot = 0
for k in ("data", "vae", "encode", "unet", "judge", "controlnet"):
    if k in st:
        tot += st[k]["seconds"] if k != "judge" else 0
        print("| %s | %.0f | %s |" % (k, st[k]["seconds"], st[k].get("step", "")))
print("\nSequential critical path (judge runs in parallel with the UNet): %.0f s = %.1f min\n" % (tot, tot / 60))
f = load("figures.json")
if f:
    print("### Quality (python3 benchmark.py measure)")
    print("```")
    print(json.dumps(f, indent=1))
    print("```")
o = load("oneactor_figures.json")
if o:
    print("### OneActor reference (python3 oneactor.py --targets 10 --seeds 4)")
    print("```")
    print(json.dumps({k: v for k, v in o.items() if k != "loss_curve_first_target"}, indent=1))
    print("```")
