import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/**
 * Who a request comes from, as a limit counts it (a budget, a rate, connections): an IPv4 address as it is, an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a
 * dual-stack socket shows an IPv4 client) as that IPv4 address, any other IPv6 address as its /64 (`2001:db8:1:2::/64`,
 * the zone dropped). Anything else (`unknown`) as it is.
 */
export function sourceOf(address: string): string {
  if (isIPv4(address)) return address;
  const plain = address.split('%')[0];
  if (!isIPv6(plain)) return address;
  const h = hextets(plain);
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) return [h[6] >> 8, h[6] & 0xff, h[7] >> 8, h[7] & 0xff].join('.');
  const prefix = [...h.slice(0, 4), 0, 0, 0, 0].map((x) => x.toString(16)).join(':');
  return `${new SocketAddress({ address: prefix, family: 'ipv6' }).address}/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (no zone), an IPv4 tail included. */
function hextets(address: string): number[] {
  let text = address;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head, rest] = text.split('::');
  if (rest === undefined) return groups(head);
  const before = groups(head);
  const after = groups(rest);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}
