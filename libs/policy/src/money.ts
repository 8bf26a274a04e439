/**
 * Money in one currency. A contract's `money` section names a reference currency and a rate table (units of
 * the reference currency per unit of each currency); amounts are compared in the reference currency, so a
 * threshold of 50 means 50 EUR whether the refund is in EUR, KWD or JPY. The table is part of the contract:
 * it is versioned, hashed and changed through change control like any rule.
 */
import { FieldReader, readPath } from './conditions';
import type { MoneySettings } from './contract.types';

/** ISO 4217 alphabetic codes in use (without XXX "no currency" and XTS "testing"). */
export const ISO_4217: ReadonlySet<string> = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF ' +
    'CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD ' +
    'HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA ' +
    'MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB ' +
    'RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN ' +
    'UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

/**
 * Digits after the decimal point of each currency's minor unit (ISO 4217): 2 unless listed. The funds and metals codes
 * (XAU, XDR, …) have none defined: their amounts are not held to a precision.
 */
const MINOR_UNITS: ReadonlyMap<string, number | undefined> = new Map<string, number | undefined>([
  ...'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').map((c) => [c, 0] as const),
  ...'BHD IQD JOD KWD LYD OMR TND'.split(' ').map((c) => [c, 3] as const),
  ...'CLF UYW'.split(' ').map((c) => [c, 4] as const),
  ...'XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XUA'.split(' ').map((c) => [c, undefined] as const),
]);

/** The digits of `currency`'s minor unit (2, 0 for JPY, 3 for KWD, …), or undefined when it has none. */
export const minorUnitDigits = (currency: string): number | undefined => (MINOR_UNITS.has(currency) ? MINOR_UNITS.get(currency) : 2);

/**
 * Whether `amount` is a whole number of `currency`'s minor units (`20.01` EUR is, `20.001` EUR is not, nor is
 * `50.0000000001`, which a tolerance for binary doubles had let through: red team, 2026-12-04). Read from the digits the
 * amount is written with (the shortest that read back as it), not from `amount × 100`: 20.01 × 100 is
 * 2000.9999999999998 in binary doubles, yet `20.01` has two decimals.
 */
export function withinMinorUnit(amount: number, currency: string): boolean {
  const digits = minorUnitDigits(currency);
  if (digits === undefined) return true;
  // Past 2^53 minor units a double no longer counts them one by one (1e308 EUR is Infinity cents): no payable amount.
  if (!Number.isSafeInteger(Math.round(amount * 10 ** digits))) return false;
  return decimalsOf(amount) <= digits;
}

/** How many decimals the shortest form of `x` that reads back as `x` has (`20.01` 2, `1.5e-7` 8, `3e21` 0). */
function decimalsOf(x: number): number {
  // A whole number has none, however it is written (`3e21` too): no string is made for most amounts (checked on every decision).
  if (Number.isInteger(x)) return 0;
  const [mantissa, exponent = '0'] = Math.abs(x).toString().split('e');
  const point = mantissa.indexOf('.');
  return Math.max(0, (point === -1 ? 0 : mantissa.length - point - 1) - Number(exponent));
}

/** A money amount's place in a proposal: the amount's field and its currency's field (dotted paths). */
export interface MoneyField {
  amount: string;
  currency: string;
}

/** Thrown by `toReference` when an amount cannot be converted; conditions read it as "matches" (fail closed). */
export class UnconvertibleAmount extends Error {}

/** An amount in the reference currency; throws `UnconvertibleAmount` for a non-finite amount or a currency outside the table. */
export function toReference(amount: unknown, currency: unknown, money: MoneySettings | undefined): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) throw new UnconvertibleAmount('the amount is not a finite number');
  const rate = money && typeof currency === 'string' && Object.prototype.hasOwnProperty.call(money.rates, currency) ? money.rates[currency] : undefined;
  if (rate === undefined) throw new UnconvertibleAmount('the currency is not in the contract rate table');
  return amount * rate;
}

/** A reader of a money field's amount in the reference currency, for conditions; it throws when the amount cannot be converted. */
export function moneyReader(field: MoneyField, money: MoneySettings | undefined): FieldReader {
  const amountPath = field.amount.split('.');
  const currencyPath = field.currency.split('.');
  return (i) => {
    const amount = readPath(i, amountPath);
    return amount === undefined ? undefined : toReference(amount, readPath(i, currencyPath), money);
  };
}
