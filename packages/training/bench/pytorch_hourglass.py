#!/usr/bin/env python3
"""PyTorch reference for `lml bench train`: the same stacked HourglassNet (packages/training/src/model.ts),
the same shapes, the same training step (forward in training mode, MSE on every stack's heatmaps,
backward, Adam), timed on ONE thread to compare like for like with tfjs-wasm (single-threaded in Node).

A benchmark reference only, not a product dependency. Needs Debian's python3-torch:
    apt-get install -y python3-torch
    /usr/bin/python3 packages/training/bench/pytorch_hourglass.py [--threads 1] [--batch 16] [--steps 5] ...
Prints ONE JSON line in the format of `lml bench train --json` (backend "pytorch-cpu"); with --cpu-clock it
adds "cpu": the same throughputs per CPU-second of this process (as benchTraining's cpuClock option).

Layout differences that do not change the arithmetic: PyTorch is NCHW, tfjs NHWC; the stride-2 7×7
stem pads 3/3 here and 2/3 in TensorFlow's 'same' (same output size and FLOPs).
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Residual(nn.Module):
    """Pre-activation bottleneck: BN-ReLU-conv1x1(c/2), BN-ReLU-conv3x3(c/2), BN-ReLU-conv1x1(c), + skip."""

    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 2
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, mid, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(mid), nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(mid), nn.Conv2d(mid, cout, 1, bias=False)
        self.skip = None if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + (x if self.skip is None else self.skip(x))


def residuals(c, blocks):
    return nn.Sequential(*[Residual(c, c) for _ in range(blocks)])


class HourglassModule(nn.Module):
    def __init__(self, depth, c, blocks):
        super().__init__()
        self.up = residuals(c, blocks)
        self.low1 = residuals(c, blocks)
        self.low2 = HourglassModule(depth - 1, c, blocks) if depth > 1 else residuals(c, blocks)
        self.low3 = residuals(c, blocks)

    def forward(self, x):
        low = self.low3(self.low2(self.low1(F.avg_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, scale_factor=2, mode="nearest")


class StackedHourglass(nn.Module):
    def __init__(self, input_size=64, in_ch=1, stacks=2, c=64, depth=2, blocks=1, heatmap=16, landmarks=490):
        super().__init__()
        ratio = input_size // heatmap
        stride = 2 if ratio >= 2 else 1
        self.pools = (ratio // stride).bit_length() - 1
        self.stem_conv = nn.Conv2d(in_ch, c // 2, 7, stride=stride, padding=3, bias=False)
        self.stem_bn = nn.BatchNorm2d(c // 2)
        self.stem_res = nn.Sequential(Residual(c // 2, c), Residual(c, c))
        self.hg = nn.ModuleList([HourglassModule(depth, c, blocks) for _ in range(stacks)])
        self.post = nn.ModuleList([residuals(c, blocks) for _ in range(stacks)])
        self.lin = nn.ModuleList([nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()) for _ in range(stacks)])
        self.head = nn.ModuleList([nn.Conv2d(c, landmarks, 1) for _ in range(stacks)])
        self.remap_f = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(stacks - 1)])
        self.remap_h = nn.ModuleList([nn.Conv2d(landmarks, c, 1) for _ in range(stacks - 1)])

    def forward(self, x):
        y = F.relu(self.stem_bn(self.stem_conv(x)))
        for _ in range(self.pools):
            y = F.avg_pool2d(y, 2)
        y = self.stem_res(y)
        heatmaps = []
        for s in range(len(self.hg)):
            features = self.lin[s](self.post[s](self.hg[s](y)))
            hm = self.head[s](features)
            heatmaps.append(hm)
            if s < len(self.hg) - 1:
                y = y + self.remap_f[s](features) + self.remap_h[s](hm)
        return heatmaps


def conv_flops(model, x):
    """Forward FLOPs per image = 2 × multiply-adds of the convolutions (as model.ts counts them)."""
    total = [0]

    def hook(m, inp, out):
        total[0] += out.shape[2] * out.shape[3] * m.kernel_size[0] * m.kernel_size[1] * m.in_channels * m.out_channels

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()
        model(x[:1])
    for h in hs:
        h.remove()
    return 2 * total[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--stacks", type=int, default=2)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--landmarks", type=int, default=490)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--cpu-clock", action="store_true", help="also report images per CPU-second")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)

    model = StackedHourglass(stacks=a.stacks, c=a.channels, depth=a.depth, landmarks=a.landmarks)
    x = torch.rand(a.batch, 1, 64, 64)
    target = torch.rand(a.batch, a.landmarks, 16, 16)
    flops = conv_flops(model, x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = sum(F.mse_loss(h, target) for h in model(x))
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad():
            model(x)[-1].sum().item()

    cpu = {}

    def per_sec(step, train):
        model.train(train)
        for _ in range(a.warmup):
            step()
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(a.steps):
            step()
        cpu["train" if train else "infer"] = a.steps * a.batch / (time.process_time() - c0)
        return a.steps * a.batch / (time.perf_counter() - t0)

    train = per_sec(train_step, True)
    infer = per_sec(infer_step, False)
    result = {
        "backend": f"pytorch-cpu-{a.threads}thread",
        "trainImagesPerSec": round(train, 2),
        "inferImagesPerSec": round(infer, 2),
        "flopsPerImage": flops,
        "params": sum(p.numel() for p in model.parameters()),
        "batch": a.batch,
        "model": {"input": [64, 64, 1], "stacks": a.stacks, "channels": a.channels, "depth": a.depth,
                  "landmarks": a.landmarks, "heatmap": [16, 16]},
        "torch": torch.__version__,
    }
    if a.cpu_clock:
        result["cpu"] = {"trainImagesPerSec": round(cpu["train"], 2), "inferImagesPerSec": round(cpu["infer"], 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
