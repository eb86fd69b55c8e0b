// The zero-knowledge protocol in TypeScript, mirroring the Python SDK (interfaces/client/ and
// infrastructure/crypto.py); byte-identical to PyNaCl on shared/vectors.
export * from "./bytes";
export * from "./encoding";
export * from "./primitives";
export * from "./codes";
export * from "./keys";
export * as transcripts from "./transcripts";
export * from "./keyring";
export * from "./records";
export * from "./calls";
export { ready } from "./sodium";
