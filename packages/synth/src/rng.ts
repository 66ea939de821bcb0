/**
 * Seeded randomness. Every sample gets its own generator from a hash of (seed, domain, split, index), so a
 * sample never depends on which samples were rendered before it (batch size and worker count are irrelevant).
 */

/** 32-bit mix (lowbias32 by Chris Wellons): spreads nearby integers over the whole range. */
export function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = mix32(h ^ mix32((x | 0) + 0x632be5ab));
  return h;
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** sfc32: small, fast, and good enough for image synthesis. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;
  constructor(seed: number) {
    this.a = mix32(seed ^ 0xa5a5a5a5);
    this.b = mix32(seed + 0x1234567);
    this.c = mix32(seed ^ 0xdeadbeef);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Normal(mean, sd) clipped to [lo, hi]. */
  clippedNormal(mean: number, sd: number, lo: number, hi: number): number {
    return Math.min(hi, Math.max(lo, mean + sd * this.normal()));
  }
}
