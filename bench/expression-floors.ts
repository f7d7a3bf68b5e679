/**
 * CPU per panel render of the seed cart-bottom-sheet (u1001) with `lj` and `coupon` as
 * expression floors (CEL, src/floors/expression) against the same panel with their
 * hand-written builders, in interleaved rounds in one process (issue 14, item 4; target
 * ≤ 1.1×). Renders from already-loaded PanelData: each render gets its own freshly parsed
 * upstream answers, as a request does, so converting them for CEL is counted; the HTTP,
 * GraphQL and upstream-call work a request adds on top is the same for both and left out.
 *
 *   node_modules/.bin/node --import tsx bench/expression-floors.ts [--rounds 20] [--panels 2000] [--same] [--json]
 *
 * --same renders the hand-written layout as both variants: the ratio it prints is the noise.
 * --json prints the row as one JSON object (what `npm run bench` reads).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { cartReply, loyaltyReply, promotionReply, settlementReply } from '../src/demo-upstreams/services.ts';
import type { UpstreamName, UpstreamResult } from '../src/floors/builder.ts';
import { defaultBuilders } from '../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../src/floors/registry.ts';
import { compileFloorsFile, type CompiledLayout } from '../src/layouts/compile.ts';
import type { Cart, LoyaltyPoints, PanelData, Promotion, SettlementQuote } from '../src/loaders/panel-data.ts';
import { PanelRenderer, type RenderRequest } from '../src/panels/renderer.ts';
import { asExpressions } from './expression-layout.ts';
import { median } from './stats.ts';

// A full collection before each timed batch, so neither variant pays for the other's garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, panels: { type: 'string', default: '2000' }, same: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const PANELS = Number(values.panels);
const FILE = 'floors/cart-bottom-sheet.yaml';
const LOCALES = ['zh-CN', 'en'];
const USER = 'u1001';

function compile(source: string): CompiledLayout {
  const result = compileFloorsFile(FILE, source, createBuilderRegistry(defaultBuilders), LOCALES);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
}

const shipped = readFileSync(FILE, 'utf8');
const layouts = { builders: compile(shipped), expressions: compile(asExpressions(shipped)) };
const codes = (l: CompiledLayout) => l.floors.map((f) => `${f.code}:${f.builder.name}`).join(' ');
if (!codes(layouts.expressions).includes('lj:cel:lj') || !codes(layouts.expressions).includes('coupon:cel:coupon')) throw new Error(`not expression floors: ${codes(layouts.expressions)}`);

/** The demo upstreams' answers for u1001, as JSON text: parsed afresh for every render. */
const cart = JSON.parse(cartReply(USER).body.toString()) as Cart;
const selected = cart.lines.filter((l) => l.selected).map((l) => ({ skuId: l.skuId, quantity: l.quantity }));
const answers = {
  cart: cartReply(USER).body.toString(),
  promotion: promotionReply({ userId: USER, skuIds: selected.map((l) => l.skuId).sort() }).body.toString(),
  settlement: settlementReply({ userId: USER, quotes: [{ quoteId: 'q0', lines: selected }] }).body.toString(),
  loyalty: loyaltyReply({ userId: USER, orders: [{ orderId: 'o0', lines: selected }] }).body.toString(),
};

/** A request's PanelData: every upstream answered, each promise made once (as RequestScope's loaders do). */
function panelData(): PanelData {
  const c = JSON.parse(answers.cart) as Cart;
  const lines = c.lines.filter((l) => l.selected);
  const promotion = JSON.parse(answers.promotion) as Promotion;
  const quote = (JSON.parse(answers.settlement) as { quotes: SettlementQuote[] }).quotes[0] as SettlementQuote;
  const l = JSON.parse(answers.loyalty) as { balance: number; usable: LoyaltyPoints['usable']; orders: Array<{ earns: number }> };
  const loyalty: LoyaltyPoints = { balance: l.balance, earns: l.orders[0]?.earns ?? 0, usable: l.usable };
  const results = { cart: Promise.resolve(c), promotion: Promise.resolve(promotion), settlement: Promise.resolve(quote), loyalty: Promise.resolve(loyalty) };
  const selectedLines = Promise.resolve(lines);
  return {
    // The layout benchmarked reads these four; an upstream added since is not answered here.
    get: <N extends UpstreamName>(upstream: N) => ((results as Partial<Record<UpstreamName, Promise<unknown>>>)[upstream] ?? Promise.reject(new Error(`this benchmark does not answer ${upstream}`))) as Promise<UpstreamResult<N>>,
    selectedLines: () => selectedLines,
    cart: () => results.cart,
    promotion: () => results.promotion,
    quote: () => results.settlement,
  };
}

const logger = pino({ level: 'silent' });
const renderers = {
  builders: new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', layouts.builders]]), logger }),
  // --same: both variants render the hand-written layout, to see the noise floor of the ratio.
  expressions: new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', values.same === true ? layouts.builders : layouts.expressions]]), logger }),
};
type Variant = keyof typeof renderers;
const viewer: RenderRequest['viewer'] = { segments: ['plus'], platform: 'ios', locale: 'zh-CN', appVersion: '12.3.0' };

/** CPU microseconds (user + system) to render `PANELS` panels, each from its own freshly parsed answers. */
async function round(variant: Variant): Promise<number> {
  const data = Array.from({ length: PANELS }, panelData);
  const renderer = renderers[variant];
  collectGarbage();
  const before = process.cpuUsage();
  for (const d of data) await renderer.render({ scene: 'cart-bottom-sheet', data: d, viewer });
  const spent = process.cpuUsage(before);
  return spent.user + spent.system;
}

// Both variants must render the same panel, or the comparison means nothing.
const [a, b] = await Promise.all([renderers.builders.render({ scene: 'cart-bottom-sheet', data: panelData(), viewer }), renderers.expressions.render({ scene: 'cart-bottom-sheet', data: panelData(), viewer })]);
if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the two layouts render different panels:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
if (a.degraded || !a.floors.some((f) => f.code === 'lj') || !a.floors.some((f) => f.code === 'coupon')) throw new Error(`not the seed panel: ${JSON.stringify(a)}`);

for (let i = 0; i < 3; i++) for (const v of ['builders', 'expressions'] as const) await round(v); // warm-up: JIT
const totals: Record<Variant, number[]> = { builders: [], expressions: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order: Variant[] = r % 2 === 0 ? ['builders', 'expressions'] : ['expressions', 'builders'];
  for (const v of order) totals[v].push((await round(v)) / PANELS);
}
const mb = median(totals.builders);
const me = median(totals.expressions);
const ratios = totals.builders.map((bv, i) => (totals.expressions[i] as number) / bv);
if (values.json) {
  const row = { rounds: ROUNDS, panels: PANELS, buildersUs: mb, expressionsUs: me, ratio: me / mb, medianRoundRatio: median(ratios), same: values.same };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}
process.stdout.write(
  [
    `seed cart-bottom-sheet (${USER}), ${ROUNDS} interleaved rounds × ${PANELS} panels, CPU per render (median of rounds):`,
    `  hand-written lj + coupon builders: ${mb.toFixed(1)} µs`,
    `  lj + coupon as CEL expression floors: ${me.toFixed(1)} µs`,
    `  ratio expressions / builders: ${(me / mb).toFixed(3)}× (median of per-round ratios ${median(ratios).toFixed(3)}×; target ≤ 1.1×)`,
    '',
  ].join('\n'),
);
