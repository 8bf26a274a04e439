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
