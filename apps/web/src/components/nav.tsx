"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { LiveBadge } from "./live";
import { TokenField } from "./token-field";

const LINKS = [
  { href: "/", label: "Grids", match: (p: string) => p === "/" || (p.startsWith("/grids/") && p !== "/grids/new") },
  { href: "/grids/new", label: "New grid", match: (p: string) => p === "/grids/new" },
  { href: "/runs", label: "Runs", match: (p: string) => p.startsWith("/runs") },
  { href: "/compare", label: "Compare", match: (p: string) => p.startsWith("/compare") },
  { href: "/datasets", label: "Datasets", match: (p: string) => p.startsWith("/datasets") },
  { href: "/workers", label: "Workers", match: (p: string) => p.startsWith("/workers") },
];

export function Nav() {
  const path = usePathname() ?? "/";
  return (
    <aside className="sidebar">
      <div className="sidebar-inner">
        <Link href="/" className="brand">
          <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden>
            <ellipse cx="12" cy="12" rx="8" ry="10" fill="none" stroke="currentColor" strokeWidth="1.6" />
            {[
              [9, 10],
              [15, 10],
              [12, 13.5],
              [9.5, 16.5],
              [12, 17.2],
              [14.5, 16.5],
              [6, 12],
              [18, 12],
            ].map(([x, y], i) => (
              <circle key={i} cx={x} cy={y} r="1.1" fill="currentColor" />
            ))}
          </svg>
          <span>Landmark Lab</span>
        </Link>
        <nav>
          {LINKS.map((l) => (
            <Link key={l.href} href={l.href} className={l.match(path) ? "nav-link active" : "nav-link"}>
              {l.label}
            </Link>
          ))}
        </nav>
        <div className="sidebar-foot">
          <LiveBadge />
          <TokenField />
        </div>
      </div>
    </aside>
  );
}
