/** How the dashboard prints durations, times and numbers. */
export function duration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function when(d: Date | string | null | undefined): string {
  if (!d) return "—";
  const date = typeof d === "string" ? new Date(d) : d;
  return date.toLocaleString("en-GB", { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function ago(d: Date | string | null | undefined, now = Date.now()): string {
  if (!d) return "—";
  const t = (typeof d === "string" ? new Date(d) : d).getTime();
  return `${duration(now - t)} ago`;
}

export function num(x: number | null | undefined, digits = 3): string {
  return x == null || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

export function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
