/**
 * The parameter registry every network uses (the HourglassNet and the adaptation nets): it creates
 * each tensor variable under a stable name, initialises weights from the network's own seeded
 * generator, and lists them for the optimiser (trainable, in creation order) and for checkpoints (by
 * name, trainable first, then buffers such as batch-norm running statistics).
 *
 * tfjs variable names must be unique per process (tests build several nets), so tfjs names the
 * variables and the registry's names are what checkpoints use.
 */
import * as tf from "@tensorflow/tfjs-core";

export class ParamRegistry {
  private readonly trainable = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();

  /**
   * `prefix` starts every name ("transfer" → "transfer/w1"; none for the HourglassNet's
   * "stem.conv.w"); `randn` draws the standard normals of the weights, in creation order.
   */
  constructor(
    private readonly randn: () => number,
    private readonly prefix = "",
  ) {}

  private add(name: string, init: () => tf.Tensor, trainable: boolean): tf.Variable {
    const full = this.prefix ? `${this.prefix}/${name}` : name;
    if (this.trainable.has(full) || this.buffers.has(full)) throw new Error(`parameter ${full} is defined twice`);
    // Inside tidy: the initial-value tensor is not left behind.
    const v = tf.tidy(() => tf.variable(init(), trainable));
    (trainable ? this.trainable : this.buffers).set(full, v);
    return v;
  }

  /** Weights of `shape` drawn from N(0, (scale·√(2/fanIn))²): He et al. 2015 (fan-in) times `scale`. */
  he(name: string, shape: number[], fanIn: number, scale = 1): tf.Variable {
    const std = scale * Math.sqrt(2 / fanIn);
    const values = new Float32Array(shape.reduce((n, d) => n * d, 1));
    for (let i = 0; i < values.length; i++) values[i] = this.randn() * std;
    return this.add(name, () => tf.tensor(values, shape, "float32"), true);
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, () => tf.zeros(shape), true);
  }

  ones(name: string, shape: number[]): tf.Variable {
    return this.add(name, () => tf.ones(shape), true);
  }

  /** State that is not trained but travels with the weights (batch-norm running mean and variance). */
  buffer(name: string, shape: number[], fill: 0 | 1): tf.Variable {
    return this.add(name, () => tf.fill(shape, fill, "float32"), false);
  }

  /** The trainable variables in creation order: what the optimiser updates. */
  get variables(): tf.Variable[] {
    return [...this.trainable.values()];
  }

  /** Every variable by name, trainable first, then buffers. The live variables: do not dispose them. */
  get named(): Record<string, tf.Variable> {
    return Object.fromEntries([...this.trainable, ...this.buffers]);
  }

  /** Number of trainable scalars. */
  count(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of [...this.trainable.values(), ...this.buffers.values()]) v.dispose();
    this.trainable.clear();
    this.buffers.clear();
  }
}

/** A network whose variables checkpoints store by name and the optimiser updates. */
export interface HasVariables {
  /** Stable name → variable, e.g. "transfer/w1". */
  readonly named: Record<string, tf.Variable>;
  /** The trainable variables, in creation order. */
  readonly variables: tf.Variable[];
  dispose(): void;
}
