/** The face models the tests run: the procedural head always, the Surrey Face Model when its files are there. */
import { sfmAvailable, faceModelDir, type FaceModelKind } from "../src/face-model";

export const HAS_SFM = sfmAvailable();
/** Appended to SFM test names when they are skipped, so the run says why. */
export const SFM_NOTE = HAS_SFM ? "" : ` [skipped: no Surrey Face Model in ${faceModelDir().dir}; set LML_FACE_MODEL]`;
export const MODELS: FaceModelKind[] = HAS_SFM ? ["sfm", "procedural"] : ["procedural"];
