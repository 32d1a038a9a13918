#!/usr/bin/env python3
"""Training and eval throughput of nasarena against PyTorch, in one run.

For each workload: `nasarena bench describe` exports the network,
`bench/torch_peer.py` rebuilds it in PyTorch (checking the parameter count)
and `nasarena bench train` measures nasarena; the two alternate `--repeats`
times and the best of each is kept (the machine is shared; the best run is
the least disturbed one). Also measures the SGEMM peak on the same threads
(PyTorch's 2048x2048 float32 matmul, best of 5) and, with `--stock`, stock
candle (nasarena with its custom ops off, fewer steps: it is slow).

Achieved GFLOP/s uses the usual estimate for training: 3 x forward
(forward + backward ~ 2 x forward), 2 FLOPs per MAC, so 6 x MACs per train
image and 2 x MACs per eval image.

Usage: bench/compare_train.py [--bin target/release/nasarena] [--python
/work/venv-torch-engine/bin/python] [--threads 2] [--batch 128]
[--steps 10] [--repeats 2] [--stock] [--only a,b,c] [--json out.json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOADS = {
    "a": ("fbnet-28 all k3_e6", "fbnet-28", ",".join(["k3_e6"] * 22), []),
    "b": ("fbnet-28 mixed (g2, k5)", "fbnet-28",
          "k3_e1,k3_e1_g2,k5_e6,k3_e3,skip,k5_e1_g2,k3_e6,k5_e3,k5_e1,k3_e1_g2,k3_e6,"
          "skip,k5_e6,k3_e3,k5_e1_g2,k3_e6,k5_e3,k3_e1,k5_e6,k3_e1_g2,k5_e6,k3_e6", []),
    "c": ("cell C=16 N=5 3x32x32", "cell",
          "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
          "|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
          ["C=16", "N=5", "input=3x32x32"]),
    "d": ("fbnet 1x28x28 all k3_e6", "fbnet", ",".join(["k3_e6"] * 22),
          ["input=1x28x28", "classes=10"]),
    "e": ("fbnet 1x28x28 FBNet-A", "fbnet",
          "skip,k3_e3,k3_e1,skip,skip,k5_e6,k3_e3,k5_e1,k3_e3,k5_e6,k5_e3,k5_e1_g2,k5_e6,"
          "k3_e6,k5_e1_g2,k5_e3,k3_e1_g2,k5_e6,k5_e6,k5_e3,k5_e6,k5_e6",
          ["input=1x28x28", "classes=10"]),
}


def target_args(space, arch, opts):
    args = ["--space", space, "--arch", arch]
    for o in opts:
        args += ["--opt", o]
    return args


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sgemm_peak(python, threads, device="cpu"):
    sync = "torch.cuda.synchronize()" if device.startswith("cuda") else "pass"
    code = (
        "import torch,time,json\n"
        f"torch.set_num_threads({threads})\n"
        f"d=torch.device('{device}')\n"
        "n=2048\na=torch.randn(n,n,device=d);b=torch.randn(n,n,device=d);a@b\n"
        f"def sync():\n    {sync}\n"
        "best=1e9\n"
        "for _ in range(5):\n"
        "    sync();t=time.perf_counter();a@b;sync();best=min(best,time.perf_counter()-t)\n"
        "print(json.dumps({'gflops':2*n**3/best/1e9}))\n")
    return run_json([python, "-c", code])["gflops"]


def num(v):
    """Three significant figures, so slow runs do not print as 0."""
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def supernet(args, agg):
    """`nasarena bench supernet` on the cell space against
    torch_supernet_peer.py, soft and hard mixing, alternating runs."""
    c, n, inp = args.supernet_cell.split(",")
    opts = ["--opt", f"C={c}", "--opt", f"N={n}", "--opt", f"input={inp}"]
    common = ["--batch", str(args.batch), "--threads", str(args.threads),
              "--warmup", str(args.warmup), "--steps", str(args.steps)]
    print("| supernet | mixing | isa | nasarena step s | PyTorch step s | ratio (speed) | "
          "nasarena img/s | PyTorch img/s | peak RSS MB nasarena / PyTorch | load |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for mixing in ("soft", "hard"):
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_json([args.bin, "bench", "supernet", "--space", "cell", *opts,
                                  "--mixing", mixing, *common, "--json"]))
            theirs.append(run_json([args.python, os.path.join(HERE, "torch_supernet_peer.py"),
                                    "--C", c, "--N", n, "--input", inp, "--mixing", mixing,
                                    *common]))
        if ours[0]["params"] != theirs[0]["params"]:
            raise SystemExit(f"supernet: parameter counts differ: {ours[0]['params']} "
                             f"vs {theirs[0]['params']}")
        o, t = agg(ours, "img_s"), agg(theirs, "img_s")
        print(f"| cell C={c} N={n} {inp} batch {args.batch} | {mixing} | {ours[0]['isa']} / "
              f"{theirs[0]['cpu_capability']} | {agg(ours, 'step_s'):.3f} | "
              f"{agg(theirs, 'step_s'):.3f} | {o / t:.2f}x | {num(o)} | {num(t)} | "
              f"{min(r['peak_rss_mb'] for r in ours):.0f} / "
              f"{min(r['peak_rss_mb'] for r in theirs):.0f} | {load():.2f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/nasarena")
    ap.add_argument("--python", default="/work/venv-torch-engine/bin/python")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--stock", action="store_true")
    ap.add_argument("--stock-steps", type=int, default=1)
    ap.add_argument("--only", default="a,b,c")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--supernet", action="store_true",
                    help="compare supernet search steps (bench supernet) instead")
    ap.add_argument("--supernet-cell", default="8,1,1x28x28",
                    help="C,N,input of the cell supernet")
    ap.add_argument("--stat", choices=["best", "median"], default="best",
                    help="which of the alternating runs a row reports")
    ap.add_argument("--isa", choices=["avx512", "avx2", "neon", "portable"],
                    help="force both sides to one instruction set: nasarena through "
                         "NASARENA_ISA, PyTorch through ATEN_CPU_CAPABILITY and "
                         "ONEDNN_MAX_CPU_ISA (avx2 and avx512 only)")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda:N (nasarena built with --features cuda)")
    args = ap.parse_args()

    if args.isa:
        os.environ["NASARENA_ISA"] = args.isa
        torch_isa = {"avx512": ("avx512", "AVX512_CORE"), "avx2": ("avx2", "AVX2")}
        if args.isa in torch_isa:
            os.environ["ATEN_CPU_CAPABILITY"], os.environ["ONEDNN_MAX_CPU_ISA"] = \
                torch_isa[args.isa]
    if args.supernet:
        if args.stat == "median":
            agg = lambda rs, k: statistics.median(r[k] for r in rs)
        else:
            agg = lambda rs, k: (min if k == "step_s" else max)(r[k] for r in rs)
        supernet(args, agg)
        return
    common = ["--batch", str(args.batch), "--threads", str(args.threads),
              "--warmup", str(args.warmup), "--device", args.device]
    peak = sgemm_peak(args.python, args.threads, args.device)
    print(f"SGEMM peak ({args.device}, {args.threads} threads, torch 2048^3 f32): {peak:.1f} GFLOP/s;"
          f" load average {load():.2f}", file=sys.stderr)
    rows = []
    for key in args.only.split(","):
        title, space, arch, opts = WORKLOADS[key]
        t = target_args(space, arch, opts)
        desc = run_json([args.bin, "bench", "describe", *t, "--json"])
        desc_path = f"/tmp/nasarena-desc-{key}.json"
        with open(desc_path, "w") as f:
            json.dump(desc, f)
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_json([args.bin, "bench", "train", *t, *common,
                                  "--steps", str(args.steps), "--json"]))
            theirs.append(run_json([args.python, os.path.join(HERE, "torch_peer.py"),
                                    desc_path, *common, "--steps", str(args.steps)]))
        if ours[0]["params"] != theirs[0]["params"]:
            raise SystemExit(f"{title}: parameter counts differ")
        stock = None
        if args.stock:
            stock = run_json([args.bin, "bench", "train", *t, "--stock", "--device", args.device,
                              "--batch",
                              str(args.batch), "--threads", str(args.threads), "--warmup", "0",
                              "--steps", str(args.stock_steps), "--json"])
        if args.stat == "median":
            best = lambda rs, k: statistics.median(r[k] for r in rs)
        else:
            best = lambda rs, k: max(r[k] for r in rs)
        row = {
            "workload": title, "params": desc["params"], "macs": desc["macs"],
            "ours_train": best(ours, "train_img_s"), "torch_train": best(theirs, "train_img_s"),
            "ours_eval": best(ours, "eval_img_s"), "torch_eval": best(theirs, "eval_img_s"),
            "stock_train": stock["train_img_s"] if stock else None,
            "stock_eval": stock["eval_img_s"] if stock else None,
            "ours_rss": min(r["peak_rss_mb"] for r in ours),
            "torch_rss": min(r["peak_rss_mb"] for r in theirs),
            "isa": ours[0].get("isa"), "torch_isa": theirs[0].get("cpu_capability"),
            "load": load(),
        }
        rows.append(row)
        print(f"done {title}: load {row['load']:.2f}", file=sys.stderr)

    print(f"\n{args.device}, batch {args.batch}, {args.threads} threads, {args.steps} timed steps, "
          f"{args.stat} of {args.repeats}; SGEMM peak {peak:.1f} GFLOP/s; "
          f"isa nasarena {rows[0]['isa'] if rows else '?'}, "
          f"PyTorch {rows[0]['torch_isa'] if rows else '?'}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| workload | MACs | phase | nasarena img/s | PyTorch img/s | ratio | "
          "nasarena GFLOP/s (% peak) | PyTorch GFLOP/s (% peak) | stock candle img/s | "
          "peak RSS MB nasarena / PyTorch |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        for phase, flops in (("train", 6), ("eval", 2)):
            o, p = r[f"ours_{phase}"], r[f"torch_{phase}"]
            go, gp = o * flops * r["macs"] / 1e9, p * flops * r["macs"] / 1e9
            s = r[f"stock_{phase}"]
            print(f"| {r['workload']} | {r['macs'] / 1e6:.1f} M | {phase} | {num(o)} | {num(p)} | "
                  f"{o / p:.2f}x | {go:.1f} ({100 * go / peak:.0f}%) | "
                  f"{gp:.1f} ({100 * gp / peak:.0f}%) | {'' if s is None else num(s)} | "
                  f"{r['ours_rss']:.0f} / {r['torch_rss']:.0f} |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"peak_gflops": peak, "rows": rows, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
