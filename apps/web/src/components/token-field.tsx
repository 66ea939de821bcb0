"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { getToken, setToken, useTRPC } from "@/trpc/client";

/** Shown only when the server requires LML_TOKEN for changes; kept in this browser's localStorage. */
export function TokenField() {
  const trpc = useTRPC();
  const meta = useQuery(trpc.meta.queryOptions());
  const [value, setValue] = useState("");
  useEffect(() => setValue(getToken()), []);
  if (!meta.data?.tokenRequired) return <div className="muted small">Changes open (no LML_TOKEN)</div>;
  return (
    <label className="token-field">
      <span className="small muted">API token (changes)</span>
      <input
        type="password"
        value={value}
        placeholder="LML_TOKEN"
        onChange={(e) => {
          setValue(e.target.value);
          setToken(e.target.value);
        }}
      />
    </label>
  );
}
