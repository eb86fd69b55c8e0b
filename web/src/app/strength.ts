// Master-password strength with zxcvbn (design/crypto.md §8 decision 1), the algorithm and English
// dictionaries the Python SDK's zxcvbn uses, so both clients refuse the same weak master passwords.
// Loaded on demand (a separate chunk of a few hundred KB): only registration and master-password change need it.
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";

export type Scorer = (password: string) => number;

let loading: Promise<Scorer> | null = null;

export function loadScorer(): Promise<Scorer> {
  loading ??= Promise.all([
    import("@zxcvbn-ts/core"), import("@zxcvbn-ts/language-common"), import("@zxcvbn-ts/language-en"),
  ]).then(([core, common, en]) => {
    const factory: ZxcvbnFactory = new core.ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
    });
    // Like the SDK, only the first 100 characters are scored (zxcvbn's cost grows with the length).
    return (password: string) => factory.check(password.slice(0, 100)).score;
  });
  return loading;
}
