"""lstm_ref.py: PyTorch reference for bench_lstm.c (the Banino et al. 2018 model).

Times one training update (forward, backward, optimiser step) of the same network as
engram's pathint.h: h0/c0 = Linear(268 -> 128) of the t = 0 targets, LSTM-128 (forget
bias +1 via the bias init), g = Linear(128 -> 256, no bias) with dropout 0.5, softmax
heads 256 + 12 with soft-target cross-entropy, element-wise gradient clipping and
RMSProp with momentum. float64 by default, as engram's default; --dtype float32 (or
--float32) runs the same model in float32, to set against run.precision = float32.

Usage: /usr/bin/python3 bench/lstm_ref.py --batch 10 --steps 100 --threads 1
       [--reps 10] [--dtype float64|float32]
Prints "seconds_per_step <s>" and "cpu_seconds_per_step <s>": medians of REPS timed
updates after 2 warm-ups, wall and process CPU time. Exits 3 with a message if torch is
missing.
"""
import argparse
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as exc:  # pragma: no cover
    print("torch unavailable: %s" % exc)
    sys.exit(3)


class PathInt(nn.Module):
    def __init__(self, n_in=3, n_h=128, n_g=256, n_pc=256, n_hd=12, dropout=0.5):
        super().__init__()
        self.h0 = nn.Linear(n_pc + n_hd, n_h)
        self.c0 = nn.Linear(n_pc + n_hd, n_h)
        self.lstm = nn.LSTM(n_in, n_h, batch_first=True)
        with torch.no_grad():
            self.lstm.bias_ih_l0[n_h:2 * n_h].fill_(1.0)  # forget gate (torch order i, f, g, o)
        self.g = nn.Linear(n_h, n_g, bias=False)
        self.drop = nn.Dropout(dropout)
        self.pc = nn.Linear(n_g, n_pc)
        self.hd = nn.Linear(n_g, n_hd)

    def forward(self, vel, init):
        h0 = self.h0(init).unsqueeze(0)
        c0 = self.c0(init).unsqueeze(0)
        h, _ = self.lstm(vel, (h0, c0))
        g = self.drop(self.g(h))
        return self.pc(g), self.hd(g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--float32", action="store_true", help="the same as --dtype float32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dt = torch.float32 if a.float32 or a.dtype == "float32" else torch.float64
    B, T = a.batch, a.steps
    model = PathInt().to(dt)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-5, alpha=0.9, eps=1e-10, momentum=0.9)
    vel = torch.randn(B, T, 3, dtype=dt) * 0.05
    init = torch.softmax(torch.randn(B, 268, dtype=dt), dim=1)
    pc_t = torch.softmax(torch.randn(B, T, 256, dtype=dt) * 5, dim=2)
    hd_t = torch.softmax(torch.randn(B, T, 12, dtype=dt) * 5, dim=2)

    def step():
        opt.zero_grad()
        lpc, lhd = model(vel, init)
        loss = F.cross_entropy(lpc.reshape(-1, 256), pc_t.reshape(-1, 256)) + \
            F.cross_entropy(lhd.reshape(-1, 12), hd_t.reshape(-1, 12))
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1e-5)
        opt.step()

    for _ in range(2):
        step()
    wall, cpu = [], []
    for _ in range(max(a.reps, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    wall.sort()
    cpu.sort()
    print("seconds_per_step %.6g" % wall[len(wall) // 2])
    print("cpu_seconds_per_step %.6g" % cpu[len(cpu) // 2])


if __name__ == "__main__":
    main()
