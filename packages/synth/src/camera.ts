/**
 * Pose and the perspective camera. (Framing — the square crop around the 68 points — is core's
 * face-framing rule, the same for every domain; see render.ts.)
 */

export interface Pose { yaw: number; pitch: number; roll: number }
export interface Camera { distance: number; focal: number }

/** Row-major 3×3 rotation: roll (clockwise in the image) · pitch (nose up) · yaw (nose to the image's right). */
export function rotation(p: Pose): Float64Array {
  const d = Math.PI / 180;
  const cy = Math.cos(p.yaw * d), sy = Math.sin(p.yaw * d);
  const cp = Math.cos(p.pitch * d), sp = Math.sin(p.pitch * d);
  const cr = Math.cos(-p.roll * d), sr = Math.sin(-p.roll * d);
  // Ry: x' = x cy + z sy ; z' = −x sy + z cy
  const Ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  // Rx (nose up = +y): y' = y cp + z sp ; z' = −y sp + z cp
  const Rx = [1, 0, 0, 0, cp, sp, 0, -sp, cp];
  const Rz = [cr, -sr, 0, sr, cr, 0, 0, 0, 1];
  return Float64Array.from(mul(Rz, mul(Rx, Ry)));
}

function mul(a: number[], b: number[]): number[] {
  const o = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) o[3 * i + j] += a[3 * i + k] * b[3 * k + j];
  return o;
}

/** Centre of rotation: roughly the middle of the head (between the ears, at cheek height). */
export const PIVOT = { x: 0, y: -0.3, z: 0 } as const;

/**
 * Rotates and projects n points (3 per point) into normalised image coordinates (x right, y down; units of
 * focal·1), writing u, v and depth. Camera on +z looking at the pivot.
 */
export function project(
  R: Float64Array, cam: Camera, P: Float32Array, n: number, u: Float32Array, v: Float32Array, depth: Float32Array,
): void {
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = R;
  const D = cam.distance, f = cam.focal;
  for (let k = 0; k < n; k++) {
    const x = P[3 * k] - PIVOT.x, y = P[3 * k + 1] - PIVOT.y, z = P[3 * k + 2] - PIVOT.z;
    const X = r0 * x + r1 * y + r2 * z, Y = r3 * x + r4 * y + r5 * z, Z = r6 * x + r7 * y + r8 * z;
    const dz = D - Z;
    u[k] = (f * X) / dz;
    v[k] = (-f * Y) / dz;
    depth[k] = dz;
  }
}

