// Entry of the lease-keeping thread (see lease-thread.ts). A worker thread does not inherit the loader
// that `--import tsx` gave the main thread, so it registers tsx itself before loading TypeScript.
import { register } from "tsx/esm/api";

register();
await import("./lease-thread.ts");
