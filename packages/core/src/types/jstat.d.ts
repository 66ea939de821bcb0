// jstat ships no types; these are the few functions core uses (see https://jstat.github.io/distributions.html).
declare module "jstat" {
  const jStat: {
    studentt: { cdf(x: number, dof: number): number; inv(p: number, dof: number): number };
    normal: { cdf(x: number, mean: number, std: number): number };
  };
  export default jStat;
}
