"""Side-by-side timing helpers: each workload runs in ember and in PyTorch in one process."""

import time


def bench(fn, min_time=0.2, repeat=5):
    """Fastest (least disturbed) seconds per call of ``fn`` over ``repeat`` runs of at least
    ``min_time`` each."""
    fn()  # warm up
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4:
            break
        n *= 4
    n = max(1, int(n * (min_time / max(dt, 1e-9))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return min(times)  # shared machines: the minimum is the least noisy estimate


def fmt(sec):
    if sec < 1e-3:
        return f"{sec * 1e6:8.2f} us"
    if sec < 1:
        return f"{sec * 1e3:8.2f} ms"
    return f"{sec:8.2f} s "


def report(rows, title):
    """Print ``(name, ember_seconds, torch_seconds)`` rows with ratios."""
    print(f"\n{title}")
    print(f"{'workload':44s} {'ember':>11s} {'torch':>11s} {'ember/torch':>12s}")
    for name, e, t in rows:
        ratio = f"{e / t:10.2f}x" if t else "        n/a"
        print(f"{name:44s} {fmt(e):>11s} {fmt(t) if t else '        n/a':>11s} {ratio:>12s}")
