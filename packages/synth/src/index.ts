export * from "./types";
export { renderSample, GENERATOR_VERSION, PROXY_REAL_LABEL } from "./render";
export { getScheme } from "./scheme";
export { createDataset } from "./dataset";
export { FACE_MODEL_CHOICES, resolveFaceModel, faceModelDir, sfmAvailable, type FaceModelChoice, type FaceModelKind } from "./face-model";
