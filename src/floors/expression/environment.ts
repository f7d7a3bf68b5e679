/**
 * The one CEL environment every expression floor is checked and evaluated in: the domain
 * types and variables of domain.ts, no undeclared variable, structural limits on what parses,
 * and Floorplan's own money functions. Built once, at import.
 */
import { Environment } from '@marcbachmann/cel-js';
import { MESSAGE_TYPES, VARIABLES, type MessageTypeName } from './domain.ts';
import { CelMoney, MESSAGE_CLASSES } from './values.ts';

/** What parses at all: a floor expression is one line of logic, not a program. */
export const PARSE_LIMITS = { maxAstNodes: 400, maxDepth: 32, maxListElements: 64, maxMapEntries: 32, maxCallArguments: 8 } as const;

/** The largest amount money may reach, as in src/money/money.ts: exact in a JavaScript number. */
const MAX_MINOR = BigInt(Number.MAX_SAFE_INTEGER);

/** Thrown inside a money function; cel-js reports it as the evaluation's error. */
class MoneyError extends Error {}

function exact(minor: bigint): bigint {
  if (minor > MAX_MINOR || minor < -MAX_MINOR) throw new MoneyError(`money beyond ±${Number.MAX_SAFE_INTEGER} minor units: ${minor}`);
  return minor;
}

/** The currency of a result from two amounts: "" (the panel's) takes the other's; two different ones are an error. */
function currencyOf(a: CelMoney, b: CelMoney): string {
  if (a.currency === b.currency || b.currency === '') return a.currency;
  if (a.currency === '') return b.currency;
  throw new MoneyError(`money in two currencies: ${a.currency} and ${b.currency}`);
}

/** One of Floorplan's money functions, as documented in docs/expression-floors.md (and golden-tested one by one). */
export interface MoneyFunction {
  readonly signature: string;
  readonly description: string;
  readonly example: string;
}

const sum = (amounts: readonly CelMoney[]): CelMoney => {
  let total = 0n;
  let currency = '';
  for (const m of amounts) {
    currency = currencyOf(new CelMoney(0n, currency), m);
    total = exact(total + m.minor);
  }
  return new CelMoney(total, currency);
};

/** Floorplan's money functions and operators, registered on the environment below. */
const MONEY: ReadonlyArray<MoneyFunction & { readonly operator?: true; readonly handler: (...args: never[]) => unknown }> = [
  { signature: 'sum(list<Money>): Money', description: 'The exact sum of a list of amounts; zero (in the panel\'s currency) for an empty list; an error for two currencies.', example: 'sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))', handler: sum },
  {
    signature: 'sum(list<int>): int',
    description: 'The sum of a list of ints, e.g. the coupon ids the coupon discounts name (a discount may name none, so this is not a count of coupons: `.size()` of the filtered list is); 0 for an empty list.',
    example: 'sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.sourceIds.size()))',
    handler: (items: readonly bigint[]) => items.reduce((total, i) => exact(total + i), 0n),
  },
  { signature: 'min(Money, Money): Money', description: 'The smaller of two amounts (the first when equal).', example: 'min(quote.goodsTotal, money(5000))', handler: (a: CelMoney, b: CelMoney) => new CelMoney(b.minor < a.minor ? b.minor : a.minor, currencyOf(a, b)) },
  { signature: 'abs(Money): Money', description: 'The amount without its sign: abs(-¥5.00) is ¥5.00.', example: 'abs(quote.payable - quote.goodsTotal)', handler: (a: CelMoney) => (a.minor < 0n ? new CelMoney(-a.minor, a.currency) : a) },
  { signature: 'money(int): Money', description: 'An int of minor units (fen for CNY) as an amount in the panel\'s currency.', example: 'money(500)', handler: (minor: bigint) => new CelMoney(exact(minor), '') },
  { signature: 'Money + Money', operator: true, description: 'Adds two amounts of one currency exactly.', example: 'quote.goodsTotal + quote.shipping', handler: (a: CelMoney, b: CelMoney) => new CelMoney(exact(a.minor + b.minor), currencyOf(a, b)) },
  { signature: 'Money - Money', operator: true, description: 'Subtracts two amounts of one currency exactly.', example: 'quote.goodsTotal - quote.payable', handler: (a: CelMoney, b: CelMoney) => new CelMoney(exact(a.minor - b.minor), currencyOf(a, b)) },
  { signature: '-Money', operator: true, description: 'The amount with its sign flipped: a deduction row shows -sum(...).', example: '-sum(quote.discounts.map(d, d.amount))', handler: (a: CelMoney) => new CelMoney(a.minor === 0n ? 0n : -a.minor, a.currency) },
  { signature: 'Money == Money', operator: true, description: 'Whether two amounts of one currency are equal (also !=).', example: 'quote.shipping == money(0)', handler: (a: CelMoney, b: CelMoney) => (currencyOf(a, b), a.minor === b.minor) },
  { signature: 'Money < Money', operator: true, description: 'Compares two amounts of one currency (also <=, >, >=).', example: 'quote.goodsTotal >= money(9900)', handler: (a: CelMoney, b: CelMoney) => (currencyOf(a, b), a.minor < b.minor) },
  { signature: 'Money <= Money', operator: true, description: '', example: '', handler: (a: CelMoney, b: CelMoney) => (currencyOf(a, b), a.minor <= b.minor) },
  { signature: 'Money > Money', operator: true, description: '', example: '', handler: (a: CelMoney, b: CelMoney) => (currencyOf(a, b), a.minor > b.minor) },
  { signature: 'Money >= Money', operator: true, description: '', example: '', handler: (a: CelMoney, b: CelMoney) => (currencyOf(a, b), a.minor >= b.minor) },
];

/** The money functions and operators, for docs and tests (the comparison family once). */
export const MONEY_FUNCTIONS: readonly MoneyFunction[] = MONEY.filter((f) => f.description !== '').map(({ signature, description, example }) => ({ signature, description, example }));

/** Functions an expression may call; anything else cel-js knows (regular expressions, cel.bind, timestamps, bytes) is refused at load. */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // CEL's own: macros, sizes, conversions, string tests
  'has', 'map', 'filter', 'all', 'exists', 'exists_one', 'size', 'int', 'string',
  'contains', 'startsWith', 'endsWith', 'indexOf', 'lastIndexOf', 'substring', 'lowerAscii', 'upperAscii', 'trim', 'join',
  // Floorplan's money functions
  'sum', 'min', 'abs', 'money',
]);

function createEnvironment(): Environment {
  const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: true, enableOptionalTypes: false, limits: PARSE_LIMITS });
  for (const name of Object.keys(MESSAGE_TYPES) as MessageTypeName[]) {
    env.registerType(name, { ctor: MESSAGE_CLASSES[name], fields: { ...MESSAGE_TYPES[name] } });
  }
  for (const [name, variable] of Object.entries(VARIABLES)) env.registerVariable(name, variable.type, { description: variable.description });
  for (const f of MONEY) {
    if (f.operator === true) env.registerOperator(f.signature, f.handler as (...args: unknown[]) => unknown);
    else env.registerFunction(f.signature, f.handler as (...args: unknown[]) => unknown, { description: f.description });
  }
  return env;
}

/** The environment, shared: parsing and checking happen at load, evaluation per request. */
export const celEnvironment: Environment = createEnvironment();
