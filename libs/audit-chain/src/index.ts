/**
 * The tamper-evident audit log: RFC 6962 Merkle hashing with a compact range, inclusion and consistency
 * proofs, Ed25519 signed tree heads with rotating keys, and segment export and verification.
 * Framework-free (node:crypto, canonicalize, and the signing-key shape of `@countersign/keys`).
 * @packageDocumentation
 */
export * from './merkle';
export * from './tree-head';
export * from './segment';
export * from './entry';
