"""PyTorch reference for bench/bench_rnn.c: one BPTT training step of the rate RNN
a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t), o_t = c + V h_t, softmax cross-entropy
over every step, Adam update (the same model and step engram's `bptt` learner takes),
in float64 or float32.

Usage: /usr/bin/python3 bench/rnn_ref.py N_REC N_IN N_OUT T BATCH
then one request per line on stdin, "DTYPE THREADS REPS" (DTYPE float64 or float32),
each answered by one line "seconds_per_step <s>" (median of REPS timed steps, after
one warm-up step), so that the C bench can interleave its own timings with these in one
run. Prints "ready" first, or "skip <reason>" if torch cannot be imported.
"""
import sys
import time

try:
    import torch
except Exception as e:  # torch absent: the C bench prints the skip message
    print("skip torch unavailable: %s" % e, flush=True)
    sys.exit(0)


def make_step(n, i, o, t, b, dt):
    torch.manual_seed(1)
    W = (torch.randn(n, n, dtype=dt) / n ** 0.5).requires_grad_()
    U = (torch.randn(n, i, dtype=dt) / i ** 0.5).requires_grad_()
    bb = torch.zeros(n, dtype=dt, requires_grad=True)
    V = (torch.randn(o, n, dtype=dt) / n ** 0.5).requires_grad_()
    c = torch.zeros(o, dtype=dt, requires_grad=True)
    params = [W, U, bb, V, c]
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.nn.functional.one_hot(torch.randint(0, i, (b, t)), i).to(dt)
    y = torch.randint(0, o, (b, t))

    def step():
        opt.zero_grad()
        h = torch.zeros(b, n, dtype=dt)
        hs = []
        for k in range(t):
            h = torch.tanh(bb + h @ W.T + x[:, k] @ U.T)
            hs.append(h)
        H = torch.stack(hs, 1)                      # (B, T, N)
        logits = H @ V.T + c                        # (B, T, O)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, o), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main():
    n, i, o, t, b = (int(a) for a in sys.argv[1:6])
    steps = {"float64": make_step(n, i, o, t, b, torch.float64),
             "float32": make_step(n, i, o, t, b, torch.float32)}
    print("ready torch %s" % torch.__version__, flush=True)
    for line in sys.stdin:
        dtype, threads, reps = line.split()
        torch.set_num_threads(int(threads))
        step = steps[dtype]
        step()
        times = []
        for _ in range(int(reps)):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        times.sort()
        print("seconds_per_step %.6g" % times[len(times) // 2], flush=True)


if __name__ == "__main__":
    main()
