#!/usr/bin/env python3
"""esn_ref.py: the plain-NumPy echo-state network that bench_esn.c compares against.

Loads the exact network bench_esn wrote (W dense, W_in, b, the Mackey-Glass series) from
DIR and does what a NumPy user would write: a dense W, np.tanh, the states stored in an
array, X^T X via X.T @ X, np.linalg.solve. With a 7th argument K every phase is timed K times and the minimum printed. Prints a line
    ref build_s <eigvals of W> fit_s <states+solve> run_s <test> total_s <fit+run> nrmse <test NRMSE>
and one with the process CPU seconds (all threads) of the same phases:
    refcpu build_s <s> fit_s <s> run_s <s>
Exit status 3 when numpy is missing (the caller prints a skip message).
"""
import sys
import time

try:
    import numpy as np
except ImportError:
    print("numpy unavailable")
    sys.exit(3)


def main():
    d = sys.argv[1]
    washout, train, test = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    leak, ridge = float(sys.argv[5]), float(sys.argv[6])
    repeat = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    W = np.load(d + "/W.npy")
    w_in = np.load(d + "/w_in.npy").ravel()
    b = np.load(d + "/bias.npy").ravel()
    s = np.load(d + "/series.npy").ravel()  # drive s[t], target s[t+1]
    N = W.shape[0]

    best = None
    for _ in range(max(repeat, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        rho = np.max(np.abs(np.linalg.eigvals(W)))  # what a user runs to rescale W
        build, cbuild = time.perf_counter() - t0, time.process_time() - c0

        t0, c0 = time.perf_counter(), time.process_time()
        x = np.zeros(N)
        X = np.empty((train, N + 2))
        for t in range(washout + train):
            u = s[t]
            x = (1 - leak) * x + leak * np.tanh(W @ x + w_in * u + b)
            if t >= washout:
                X[t - washout, 0] = 1.0
                X[t - washout, 1:N + 1] = x
                X[t - washout, N + 1] = u
        Y = s[washout + 1:washout + train + 1]
        A = X.T @ X + ridge * np.eye(N + 2)
        w = np.linalg.solve(A, X.T @ Y)
        fit, cfit = time.perf_counter() - t0, time.process_time() - c0

        t0, c0 = time.perf_counter(), time.process_time()
        pred = np.empty(test)
        for i in range(test):
            t = washout + train + i
            u = s[t]
            x = (1 - leak) * x + leak * np.tanh(W @ x + w_in * u + b)
            pred[i] = w[0] + w[1:N + 1] @ x + w[N + 1] * u
        run, crun = time.perf_counter() - t0, time.process_time() - c0
        times = (build, fit, run, fit + run, cbuild, cfit, crun)
        best = times if best is None else tuple(min(u, v) for u, v in zip(best, times))
    build, fit, run, total, cbuild, cfit, crun = best
    tgt = s[washout + train + 1:washout + train + test + 1]
    nrmse = np.sqrt(np.mean((pred - tgt) ** 2)) / np.std(tgt)
    print("ref build_s %.6f fit_s %.6f run_s %.6f total_s %.6f nrmse %.10g rho %.10g"
          % (build, fit, run, total, nrmse, rho))
    print("refcpu build_s %.6f fit_s %.6f run_s %.6f" % (cbuild, cfit, crun))


if __name__ == "__main__":
    main()
