# PyTorch one-thread counterpart of convspeed.mts: min CPU time of single convolutions (forward, dW).
import time, torch
torch.set_num_threads(1)
for B, S, ci, co, k in [(16, 16, 32, 32, 3), (16, 16, 64, 490, 1), (16, 16, 64, 32, 1), (16, 16, 32, 64, 1), (16, 8, 32, 32, 3)]:
    x = torch.rand(B, ci, S, S); w = torch.rand(co, ci, k, k, requires_grad=True)
    flops = 2 * B * S * S * k * k * ci * co
    def run(f):
        f(); t = []
        for _ in range(15):
            c = time.process_time(); f(); t.append((time.process_time() - c) * 1e3)
        return min(t)
    with torch.no_grad():
        fwd = run(lambda: torch.nn.functional.conv2d(x, w, padding=k // 2))
    y = torch.rand(B, co, S, S)
    def dw():
        g, = torch.autograd.grad((torch.nn.functional.conv2d(x, w, padding=k // 2) * y).sum(), w)
    d = run(dw) - fwd
    print(f"B{B} {S}x{S} {ci}->{co} k{k}: fwd {fwd:.2f} ms {flops / fwd / 1e6:.1f} GFLOP/s; dW(+mul,sum) {d:.2f} ms {flops / max(d, 1e-3) / 1e6:.1f} GFLOP/s")
