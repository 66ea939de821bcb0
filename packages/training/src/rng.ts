/**
 * The engine's one random generator: mulberry32, a 32-bit PRNG whose whole state is one integer (so a
 * checkpoint stores it), with Box–Muller normals on top. Initial weights, shuffles, augmentation and the
 * test-time MLP's order all draw from it, so a run depends on its seed and not on the tfjs backend.
 */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller), u clamped away from 0: augmentation and the adaptation nets' weights. */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /**
   * Standard normal (Box–Muller) on 1 − u ∈ (0, 1]: the HourglassNet's initial weights. It differs from
   * `normal()` only in how it keeps log() finite; both stay because every run's initial weights (and so
   * its losses, which the tests compare across versions) depend on the exact draws.
   */
  normalFromComplement(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A fresh 32-bit seed for a sub-stream (e.g. one epoch's shuffle). */
  int(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** Shuffles `items` in place (Fisher–Yates, from the last index down) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
