/**
 * The tamper-evident audit log: RFC 6962 Merkle hashing with a compact range, inclusion and consistency
 * proofs, Ed25519 signed tree heads with rotating keys, and segment export and verification (against pinned key
 * fingerprints and heads recorded elsewhere, when given). Framework-free (node:crypto, canonicalize, the signing-key
 * shape of `@countersign/keys` and the strict JSON parser of `@countersign/contracts`).
 * @packageDocumentation
 */
export * from './merkle';
export * from './tree-head';
export * from './segment';
export * from './entry';
