/**
 * The operational contract's framework-free parts. So far: masking of regulated data (the full policy
 * engine — contract format, scoring, precedence, CLI — is issue 3's remaining work).
 * @packageDocumentation
 */
export * from './masking';
