/**
 * A host name that resolves to two addresses, as `localhost` does on most machines (`::1` and
 * `127.0.0.1` in /etc/hosts): Node then tries both (its "happy eyeballs"), and when neither
 * answers it fails with an AggregateError whose own message is empty, the reasons being in its
 * `errors`. This machine's /etc/hosts gives `localhost` one address, so tests name
 * {@link TWO_ADDRESS_HOST} instead, resolved by {@link twoAddressLookup} (a `lookup` for one
 * connection), by {@link resolveTwoAddressHost} (`dns.lookup` itself, for a library that
 * connects on its own in this process), or by the preload {@link twoAddressPreload} writes for
 * a child process.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TWO_ADDRESS_HOST = 'two-address.test';
const ADDRESSES: readonly LookupAddress[] = [
  { address: '::1', family: 6 },
  { address: '127.0.0.1', family: 4 },
];

/** A `lookup` for net.connect that resolves {@link TWO_ADDRESS_HOST} to `::1` and `127.0.0.1`. */
export function twoAddressLookup(
  host: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  if (host !== TWO_ADDRESS_HOST) throw new Error(`twoAddressLookup resolves only ${TWO_ADDRESS_HOST}, not ${host}`);
  if (options.all === true) callback(null, [...ADDRESSES]);
  else callback(null, ADDRESSES[0]!.address, ADDRESSES[0]!.family);
}

/**
 * Makes `dns.lookup` in this process (a test file's worker) resolve {@link TWO_ADDRESS_HOST} to
 * both addresses, every other name as before: net.connect reads `dns.lookup` for each
 * connection, so a library that connects on its own (ioredis, unleash-client) meets it.
 * Returns what puts `dns.lookup` back.
 */
export function resolveTwoAddressHost(): () => void {
  const lookup = dns.lookup;
  dns.lookup = ((host: string, options: unknown, callback: unknown) =>
    host === TWO_ADDRESS_HOST
      ? twoAddressLookup(host, (typeof options === 'function' ? {} : options) as LookupOptions, (typeof options === 'function' ? options : callback) as never)
      : (lookup as (...args: unknown[]) => void)(host, options, callback)) as typeof dns.lookup;
  return () => {
    dns.lookup = lookup;
  };
}

let preload: string | undefined;

/**
 * Writes (once per process) a module that, given to a child as `node --import <it>`, makes `dns.lookup` resolve
 * {@link TWO_ADDRESS_HOST} to both addresses (every other name as before); returns its path.
 */
export function twoAddressPreload(): string {
  if (preload !== undefined) return preload;
  const file = join(mkdtempSync(join(tmpdir(), 'floorplan-two-address-')), 'two-address.mjs');
  writeFileSync(
    file,
    [
      "import dns from 'node:dns';",
      'const lookup = dns.lookup;',
      'dns.lookup = function (host, options, callback) {',
      "  if (typeof options === 'function') { callback = options; options = {}; }",
      `  if (host !== ${JSON.stringify(TWO_ADDRESS_HOST)}) return lookup.call(this, host, options, callback);`,
      `  const all = ${JSON.stringify(ADDRESSES)};`,
      '  if (options?.all === true) callback(null, all);',
      '  else callback(null, all[0].address, all[0].family);',
      '};',
      '',
    ].join('\n'),
  );
  preload = file;
  return file;
}
