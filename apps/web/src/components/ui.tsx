"use client";
/** Small building blocks every page uses: status badges, progress, pager, empty and error states. */
import Link from "next/link";
import type { ReactNode } from "react";
import { TERMINAL_STATUSES } from "@lml/core/study";
import { pct } from "./format";

export function StatusBadge({ status, count }: { status: string; count?: number }) {
  const label = status.charAt(0) + status.slice(1).toLowerCase();
  return (
    <span className={`badge ${status}`} data-status={status}>
      <span className="dot" />
      {count !== undefined ? `${count} ${label.toLowerCase()}` : label}
    </span>
  );
}

/** A bar split by status: finished work in colour, running work by its progress. */
export function ProgressBar({
  counts,
  total,
  progress,
  runningProgress,
}: {
  counts: Record<string, number>;
  total: number;
  progress: number;
  runningProgress?: number;
}) {
  if (!total) return <div className="progress" />;
  const running = runningProgress ?? Math.max(0, progress * total - TERMINAL_STATUSES.reduce((s, k) => s + counts[k], 0));
  const parts: [string, number][] = [
    ["SUCCEEDED", counts.SUCCEEDED],
    ["FAILED", counts.FAILED],
    ["CANCELED", counts.CANCELED],
    ["RUNNING", running],
  ];
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuenow={Math.round(progress * 100)}
      aria-valuemin={0}
      aria-valuemax={100}
      title={pct(progress)}
    >
      {parts.map(([k, v]) => (v > 0 ? <span key={k} className={k} style={{ width: `${(100 * v) / total}%` }} /> : null))}
    </div>
  );
}

export function Pager({ page, pageSize, total, onPage }: { page: number; pageSize: number; total: number; onPage: (p: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const from = total ? (page - 1) * pageSize + 1 : 0;
  const to = Math.min(total, page * pageSize);
  return (
    <div className="pager">
      <span className="num">
        {from}–{to} of {total}
      </span>
      <div className="row">
        <button className="btn sm" disabled={page <= 1} onClick={() => onPage(page - 1)}>
          ← Prev
        </button>
        <span className="num">
          Page {page} / {pages}
        </span>
        <button className="btn sm" disabled={page >= pages} onClick={() => onPage(page + 1)}>
          Next →
        </button>
      </div>
    </div>
  );
}

export function Empty({ title, children, icon = "grid" }: { title: string; children?: ReactNode; icon?: "grid" | "chart" | "face" }) {
  return (
    <div className="empty" data-empty>
      <svg width="44" height="44" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.4" aria-hidden>
        {icon === "grid" && (
          <>
            <rect x="3" y="3" width="7" height="7" rx="1" />
            <rect x="14" y="3" width="7" height="7" rx="1" />
            <rect x="3" y="14" width="7" height="7" rx="1" />
            <rect x="14" y="14" width="7" height="7" rx="1" />
          </>
        )}
        {icon === "chart" && <path d="M3 20h18M5 16l4-5 4 3 6-8" />}
        {icon === "face" && (
          <>
            <ellipse cx="12" cy="12" rx="8" ry="10" />
            <circle cx="9" cy="10" r="0.8" />
            <circle cx="15" cy="10" r="0.8" />
            <path d="M9 16c2 1.3 4 1.3 6 0" />
          </>
        )}
      </svg>
      <div className="title">{title}</div>
      {children && <div>{children}</div>}
    </div>
  );
}

export function ErrorBox({ error, what, back }: { error: unknown; what: string; back?: { href: string; label: string } }) {
  const e = error as { message?: string; data?: { code?: string } } | null;
  const message = e?.message ?? String(error);
  const hint =
    e?.data?.code === "NOT_FOUND"
      ? "It may have been deleted, or the link is wrong."
      : /ECONNREFUSED|cannot use database|connect/i.test(message)
        ? "The database is not reachable: is `npm start` (or the DB server) running? See /api/health."
        : null;
  return (
    <div className="error-box" role="alert">
      <strong>Could not load {what}.</strong> {message}
      {hint && (
        <div className="small" style={{ marginTop: 6 }}>
          {hint}
        </div>
      )}
      {back && (
        <div style={{ marginTop: 10 }}>
          <Link className="btn sm" href={back.href}>
            {back.label}
          </Link>
        </div>
      )}
    </div>
  );
}

export function Loading({ rows = 3 }: { rows?: number }) {
  return (
    <div className="stack" style={{ gap: 10, padding: 16 }} aria-busy>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - i * 12}%` }} />
      ))}
    </div>
  );
}
