/**
 * Guardrails shared by every service, framework-free: detectors for regulated data (card numbers with
 * Luhn in any separator form or as numbers, IBANs in any case with mod-97, e-mail anywhere including keys,
 * phones, national ids) and the masking that hides them in logs, Redis, the audit trail and error messages.
 * @packageDocumentation
 */
export * from './masking';
export * from './detectors';
