#!/usr/bin/env python3
"""esn_reservoirpy.py: ReservoirPy's ESN on the Mackey-Glass task of bench_esn.c.

Usage: esn_reservoirpy.py DIR WASHOUT TRAIN TEST N NNZ_PER_ROW RADIUS INPUT_SCALING
                          BIAS_SCALING LEAK RIDGE SEED

Imports ReservoirPy from the source tree in $RESERVOIRPY_PATH (0.4.2 is what the README
reports; bench/reservoirpy_compat.py lets it import on NumPy < 1.25 / SciPy < 1.12), reads
the series DIR/series.npy that bench_esn wrote (drive s[t], target s[t + 1]) and builds
the same network as engram's: N tanh units, leak LEAK, W with exactly NNZ_PER_ROW
non-zeros per row (ReservoirPy's `degree`, direction "in") drawn N(0, 1) and rescaled to
spectral radius RADIUS (by ReservoirPy: scipy's eigs, k = 1), W_in uniform in
[-INPUT_SCALING, INPUT_SCALING] fully connected, bias uniform in [-BIAS_SCALING,
BIAS_SCALING], and a ridge readout (RIDGE, with intercept) on the reservoir state and the
input (input_to_readout). The weights are ReservoirPy's own draws from SEED, not engram's.
Phases, as ReservoirPy users run them:
    build: ESN(...).initialize(x, y)   (W, W_in, bias and the spectral radius)
    fit:   model.fit(x_train, y_train, warmup=WASHOUT)
    run:   model.run(x_test), continuing from the state the training left
Prints
    rpy build_s <s> fit_s <s> run_s <s> nrmse <test NRMSE> version <v>
    rpycpu build_s <s> fit_s <s> run_s <s>
(wall and process CPU seconds). Exit status 3 when RESERVOIRPY_PATH is unset or the import
fails (the caller prints a skip message).
"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))


def main():
    path = os.environ.get("RESERVOIRPY_PATH")
    if not path:
        print("RESERVOIRPY_PATH unset")
        sys.exit(3)
    try:
        sys.path.insert(0, here)
        import reservoirpy_compat

        reservoirpy_compat.install()
        sys.path.insert(0, path)
        import numpy as np
        import reservoirpy
        from reservoirpy import ESN
        from reservoirpy.mat_gen import normal, uniform
        from reservoirpy.nodes import Reservoir, Ridge
    except Exception as exc:  # any import failure is a skip, reported by the caller
        print("reservoirpy unavailable: %s" % exc)
        sys.exit(3)
    d = sys.argv[1]
    washout, train, test = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    n, k = int(sys.argv[5]), int(sys.argv[6])
    radius, in_scale, b_scale = float(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9])
    leak, ridge, seed = float(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12])
    s = np.load(d + "/series.npy").ravel()
    x_train = s[: washout + train].reshape(-1, 1)
    y_train = s[1 : washout + train + 1].reshape(-1, 1)
    x_test = s[washout + train : washout + train + test].reshape(-1, 1)
    y_test = s[washout + train + 1 : washout + train + test + 1]

    t0, c0 = time.perf_counter(), time.process_time()
    reservoir = Reservoir(
        units=n,
        lr=leak,
        sr=radius,
        W=normal(degree=k, direction="in"),
        Win=uniform(low=-in_scale, high=in_scale),
        input_connectivity=1.0,
        bias=uniform(low=-b_scale, high=b_scale),
        seed=seed,
    )
    model = ESN(reservoir=reservoir, readout=Ridge(ridge=ridge), input_to_readout=True)
    model.initialize(x_train, y_train)
    build, cbuild = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(x_train, y_train, warmup=washout)
    fit, cfit = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    pred = np.asarray(model.run(x_test)).ravel()
    run, crun = time.perf_counter() - t0, time.process_time() - c0

    nnz_rows = np.diff(reservoir.W.tocsr().indptr)
    assert nnz_rows.min() == k and nnz_rows.max() == k, "W does not have %d non-zeros per row" % k
    nrmse = np.sqrt(np.mean((pred - y_test) ** 2)) / np.std(y_test)
    print("rpy build_s %.6f fit_s %.6f run_s %.6f nrmse %.10g version %s"
          % (build, fit, run, nrmse, reservoirpy.__version__))
    print("rpycpu build_s %.6f fit_s %.6f run_s %.6f" % (cbuild, cfit, crun))


if __name__ == "__main__":
    main()
