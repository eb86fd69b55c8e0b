// The shared vectors live next to the repository (../shared/vectors beside the repo root); CI clones the
// repo with shared/ beside it. SPRECHZIMMER_VECTORS overrides the directory.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export function vectorsDir(): string {
  const candidates = [process.env.SPRECHZIMMER_VECTORS, resolve(here, "../../../shared/vectors"),
    resolve(here, "../../shared/vectors")].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(resolve(p, "crypto-v1.json")));
  if (!found) throw new Error(`shared/vectors not found (looked in ${candidates.join(", ")})`);
  return found;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function load(name: string): any {
  return JSON.parse(readFileSync(resolve(vectorsDir(), name), "utf8"));
}
