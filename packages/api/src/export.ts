/**
 * CSV, Markdown and LaTeX (booktabs) renderings of the study tables. Markdown and LaTeX show what the
 * dashboard shows (mean ± std, n, best in bold, † where the best is not significantly better than the
 * runner-up); CSV carries the unrounded numbers in separate columns for further analysis.
 */
import { formatNumber, METRIC_LABELS, type ReferenceKind, type ReferenceRow, type StudyCell, type StudyTable } from "./format";

export const EXPORT_FORMATS = ["csv", "md", "latex"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_MIME: Record<ExportFormat, string> = {
  csv: "text/csv",
  md: "text/markdown",
  latex: "application/x-latex",
};
export const EXPORT_EXTENSION: Record<ExportFormat, string> = { csv: "csv", md: "md", latex: "tex" };

export interface ExportOptions {
  /** Decimals shown in Markdown and LaTeX (the study reports three). */
  digits?: number;
}

/** Full precision without float noise, for CSV. */
function raw(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(12))) : "";
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const NOT_SIGNIFICANT = "†";

function cellText(c: StudyCell | null, digits: number, bold: (s: string) => string, pm: string): string {
  if (!c) return "–";
  const core = c.n > 1 ? `${formatNumber(c.mean, digits)} ${pm} ${formatNumber(c.std, digits)}` : formatNumber(c.mean, digits);
  const marked = c.best ? bold(core) : core;
  const mark = c.vsNext?.significance === "not-significant" ? NOT_SIGNIFICANT : "";
  return `${marked}${mark} (n=${c.n})`;
}

function footnote(table: StudyTable): string {
  return `${METRIC_LABELS[table.metric]}, ${table.norm} normalisation; mean ± std over seeds (n runs); best per column in bold; ${NOT_SIGNIFICANT} = not significantly better than the next best (Wilcoxon signed-rank test over images, α = ${table.alpha}).`;
}

const REFERENCE_KIND_LABELS: Record<ReferenceKind, string> = { published: "Published", peer: "Peer" };

/** A reference row's label in the exports: its kind first, so it cannot pass for a run of ours. */
function referenceLabel(r: ReferenceRow): string {
  return `${REFERENCE_KIND_LABELS[r.kind]}: ${r.label}`;
}

function referenceText(v: number | null, digits: number): string {
  return v === null ? "–" : formatNumber(v, digits);
}

/** The reference rows' legend: what they are, where each group comes from, and each row's note. */
function referenceFootnotes(table: StudyTable): string[] {
  const refs = table.references ?? [];
  if (refs.length === 0) return [];
  const bySource = new Map<string, ReferenceRow[]>();
  for (const r of refs) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r]);
  return [
    "Rows in italics are references, not runs of this project: not ranked, not marked best, not tested.",
    ...[...bySource].map(([source, rows]) => `${rows.map(referenceLabel).join("; ")} — ${source}.`),
    ...refs.filter((r) => r.note).map((r) => `${referenceLabel(r)}: ${r.note}.`),
  ];
}

function latexEscape(s: string): string {
  return s
    .replace(/\\/g, "\\textbackslash{}")
    .replace(/([&%$#_{}])/g, "\\$1")
    .replace(/~/g, "\\textasciitilde{}")
    .replace(/\^/g, "\\textasciicircum{}");
}

function csvHeader(table: StudyTable): string[] {
  return [
    "protocol",
    "model",
    "regime",
    ...table.groupBy,
    ...table.columns.flatMap((c) => [
      `${c.testSet}_mean`,
      `${c.testSet}_std`,
      `${c.testSet}_n`,
      `${c.testSet}_best`,
      `${c.testSet}_p_vs_next`,
    ]),
  ];
}

function csvRows(table: StudyTable): string[][] {
  return [...studyCsvRows(table), ...referenceCsvRows(table)];
}

/** Reference rows in CSV: regime column "reference:<kind>", the value as the mean, the rest empty. */
function referenceCsvRows(table: StudyTable): string[][] {
  return (table.references ?? []).map((r) => [
    table.protocol,
    referenceLabel(r),
    `reference:${r.kind}`,
    ...table.groupBy.map(() => ""),
    ...table.columns.flatMap((col) => {
      const v = r.cells[col.testSet] ?? null;
      return [v === null ? "" : raw(v), "", "", "", ""];
    }),
  ]);
}

function studyCsvRows(table: StudyTable): string[][] {
  return table.rows.map((r) => [
    table.protocol,
    r.label,
    r.regime,
    ...table.groupBy.map((g) => r.group[g] ?? ""),
    ...table.columns.flatMap((col) => {
      const c = r.cells[col.testSet];
      if (!c) return ["", "", "", "", ""];
      return [raw(c.mean), raw(c.std), String(c.n), c.best ? "1" : "0", c.vsNext?.p != null ? raw(c.vsNext.p) : ""];
    }),
  ]);
}

/** One table as CSV, Markdown or LaTeX booktabs. */
export function exportTable(table: StudyTable, format: ExportFormat, options: ExportOptions = {}): string {
  const digits = options.digits ?? 3;
  if (format === "csv") {
    return [csvHeader(table), ...csvRows(table)].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
  }
  if (format === "md") {
    const head = ["Model", ...table.columns.map((c) => c.label)];
    const lines = [
      `**${table.title}** — ${METRIC_LABELS[table.metric]}, ${table.norm}`,
      "",
      `| ${head.join(" | ")} |`,
      `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
      ...table.rows.map(
        (r) =>
          `| ${[r.label.replace(/\|/g, "\\|"), ...table.columns.map((c) => cellText(r.cells[c.testSet], digits, (s) => `**${s}**`, "±"))].join(" | ")} |`,
      ),
      ...(table.references ?? []).map(
        (r) =>
          `| ${[`_${referenceLabel(r).replace(/\|/g, "\\|")}_`, ...table.columns.map((c) => `_${referenceText(r.cells[c.testSet] ?? null, digits)}_`)].join(" | ")} |`,
      ),
      "",
      `_${footnote(table)}_`,
      ...referenceFootnotes(table).map((line) => `_${line}_`),
    ];
    return lines.join("\n") + "\n";
  }
  const cols = table.columns.length;
  const lines = [
    "% requires \\usepackage{booktabs}",
    "\\begin{table}[t]",
    "\\centering",
    `\\caption{${latexEscape(table.title)}: ${latexEscape(METRIC_LABELS[table.metric])}, ${latexEscape(table.norm)} normalisation.}`,
    `\\begin{tabular}{l${"c".repeat(cols)}}`,
    "\\toprule",
    `Model & ${table.columns.map((c) => latexEscape(c.label)).join(" & ")} \\\\`,
    "\\midrule",
    ...table.rows.map(
      (r) =>
        `${latexEscape(r.label)} & ${table.columns
          .map((c) =>
            cellText(r.cells[c.testSet], digits, (s) => `\\textbf{${s}}`, "$\\pm$")
              .replace(NOT_SIGNIFICANT, "$^\\dagger$")
              .replace("–", "--"),
          )
          .join(" & ")} \\\\`,
    ),
    ...((table.references ?? []).length ? ["\\midrule"] : []),
    ...(table.references ?? []).map(
      (r) =>
        `\\textit{${latexEscape(referenceLabel(r))}} & ${table.columns
          .map((c) => `\\textit{${referenceText(r.cells[c.testSet] ?? null, digits).replace("–", "--")}}`)
          .join(" & ")} \\\\`,
    ),
    "\\bottomrule",
    "\\end{tabular}",
    `\\par\\smallskip{\\footnotesize ${latexEscape(footnote(table)).replace("±", "$\\pm$").replace(NOT_SIGNIFICANT, "$^\\dagger$").replace("α", "$\\alpha$")}}`,
    ...referenceFootnotes(table).map((line) => `\\par{\\footnotesize ${latexEscape(line)}}`),
    "\\end{table}",
  ];
  return lines.join("\n") + "\n";
}

/** Several tables in one document: CSV shares one header (the protocol column tells them apart). */
export function exportTables(tables: readonly StudyTable[], format: ExportFormat, options: ExportOptions = {}): string {
  if (format === "csv") {
    if (tables.length === 0) return "";
    const rows = [csvHeader(tables[0]), ...tables.flatMap(csvRows)];
    return rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n";
  }
  return tables.map((t) => exportTable(t, format, options)).join("\n");
}
