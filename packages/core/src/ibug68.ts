import { mirrorFromPairs, validateScheme, type LandmarkScheme } from "./scheme";

/**
 * iBug68 (300-W, Sagonas et al.), 0-based. "Right"/"left" are the subject's: point 36 (the right eye's
 * outer corner) appears on the image's left in a frontal photo.
 */
export const IBUG68_GROUP_RANGES = {
  jaw: [0, 16],
  brows: [17, 26],
  nose: [27, 35],
  eyes: [36, 47],
  "outer-lips": [48, 59],
  "inner-lips": [60, 67],
} as const satisfies Record<string, readonly [number, number]>;
export type Ibug68Group = keyof typeof IBUG68_GROUP_RANGES;

/** Points averaged into each pupil (inter-pupil normalisation) and the outer eye corners (inter-ocular). */
export const IBUG68_RIGHT_EYE = [36, 37, 38, 39, 40, 41] as const;
export const IBUG68_LEFT_EYE = [42, 43, 44, 45, 46, 47] as const;
export const IBUG68_OUTER_EYE_CORNERS = [36, 45] as const;

/** The standard 300-W horizontal-flip pairs (0-based); points 8, 27–30, 33, 51, 57, 62, 66 are on the midline. */
export const IBUG68_MIRROR_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [0, 16],
  [1, 15],
  [2, 14],
  [3, 13],
  [4, 12],
  [5, 11],
  [6, 10],
  [7, 9],
  [17, 26],
  [18, 25],
  [19, 24],
  [20, 23],
  [21, 22],
  [31, 35],
  [32, 34],
  [36, 45],
  [37, 44],
  [38, 43],
  [39, 42],
  [40, 47],
  [41, 46],
  [48, 54],
  [49, 53],
  [50, 52],
  [55, 59],
  [56, 58],
  [60, 64],
  [61, 63],
  [65, 67],
];

const pad = (k: number) => String(k).padStart(2, "0");
export const IBUG68_NAMES: readonly string[] = [
  ...Array.from({ length: 17 }, (_, k) => `jaw-${pad(k)}`), // 0 = right ear side, 8 = chin, 16 = left
  // Brows numbered from the outer end, so that mirror twins share a number.
  ...[1, 2, 3, 4, 5].map((k) => `right-brow-${k}`),
  ...[5, 4, 3, 2, 1].map((k) => `left-brow-${k}`),
  "nose-bridge-1",
  "nose-bridge-2",
  "nose-bridge-3",
  "nose-tip",
  "right-nostril-outer",
  "right-nostril-inner",
  "nose-base",
  "left-nostril-inner",
  "left-nostril-outer",
  "right-eye-outer",
  "right-eye-upper-outer",
  "right-eye-upper-inner",
  "right-eye-inner",
  "right-eye-lower-inner",
  "right-eye-lower-outer",
  "left-eye-inner",
  "left-eye-upper-inner",
  "left-eye-upper-outer",
  "left-eye-outer",
  "left-eye-lower-outer",
  "left-eye-lower-inner",
  "right-mouth-corner",
  "outer-upper-lip-right-2",
  "outer-upper-lip-right-1",
  "outer-upper-lip-centre",
  "outer-upper-lip-left-1",
  "outer-upper-lip-left-2",
  "left-mouth-corner",
  "outer-lower-lip-left-2",
  "outer-lower-lip-left-1",
  "outer-lower-lip-centre",
  "outer-lower-lip-right-1",
  "outer-lower-lip-right-2",
  "inner-right-mouth-corner",
  "inner-upper-lip-right",
  "inner-upper-lip-centre",
  "inner-upper-lip-left",
  "inner-left-mouth-corner",
  "inner-lower-lip-left",
  "inner-lower-lip-centre",
  "inner-lower-lip-right",
];

/**
 * Mean frontal 68-point shape: the TEMPLATE of OpenFace's align_dlib.py (Amos et al., CMU, Apache-2.0),
 * the mean of dlib's 68 landmarks over aligned frontal faces. Frame: image axes (x right, y down), in
 * units of the face-detector box: origin at the box's top-left corner, 1 = the box side. The face spans
 * x ≈ 0.08…0.97, y ≈ 0.18…1.06 and the outer eye corners (36, 45) are ≈ 0.53 apart.
 */
// prettier-ignore
export const IBUG68_TEMPLATE = new Float32Array([
  0.0792396913815, 0.339223741112, 0.0829219487236, 0.456955367943,
  0.0967927109165, 0.575648016728, 0.122141515615, 0.691921601066,
  0.168687863544, 0.800341263616, 0.239789390707, 0.895732504778,
  0.325662452515, 0.977068762493, 0.422318282013, 1.04329000149,
  0.531777802068, 1.06080371126, 0.641296298053, 1.03981924107,
  0.738105872266, 0.972268833998, 0.824444363295, 0.889624082279,
  0.894792677532, 0.792494155836, 0.939395486253, 0.681546643421,
  0.96111933829, 0.562238253072, 0.970579841181, 0.441758925744,
  0.971193274221, 0.322118743967, 0.163846223133, 0.249151738053,
  0.21780354657, 0.204255863861, 0.291299351124, 0.192367318323,
  0.367460241458, 0.203582210627, 0.4392945113, 0.233135599851,
  0.586445962425, 0.228141644834, 0.660152671635, 0.195923841854,
  0.737466449096, 0.182360984545, 0.813236546239, 0.192828009114,
  0.8707571886, 0.235293377042, 0.51534533827, 0.31863546193,
  0.516221448289, 0.396200446263, 0.517118861835, 0.473797687758,
  0.51816430343, 0.553157797772, 0.433701156035, 0.604054457668,
  0.475501237769, 0.62076344024, 0.520712933176, 0.634268222208,
  0.565874114041, 0.618796581487, 0.607054002672, 0.60157671656,
  0.252418718401, 0.331052263829, 0.298663015648, 0.302646354002,
  0.355749724218, 0.303020650651, 0.403718978315, 0.33867711083,
  0.352507175597, 0.349987615384, 0.296791759886, 0.350478978225,
  0.631326076346, 0.334136672344, 0.679073381078, 0.29645404267,
  0.73597236153, 0.294721285802, 0.782865376271, 0.321305281656,
  0.740312274764, 0.341849376713, 0.68499850091, 0.343734332172,
  0.353167761422, 0.746189164237, 0.414587777921, 0.719053835073,
  0.477677654595, 0.706835892494, 0.522732900812, 0.717092275768,
  0.569832064287, 0.705414478982, 0.635195811927, 0.71565572516,
  0.69951672331, 0.739419187253, 0.639447159575, 0.805236879972,
  0.576410514055, 0.835436670169, 0.525398405766, 0.841706377792,
  0.47641545769, 0.837505914975, 0.41379548902, 0.810045601727,
  0.380084785646, 0.749979603086, 0.477955996282, 0.74513234612,
  0.523389793327, 0.748924302636, 0.571057789237, 0.74332894691,
  0.672409137852, 0.744177032192, 0.572539621444, 0.776609286626,
  0.5240106503, 0.783370783245, 0.477561227414, 0.778476346951,
]);

function ibug68Groups(): string[] {
  const groups: string[] = [];
  for (const [name, [from, to]] of Object.entries(IBUG68_GROUP_RANGES)) for (let i = from; i <= to; i++) groups[i] = name;
  return groups;
}

/** The iBug68 scheme (validated at load). Treat as read-only: it is shared by every caller. */
export const IBUG68: LandmarkScheme = validateScheme({
  id: "ibug68",
  count: 68,
  names: [...IBUG68_NAMES],
  groups: ibug68Groups(),
  mirror: mirrorFromPairs(68, IBUG68_MIRROR_PAIRS),
  template: IBUG68_TEMPLATE,
});
