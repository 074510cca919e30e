"""MELON on PyBullet objects: pose error and held-out PSNR per object and seed, the modulo ablation on
pseudo-symmetric objects (husky and racecar: the view from behind resembles the view from the front), and
noisy training images. Writes docs/melon.md, docs/melon.json, a polar plot per run
(docs/melon_<run>.png) and the self-similarity plot of each pseudo-symmetric object
(docs/melon_self_similarity_<object>.png), with each run's wall-clock time on this machine.

    python bench/melon_objects.py [--runs all | GROUP[,GROUP...] | RUN[,RUN...]] [--threads 1]

Groups: see RUNS (objects, modulo, noise, seeds, more_objects, modulo_a1, ...). Rows of runs not made by
this invocation are kept from an existing docs/melon.json (and from --merge files), so groups can be run
one at a time.
"""

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from robot_perception.melon.data import make_turntable_set, self_similarity
from robot_perception.melon.evaluate import evaluate_run, polar_plot
from robot_perception.melon.train import MelonConfig, MelonRun, noise_colour_tv

# group: (object, N, noise sigma, seed[, variant]); a variant is a named set of MelonConfig overrides
VARIANTS = {
    # the modulo ablation without the refinement's candidate pose search: what the modulo loss of the MELON
    # stage alone does
    "nosearch": {"search_every": 0},
    # the refinement's search tries 12 evenly spaced longitudes whatever N is (the default before the search
    # was limited to the modulo replicas): a brute-force search that can stand in for the modulo loss
    "search12": {"search_candidates": "longitudes"},
    # diagnostic for noisy images: the field stays at 24^3 (and the targets blurred to match) until
    # step 4000, so that the refinement's pose gradients see the coarse, less noisy picture longer
    "coarse": {"resolution_schedule": ((0, 12), (500, 24), (4000, 48))},
}
RUNS = {
    "objects": [("duck", 2, 0.0, 0), ("teddy", 2, 0.0, 0), ("racecar", 2, 0.0, 0), ("r2d2", 2, 0.0, 0),
                ("block002", 2, 0.0, 0)],
    "modulo": [("husky", 1, 0.0, 0), ("husky", 2, 0.0, 0), ("husky", 4, 0.0, 0)],
    "noise": [("duck", 2, 0.5, 0), ("duck", 2, 0.5, 1)],
    "seeds": [("duck", 2, 0.0, 1), ("teddy", 2, 0.0, 1), ("racecar", 2, 0.0, 1), ("r2d2", 2, 0.0, 1),
              ("xarm", 2, 0.0, 1)],
    "more_objects": [("bunny", 2, 0.0, 0), ("xarm", 2, 0.0, 0), ("mug", 2, 0.0, 0)],
    "modulo_a1": [("a1", 1, 0.0, 0), ("a1", 2, 0.0, 0)],
    # the modulo ablation on racecar: N = 1 and 2, three seeds each (the rule in modulo_verdict needs 3)
    "modulo_racecar": [("racecar", n, 0.0, s) for s in range(3) for n in (1, 2)],
    "modulo_nosearch": [("racecar", 1, 0.0, 0, "nosearch"), ("racecar", 2, 0.0, 0, "nosearch")],
    "modulo_search12": [("racecar", n, 0.0, s, "search12") for s in range(3) for n in (1, 2)],
    "noise_coarse": [("duck", 2, 0.5, 0, "coarse")],
}
SYMMETRIC_OBJECTS = ("husky", "racecar")  # objects of the modulo ablation
ABLATION_ONLY = ("husky",)  # objects not counted for the per-object acceptance line
TARGETS = {"pose_deg": 5.0, "psnr_db": 25.0, "minutes": 15.0, "noisy_pose_deg": 10.0}


def run_name(obj: str, modulo: int, sigma: float, seed: int, variant: str = "") -> str:
    name = f"{obj}_N{modulo}" + (f"_sigma{sigma:g}" if sigma else "") + f"_seed{seed}"
    return name + (f"_{variant}" if variant else "")


def invocation() -> str:
    """This run's command line as run from the repository root, whatever the working directory was: the
    script by its path in the repository, folder arguments made absolute."""
    args = sys.argv[1:]
    for i in range(len(args) - 1):
        if args[i] in ("--work", "--docs", "--merge"):
            args[i + 1] = str(Path(args[i + 1]).resolve())
    return "python bench/melon_objects.py " + " ".join(shlex.quote(a) for a in args)


def run_one(obj: str, modulo: int, sigma: float, seed: int, args, work: Path, docs: Path, variant: str = "") -> dict:
    name = run_name(obj, modulo, sigma, seed, variant)
    data = work / f"data_{obj}_sigma{sigma:g}_seed{seed}"
    if not (data / "poses_true.json").exists():
        make_turntable_set(obj, data, views=args.views, held_out=8, noise_sigma=sigma, seed=seed)
    out = work / f"run_{name}"
    if out.exists() and not args.resume:
        shutil.rmtree(out)
    start = time.perf_counter()
    run = MelonRun(MelonConfig(data / "images", out, modulo=modulo, steps=args.steps, refine_steps=args.refine_steps,
                               polish_steps=args.polish_steps, seed=seed, threads=args.threads,
                               **VARIANTS.get(variant, {})))
    run.run(progress=not args.quiet)
    run.write_outputs()
    minutes = (time.perf_counter() - start) / 60
    report = evaluate_run(out, data)
    polar_plot(report, data / "poses_true.json", docs / f"melon_{name}.png",
               f"{obj}, N = {modulo}" + (f", sigma = {sigma:g}" if sigma else "") + f", seed {seed}")
    row = {"run": name, "object": obj, "modulo": modulo, "noise_sigma": sigma, "seed": seed, "variant": variant,
           "overrides": {k: str(v) for k, v in VARIANTS.get(variant, {}).items()}, "views": args.views,
           "steps": run.step, "polish_steps": args.polish_steps, "threads": args.threads, "minutes": round(minutes, 1),
           "estimated_noise_sigma": round(run.noise_sigma, 3),
           "colour_tv_pose_stages": round(run.tv_colour_pose_stages, 4), "grid_resolution": run.field.density.shape[-1],
           "search_candidates": run.config.search_candidates,
           "melon_stage_mean_pose_error_deg": report["melon_stage_mean_pose_error_deg"],
           **{k: report[k] for k in ("mean_pose_error_deg", "median_pose_error_deg", "max_pose_error_deg",
                                     "held_out_psnr_db")},
           "command": invocation()}
    print(json.dumps(row), flush=True)
    return row


def selected_runs(spec: str) -> list[tuple]:
    if spec == "all":
        return [r for group in RUNS.values() for r in group]
    chosen = []
    for item in spec.split(","):
        if item in RUNS:
            chosen += RUNS[item]
            continue
        matches = [r for group in RUNS.values() for r in group if run_name(*r) == item]
        if not matches:
            names = ", ".join(run_name(*r) for group in RUNS.values() for r in group)
            raise SystemExit(f"--runs: unknown {item!r} (groups: {', '.join(RUNS)}; runs: {names})")
        chosen += matches[:1]
    return list(dict.fromkeys(chosen))


def self_similarity_plot(obj: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    azimuths, distance = self_similarity(obj, steps=72)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(azimuths, distance, "-", color="tab:blue")
    # pseudo-symmetries: local minima away from 0 well below the typical distance
    for i in range(1, len(azimuths)):
        prev, nxt = distance[i - 1], distance[(i + 1) % len(azimuths)]
        if distance[i] < prev and distance[i] < nxt and distance[i] < 0.75 * np.median(distance):
            ax.axvline(azimuths[i], color="tab:red", ls="--", lw=1)
    ax.set_xlabel("azimuth of the view (deg), latitude 30 deg")
    ax.set_ylabel("RMS RGB distance to azimuth 0")
    ax.set_title(f"{obj}: photometric self-similarity (dashed: pseudo-symmetry)", fontsize=9)
    ax.set_xlim(0, 360)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return azimuths, distance


def similarity_plots(rows, docs: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Self-similarity plots of the pseudo-symmetric objects that have rows."""
    present = {r["object"] for r in rows}
    return {obj: self_similarity_plot(obj, docs / f"melon_self_similarity_{obj}.png")
            for obj in SYMMETRIC_OBJECTS if obj in present}


def fmt(x, spec=".1f") -> str:
    return "-" if x is None else format(x, spec)


def pose_stage_colour_tv(row: dict) -> float:
    """The colour TV weight of a row's pose stages; rows made before it was recorded used the noise-based one."""
    if "colour_tv_pose_stages" in row:
        return row["colour_tv_pose_stages"]
    sigma = row.get("estimated_noise_sigma")
    return round(noise_colour_tv(row["noise_sigma"] if sigma is None else sigma), 4)


CURRENT_METHOD = "current method (refinement searches the modulo replicas)"


def method(row: dict) -> str:
    """Which method made a row, plus its variant: the current one; the one before the refinement's search was
    limited to the modulo replicas (it tried 12 longitudes whatever N, as variant `search12` does now); or the
    one before the pose-stage colour prior."""
    if "search_candidates" in row:
        base = CURRENT_METHOD
    elif "colour_tv_pose_stages" in row:
        base = "method B (12-longitude search, colour prior while poses are inferred)"
    else:
        base = "method A (12-longitude search, no colour prior on clean images)"
    return base + (f", variant `{row['variant']}`" if row.get("variant") else "")


def modulo_verdict(single: list[dict], modulo: list[dict]) -> str:
    """The rule for "N > 1 gives a clearly lower pose error than N = 1", fixed before the rows it judges were
    made: at least 3 seeds each, every N > 1 seed below every N = 1 seed (for 3 + 3 seeds that ordering has
    chance 1 / 20 if N made no difference), and the mean over seeds at most half of N = 1's."""
    a = [r["mean_pose_error_deg"] for r in single]
    b = [r["mean_pose_error_deg"] for r in modulo]
    if min(len(a), len(b)) < 3:
        return f"too few seeds to judge ({len(a)} and {len(b)}; the rule needs 3 each)"
    separated = max(b) < min(a)
    halved = np.mean(b) <= 0.5 * np.mean(a)
    verdict = "clearly lower: met" if separated and halved else "clearly lower: not met"
    return (f"{verdict} (every seed of N > 1 below every seed of N = 1: {'yes' if separated else 'no'}; mean at most "
            f"half: {'yes' if halved else 'no'})")


def write_docs(rows: list[dict], docs: Path, similarity: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    # the current method's rows first, then each earlier method's; within one, by object, noise, N and seed
    rows = sorted(rows, key=lambda r: (method(r) != CURRENT_METHOD, method(r), r["object"], r["noise_sigma"],
                                       r["modulo"], r["seed"]))
    t = TARGETS
    clean = [r for r in rows if r["noise_sigma"] == 0 and r["modulo"] == 2 and r["object"] not in ABLATION_ONLY]
    passing = [r for r in clean if r["mean_pose_error_deg"] <= t["pose_deg"] and r["held_out_psnr_db"] >= t["psnr_db"]
               and r["minutes"] <= t["minutes"]]
    noisy = [r for r in rows if r["noise_sigma"] > 0]
    commands = list(dict.fromkeys(r["command"] for r in rows))  # the invocation that made each row
    lines = [
        "# MELON on PyBullet objects", "",
        "Rows made by these invocations of this script (column *cmd*; each keeps the rows of earlier ones; an "
        "invocation stopped before all its runs finished has rows for its finished runs only):", "",
        *[f"{i + 1}. `{c}`" for i, c in enumerate(commands)], "",
        "This page was last written by `" + invocation() + "` (with --merge: "
        "rows made elsewhere by the invocation each row names; with --drop: rows removed).", "",
        "Each run: 64 unposed 64x64 training views of one object (PyBullet turntable, latitude 5-60 deg, random "
        "longitude, camera 3 m away, 40 deg field of view), 8 held-out views; one torch thread (the machine's other "
        "core was busy with other work, so the minutes are conservative). Method: the MELON stage (4-layer CNN pose "
        "encoder from noise + modulo loss over N replicas + a circular-moment uniformity prior on the chosen "
        "longitudes, coarse-to-fine grid field) followed by a refinement stage (per-image poses initialised from the "
        "MELON stage, optimised with the field, with a periodic candidate pose search: every 150 steps each image may "
        "jump to a clearly better pose among its N modulo replicas, each also +-30 deg in longitude, at +-10 deg in "
        "latitude; column *search*: rows made before this tried 12 longitudes whatever N, which variant `search12` "
        "still does), then (column *polish "
        "steps*; 0 in rows made before it existed) a polish stage: the poses are final and the field alone trains "
        "on at a 64^3 grid with 64 samples per ray, which changes the held-out PSNR only (the pose errors of a run "
        "are those it had without the polish: same seed, same steps up to the end of the refinement). Noisy images: "
        "the trainer estimates the pixel noise sigma from the images (robust Laplacian-difference estimate; 0 for "
        "the clean renders), adds a total-variation prior on the colour grid weighted by 0.01 (sigma / 0.1)^2, the "
        "factor by which the noise lowers the photometric likelihood's weight, and shows the pose encoder the images "
        "Gaussian-blurred down to a noise of 0.05 (column *sigma est.*; - for rows made before the estimate was "
        "recorded). Column *pose-stage colour TV*: the colour prior's weight while the poses are inferred (MELON "
        "stage and refinement), at least 0.25 also for clean images since it was introduced (the polish stage uses "
        "the noise-based weight alone, 0 for clean images); rows made before it have the noise-based weight "
        "throughout (0 clean, 0.25 at sigma 0.5, so the noisy rows are the same method either way).", "",
        "Pose error: angle between inferred and true camera directions after the best rotation about the up axis "
        "(mean, median). *MELON stage*: the mean error of the poses the encoder and modulo loss inferred, before "
        "refinement. PSNR: the field rendered at the held-out views' true poses (aligned by the same rotation).", "",
        "| run | object | seed | N | noise sigma | sigma est. | MELON stage error (deg) | mean pose error (deg) | "
        "median (deg) | held-out PSNR (dB) | search | pose-stage colour TV | polish steps | minutes | cmd |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['object']} | {r['seed']} | {r['modulo']} | {r['noise_sigma']:g} | "
                     f"{fmt(r.get('estimated_noise_sigma'), '.2f')} | "
                     f"{fmt(r['melon_stage_mean_pose_error_deg'])} | {r['mean_pose_error_deg']:.1f} | "
                     f"{r['median_pose_error_deg']:.1f} | {r['held_out_psnr_db']:.1f} | "
                     f"{'N replicas' if r.get('search_candidates') == 'replicas' else '12 longitudes'} | "
                     f"{pose_stage_colour_tv(r):g} | "
                     f"{r.get('polish_steps', 0)} | "
                     f"{r['minutes']:.1f} | "
                     f"{commands.index(r['command']) + 1} |")
    lines += ["", "## Against the acceptance lines (computed from the table)", "",
              "Rows are compared only with rows of the same method (see *search*, *pose-stage colour TV* and the "
              "variant).", ""]
    for label in sorted({method(r) for r in clean}, key=lambda m: (m != CURRENT_METHOD, m)):
        ok = [r for r in passing if method(r) == label]
        tried = [r for r in clean if method(r) == label]
        objects = sorted({r["object"] for r in ok})
        lines.append(f"- {label}: pose error <= {t['pose_deg']:g} deg, PSNR >= {t['psnr_db']:g} dB within "
                     f"{t['minutes']:g} min: {len(ok)} of {len(tried)} clean N = 2 runs, on {len(objects)} objects "
                     f"({', '.join(objects) or 'none'})"
                     + (f"; not met by: {', '.join(r['run'] for r in tried if r not in ok)}." if len(ok) < len(tried)
                        else "."))
    for obj in SYMMETRIC_OBJECTS:
        for label in sorted({method(r) for r in rows if r["object"] == obj and r["noise_sigma"] == 0},
                            key=lambda m: (m != CURRENT_METHOD, m)):
            modulo = {}
            for r in rows:
                if r["object"] == obj and r["noise_sigma"] == 0 and method(r) == label:
                    modulo.setdefault(r["modulo"], []).append(r)
            lines.append(f"- Modulo ablation on {obj}, {label}: " + "; ".join(
                f"N = {n}: " + ", ".join(
                    f"seed {r['seed']} mean {r['mean_pose_error_deg']:.1f} deg, median "
                    f"{r['median_pose_error_deg']:.1f} deg (MELON stage mean "
                    f"{fmt(r['melon_stage_mean_pose_error_deg'])} deg)" for r in modulo[n]) for n in sorted(modulo))
                + ".")
            if 1 in modulo and len(modulo) > 1:
                mean = {n: float(np.mean([r["mean_pose_error_deg"] for r in modulo[n]])) for n in modulo}
                best = min((n for n in modulo if n > 1), key=mean.get)
                lines.append(f"  - mean pose error (over its seeds) N = 1: {mean[1]:.1f} deg, N = {best}: "
                             f"{mean[best]:.1f} deg; {modulo_verdict(modulo[1], modulo[best])}.")
    for r in noisy:
        verdict = "met" if r["mean_pose_error_deg"] <= t["noisy_pose_deg"] else "not met"
        lines.append(f"- Noise sigma = {r['noise_sigma']:g} ({r['run']}): mean pose error "
                     f"{r['mean_pose_error_deg']:.1f} deg (target <= {t['noisy_pose_deg']:g}: {verdict}).")
    variants = sorted({r.get("variant") for r in rows if r.get("variant")})
    lines += [f"- Variant `{v}` (not the default method): {json.dumps(VARIANTS[v])}."
              for v in variants if v in VARIANTS]
    for obj, (azimuths, distance) in similarity.items():
        lines += ["", f"## {obj}'s pseudo-symmetry", "", f"![self-similarity](melon_self_similarity_{obj}.png)", "",
                  "RMS RGB distance of the view at each azimuth from the view at azimuth 0 (latitude 30 deg): "
                  + ", ".join(f"{a:.0f} deg: {d:.3f}" for a, d in zip(azimuths[::9], distance[::9])) + "."]
    lines += ["", "## Predicted (x) and true (o) cameras", ""]
    lines += [f"![{r['run']}](melon_{r['run']}.png)" for r in rows]
    text = "\n".join(lines) + "\n"
    (docs / "melon.md").write_text(text)
    (docs / "melon.json").write_text(json.dumps(rows, indent=2) + "\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="all", help="all, or comma-separated groups and/or run names")
    parser.add_argument("--steps", type=int, default=MelonConfig.steps, help="MELON stage steps")
    parser.add_argument("--refine-steps", type=int, default=MelonConfig.refine_steps)
    parser.add_argument("--polish-steps", type=int, default=3000, help="field-only steps at a 64^3 grid after the "
                        "refinement (poses final; for the held-out PSNR)")
    parser.add_argument("--views", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", default="/tmp/melon_bench", help="data and run folders")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--resume", action="store_true", help="resume runs found in --work instead of restarting")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--merge", action="append", default=[], metavar="JSON",
                        help="also keep the rows of another melon.json made by this script (with --docs elsewhere); "
                        "each row records the command that made it")
    parser.add_argument("--drop", default="", help="comma-separated runs whose rows to remove (e.g. made by a method "
                        "that has since changed)")
    parser.add_argument("--docs-only", action="store_true", help="only rewrite melon.md (and the plots that need "
                        "no training) from the rows in melon.json")
    args = parser.parse_args()
    work, docs = Path(args.work), Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    runs = [] if args.docs_only else selected_runs(args.runs)
    previous = docs / "melon.json"
    rows = {r["run"]: r for r in json.loads(previous.read_text())} if previous.exists() else {}
    for extra in map(Path, args.merge):  # with their polar plots
        for r in json.loads(extra.read_text()):
            rows[r["run"]] = r
            plot = extra.parent / f"melon_{r['run']}.png"
            if plot.exists() and plot.resolve() != (docs / plot.name).resolve():
                shutil.copyfile(plot, docs / plot.name)
    for name in filter(None, args.drop.split(",")):
        rows.pop(name, None)
    if args.docs_only:
        print(write_docs(list(rows.values()), docs, similarity_plots(rows.values(), docs)))
        return
    for spec in runs:
        row = run_one(*spec[:4], args, work, docs, *spec[4:])
        rows[row["run"]] = row
        # after every run: partial results survive
        text = write_docs(list(rows.values()), docs, similarity_plots(rows.values(), docs))
    print(text)


if __name__ == "__main__":
    main()
