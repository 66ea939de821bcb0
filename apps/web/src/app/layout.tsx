import type { Metadata } from "next";
import type { ReactNode } from "react";
import { LiveUpdates } from "@/components/live";
import { Nav } from "@/components/nav";
import { Providers } from "@/trpc/client";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Landmark Lab", template: "%s · Landmark Lab" },
  description: "Dense facial landmark experiments trained on synthetic faces",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <LiveUpdates>
            <div className="shell">
              <Nav />
              <main className="main">{children}</main>
            </div>
          </LiveUpdates>
        </Providers>
      </body>
    </html>
  );
}
