/**
 * The face-api.js peer: @vladmandic/face-api's 68-point landmark CNN (faceLandmark68Net, the full one, not
 * the tiny) on its Node WASM build, with the weights that ship in the package's model/ folder. Loaded from
 * scripts/peers/face-api/node_modules (an optional install, see README), so it is typed here by what is used.
 */
import { join } from "node:path";
import { PTS_TO_PIXEL_OFFSET, writePts } from "@lml/core";
import { readCrop, type PixelBox } from "./crops";
import { faceApiRequire } from "./prerequisites";

interface Tensor {
  dispose(): void;
}
interface FaceApi {
  version: string;
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Float32Array, shape: [number, number, number]): Tensor;
    slice(x: Tensor, begin: number[], size: number[]): Tensor;
  };
  nets: {
    faceLandmark68Net: {
      loadFromDisk(dir: string): Promise<void>;
      detectLandmarks(input: Tensor): Promise<{ positions: { x: number; y: number }[] }>;
    };
  };
}

export const FACE_API_PACKAGE = "@vladmandic/face-api";
export const FACE_API_MODEL_FILE = "face_landmark_68_model.bin";

export function faceApiModelDir(): string {
  return join(faceApiRequire.resolve(`${FACE_API_PACKAGE}/package.json`), "..", "model");
}

/** Loads face-api on the WASM backend with the landmark net's weights from the package. */
export async function loadFaceApi(): Promise<FaceApi> {
  const faceapi = faceApiRequire(`${FACE_API_PACKAGE}/dist/face-api.node-wasm.js`) as FaceApi;
  await faceapi.tf.setBackend("wasm");
  await faceapi.tf.ready();
  if (faceapi.tf.getBackend() !== "wasm") throw new Error(`face-api: backend is ${faceapi.tf.getBackend()}, not wasm`);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(faceApiModelDir());
  return faceapi;
}

/**
 * Predicts 68 points inside the fixed box of every crop and writes <outDir>/<stem>.pts. face-api returns
 * positions in the box's continuous frame (0 … width, scaled back from its 112² input); adding the box
 * corner gives the crop's continuous frame, and subtracting PTS_TO_PIXEL_OFFSET gives 1-based .pts.
 */
export async function runFaceApi(faceapi: FaceApi, testDir: string, stems: readonly string[], side: number, outDir: string, box: PixelBox) {
  const { tf } = faceapi;
  for (const stem of stems) {
    const rgb = await readCrop(join(testDir, `${stem}.jpg`), side);
    const image = tf.tensor3d(rgb, [side, side, 3]);
    const face = tf.slice(image, [box.y0, box.x0, 0], [box.y1 - box.y0, box.x1 - box.x0, 3]);
    const { positions } = await faceapi.nets.faceLandmark68Net.detectLandmarks(face);
    image.dispose();
    face.dispose();
    if (positions.length !== 68) throw new Error(`face-api: ${positions.length} points for ${stem}, expected 68`);
    const pts = positions.flatMap((p) => [box.x0 + p.x - PTS_TO_PIXEL_OFFSET, box.y0 + p.y - PTS_TO_PIXEL_OFFSET]);
    await writePts(join(outDir, `${stem}.pts`), pts);
  }
}
