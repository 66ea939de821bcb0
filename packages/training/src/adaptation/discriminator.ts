/**
 * The DANN domain discriminator of uda-discriminator (Ganin & Lempitsky 2015): it learns to tell
 * synthetic from real features while, through the gradient-reversal layer (daln.ts), the backbone
 * learns features it cannot tell apart.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@lml/core";
import { ParamRegistry, type HasVariables } from "../params";

/**
 * DANN domain discriminator: global-average-pooled backbone features (B×C) → hidden ReLU → one logit
 * (synthetic = 1, real = 0). Placed behind `gradReverse`, so the backbone learns domain-invariant
 * features while this learns to tell the domains apart (Ganin & Lempitsky 2015).
 */
export class DomainDiscriminator implements HasVariables {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;

  private readonly params: ParamRegistry;

  /** `hidden`: RunConfig `train.discHidden`. */
  constructor(channels: number, hidden: number, seed: number, prefix = "discriminator") {
    const rng = new Rng(seed);
    const params = (this.params = new ParamRegistry(() => rng.normal(), prefix));
    this.w1 = params.he("w1", [channels, hidden], channels);
    this.b1 = params.zeros("b1", [hidden]);
    this.w2 = params.he("w2", [hidden, 1], hidden);
    this.b2 = params.zeros("b2", [1]);
  }

  get named(): Record<string, tf.Variable> {
    return this.params.named;
  }

  get variables(): tf.Variable[] {
    return this.params.variables;
  }

  /** features: B×h×w×C → logits B. */
  logits(features: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const pooled = tf.mean(features, [1, 2]) as tf.Tensor2D;
      const h = tf.relu(tf.add(tf.matMul(pooled, this.w1), this.b1));
      return tf.reshape(tf.add(tf.matMul(h, this.w2), this.b2), [-1]) as tf.Tensor1D;
    });
  }

  /** Binary cross-entropy of telling source (label 1) from target (label 0), mean over both batches. */
  loss(sourceFeatures: tf.Tensor4D, targetFeatures: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const ls = this.logits(sourceFeatures);
      const lt = this.logits(targetFeatures);
      const labels = tf.concat([tf.onesLike(ls), tf.zerosLike(lt)]);
      return tf.losses.sigmoidCrossEntropy(labels, tf.concat([ls, lt])) as tf.Scalar;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}
