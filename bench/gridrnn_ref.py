"""PyTorch reference for bench/bench_gridrnn.c: one training update of the grid-cell rate
RNN path integrator (Sorscher et al. 2023; engram's pathint.h with kind = rnn).

h_0 = init W_h0 (no bias), h_t = relu(h_{t-1} W_rec + v_t W_in) (torch.nn.RNN, relu, no
bias), logits = h_t W_pc (no bias), cross-entropy against soft place-cell targets,
loss + (wd / 2) |W_rec|^2, Adam 1e-3 (the `gridcells-rnn` preset's update).

Usage: /usr/bin/python3 bench/gridrnn_ref.py --threads 1 [--hidden 512 --pc 512 --batch 200
       --steps 20 --reps 10 --float32]
Prints "seconds_per_step <s>" and "cpu_seconds_per_step <s>" (medians of REPS timed
updates after 3 warm-ups, wall and process CPU time), or "skip <reason>" if torch cannot
be imported.
"""
import argparse
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as exc:  # torch absent: the C bench prints the skip message
    print("skip torch unavailable: %s" % exc)
    sys.exit(0)


class PathRNN(nn.Module):
    def __init__(self, n_in, n_h, n_pc):
        super().__init__()
        self.encoder = nn.Linear(n_pc, n_h, bias=False)
        self.rnn = nn.RNN(n_in, n_h, nonlinearity="relu", bias=False, batch_first=True)
        self.decoder = nn.Linear(n_h, n_pc, bias=False)

    def forward(self, vel, init):
        h0 = self.encoder(init).unsqueeze(0)
        g, _ = self.rnn(vel, h0)
        return self.decoder(g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--pc", type=int, default=512)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--float32", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dt = torch.float32 if a.float32 else torch.float64
    B, T, P = a.batch, a.steps, a.pc
    model = PathRNN(2, a.hidden, P).to(dt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    vel = torch.randn(B, T, 2, dtype=dt) * 0.2
    init = torch.randn(B, P, dtype=dt)
    y = torch.softmax(torch.randn(B, T, P, dtype=dt) * 3, dim=2)
    wd = 2e-4

    def step():
        opt.zero_grad()
        logits = model(vel, init)
        ce = -(y * F.log_softmax(logits, dim=-1)).sum(-1).mean()
        loss = ce + 0.5 * wd * (model.rnn.weight_hh_l0 ** 2).sum()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    times, cpus = [], []
    for _ in range(a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    times.sort()
    cpus.sort()
    print("seconds_per_step %.6g" % times[len(times) // 2])
    print("cpu_seconds_per_step %.6g" % cpus[len(cpus) // 2])


if __name__ == "__main__":
    main()
