import { luhnValid } from '@countersign/guardrails';
import type { Random } from './statistics';

/**
 * A canary's target and parameters, varied per canary so that none repeats what the one before showed: the same
 * order number, the same amount or the same card ending on every canary is a tell a reviewer learns (ADR 0018,
 * addendum 2026-12-01). What makes the template known-bad stays: the amounts move by at most `AMOUNT_SPREAD` either
 * way, a card number stays a valid one (Luhn) of the same length and separators, and the target takes the shape of the
 * real target beside it (its letters and separators, new digits), so it reads like the real ones in the inbox.
 */
export function variedCanary(
  template: { target: string; parameters: Record<string, unknown> },
  real: { target: string; confidence: number },
  random: Random,
): { target: string; parameters: Record<string, unknown>; confidence: number; context: Record<string, unknown> } {
  return {
    target: variedTarget(/\d/.test(real.target) ? real.target : template.target, random),
    parameters: varied(template.parameters, random) as Record<string, unknown>,
    // Neither the real item's confidence nor its context: a canary that repeated both beside another target was told
    // apart by matching the two (red team, 2026-12-04). The confidence moves as an amount does, with its precision kept;
    // the context is the agent's account of one real case, so a canary has none.
    confidence: variedConfidence(real.confidence, random),
    context: {},
  };
}

/** A confidence near `c` (up to 0.1 either way, within 0.05–0.99), with as many decimals as it has. */
function variedConfidence(c: number, random: Random): number {
  const decimals = Math.min(4, (String(c).split('.')[1] ?? '').length || 2);
  const moved = Math.min(0.99, Math.max(0.05, c + (random() - 0.5) * 0.2));
  return Number(moved.toFixed(decimals));
}

/** Amounts move by up to this share either way. */
export const AMOUNT_SPREAD = 0.15;

const randomDigit = (random: Random) => String(Math.min(9, Math.floor(random() * 10)));

/** The same characters with every digit drawn anew (a leading digit is never 0); a text without digits stays as it is. */
function variedTarget(shape: string, random: Random): string {
  let first = true;
  return shape.replace(/\d/g, () => {
    const d = first ? String(1 + Math.min(8, Math.floor(random() * 9))) : randomDigit(random);
    first = false;
    return d;
  });
}

function varied(value: unknown, random: Random): unknown {
  if (typeof value === 'number') return variedAmount(value, random);
  if (typeof value === 'string') return CARD.test(value) && luhnValid(value.replace(/\D/g, '')) ? variedCard(value, random) : value;
  if (Array.isArray(value)) return value.map((v) => varied(v, random));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, varied(v, random)]));
  return value;
}

/** Within `AMOUNT_SPREAD` of `n`, with as many decimals as `n` has (an integer stays an integer); 0 stays 0. */
function variedAmount(n: number, random: Random): number {
  if (!Number.isFinite(n) || n === 0) return n;
  const decimals = (String(n).split('.')[1] ?? '').length;
  const scale = 10 ** decimals;
  const moved = Math.round(n * (1 - AMOUNT_SPREAD + 2 * AMOUNT_SPREAD * random()) * scale) / scale;
  return moved === 0 ? n : moved;
}

// 13 to 19 digits, maybe grouped by spaces or dashes: what the card detector masks.
const CARD = /^\d(?:[ -]?\d){12,18}$/;

/** Another valid number of the same length and grouping: the issuer's first six digits kept, the rest drawn, the check digit computed. */
function variedCard(card: string, random: Random): string {
  const digits = card.replace(/\D/g, '');
  const body = digits.slice(0, 6) + Array.from({ length: digits.length - 7 }, () => randomDigit(random)).join('');
  const check = [...'0123456789'].find((c) => luhnValid(body + c))!;
  const next = body + check;
  let i = 0;
  return card.replace(/\d/g, () => next[i++]);
}
