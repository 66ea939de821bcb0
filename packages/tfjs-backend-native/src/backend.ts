/**
 * The `native` backend's tensor storage: tfjs-backend-cpu's MathBackendCPU, which keeps every tensor's
 * data as a plain TypedArray in the JS heap. The addon reads and writes those arrays in place (an N-API
 * Float32Array is a pointer and a length: no copy either way), so every cpu kernel also works on this
 * backend unchanged, and the kernels in kernels/ replace the ones where the time goes.
 *
 * One addition: a buffer pool for the native kernels' outputs. A training step of the standard model
 * allocates ~1,500 output arrays, many of them megabytes; fresh `new Float32Array(n)`s cost page faults
 * and zeroing (measured: a 2M-element Sub took 10 ms, 8 of them in the allocation) and garbage
 * collections. Buffers the pool handed out come back when the last tensor referring to them is
 * disposed, and are reused for the next output of the same size (the same shapes recur every step).
 * A buffer is never reused while any tensor still refers to it (counted per ArrayBuffer, so views made
 * by the cpu backend's Slice count too), nor once its array has been handed to user code by
 * dataSync()/data() (the caller may keep it), nor if the pool did not allocate it (user-supplied data).
 */
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BackendValues, DataId, DataType, TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";

/** Idle buffers kept for reuse, at most this many bytes in all (the standard model's step needs ~300 MB). */
const POOL_LIMIT_BYTES = 1 << 30;

export class NativeBackend extends MathBackendCPU {
  private readonly idle = new Map<number, Float32Array[]>();
  private idleBytes = 0;
  /** Pool-allocated buffers, and how many live tensor entries use each. */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private readonly users = new Map<ArrayBufferLike, number>();
  private readonly exposed = new WeakSet<ArrayBufferLike>();
  readonly poolStats = { reused: 0, allocated: 0 };

  constructor(readonly addon: NativeAddon) {
    super();
    // MathBackendCPU prints "install tfjs-node to speed things up" on first use; this is that speed-up.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** The float32 data of `t`, as stored (a kernel that stored a plain array gets it converted once). */
  f32(t: TensorInfo): Float32Array {
    const entry = this.data.get(t.dataId);
    if (entry.values instanceof Float32Array) return entry.values;
    const values = Float32Array.from(entry.values as ArrayLike<number>);
    if (entry.values) this.release(entry.values);
    this.retain(values);
    entry.values = values;
    return values;
  }

  /** A new float32 tensor of `shape` over `values` (taken over, not copied). */
  output(shape: number[], values: Float32Array): TensorInfo {
    return this.makeTensorInfo(shape, "float32", values);
  }

  /** An output buffer for a native kernel (contents undefined: the kernel overwrites every element). */
  alloc(size: number): Float32Array {
    const list = this.idle.get(size);
    const reused = list?.pop();
    if (reused) {
      this.idleBytes -= reused.byteLength;
      this.poolStats.reused++;
      return reused;
    }
    const fresh = new Float32Array(size);
    this.owned.add(fresh.buffer);
    this.poolStats.allocated++;
    return fresh;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.retain(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.retain(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = this.data.get(dataId)?.values;
    if (ArrayBuffer.isView(values)) this.exposed.add(values.buffer);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const freed = super.disposeData(dataId, force);
    if (freed && values !== undefined && !this.data.has(dataId)) this.release(values);
    return freed;
  }

  override dispose(): void {
    this.idle.clear();
    this.idleBytes = 0;
    super.dispose();
  }

  private retain(values: BackendValues | undefined): void {
    if (!ArrayBuffer.isView(values)) return;
    this.users.set(values.buffer, (this.users.get(values.buffer) ?? 0) + 1);
  }

  private release(values: BackendValues): void {
    if (!ArrayBuffer.isView(values)) return;
    const buffer = values.buffer;
    const n = (this.users.get(buffer) ?? 1) - 1;
    if (n > 0) {
      this.users.set(buffer, n);
      return;
    }
    this.users.delete(buffer);
    // Only whole pool buffers go back (a view's buffer returns when its own array does).
    if (!this.owned.has(buffer) || this.exposed.has(buffer) || !(values instanceof Float32Array)) return;
    if (values.byteOffset !== 0 || values.byteLength !== buffer.byteLength) return;
    if (this.idleBytes + values.byteLength > POOL_LIMIT_BYTES) return;
    const list = this.idle.get(values.length);
    if (list) list.push(values);
    else this.idle.set(values.length, [values]);
    this.idleBytes += values.byteLength;
  }
}

/** All inputs are float32 (the addon's kernels are float32 only; other dtypes go to the cpu kernels). */
export function allFloat32(...ts: (TensorInfo | undefined | null)[]): boolean {
  return ts.every((t) => t == null || (t.dtype as DataType) === "float32");
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
