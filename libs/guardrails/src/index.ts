/**
 * Guardrails shared by every service, framework-free: detectors for regulated data (card numbers with
 * Luhn in any separator form or as numbers, IBANs in any case with mod-97, e-mail anywhere including keys,
 * phones, national ids) and the masking that hides them in logs, Redis, the audit trail and error messages. They read
 * text as a person does: full-width and other-script digits, invisible characters, any space or dash, HTML references
 * and spelled-out e-mail addresses (`jane (at) example (dot) com`) do not hide anything from them (canonical.ts).
 * @packageDocumentation
 */
export * from './masking';
export * from './detectors';
export { asciiDigits, hiddenRanges, mayHide, readableText, visibleText } from './canonical';
