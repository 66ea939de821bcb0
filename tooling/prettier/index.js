// The repository's one formatting style. printWidth 140 keeps the diff from the pre-prettier code small
// (the code was written to ~120–140 columns); everything else is prettier's default.
/** @type {import("prettier").Config} */
export default {
  printWidth: 140,
};
