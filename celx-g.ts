import { compileExpressionFloor } from './src/floors/expression/expression-floor.ts';
import { lj } from './src/floors/builders/lj.ts';
import { coupon } from './src/floors/builders/coupon.ts';
import { cartReply, settlementReply } from './src/demo-upstreams/services.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const cart = JSON.parse(cartReply('u1001').body.toString());
const selected = cart.lines.filter((l: any) => l.selected).map((l: any) => ({ skuId: l.skuId, quantity: l.quantity }));
const text = settlementReply({ userId: 'u1001', quotes: [{ quoteId: 'q0', lines: selected }] }).body.toString();
const E = {
  lj: compileExpressionFloor({ code: 'lj', kind: 'DEDUCTION', amount: '-sum(quote.discounts.filter(d, d.kind == "instant").map(d, d.amount))' }).builder!,
  coupon: compileExpressionFloor({ code: 'coupon', kind: 'DEDUCTION', amount: '-sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))', vars: { couponCount: 'sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.sourceIds.size()))' } }).builder!,
};
const H = { lj, coupon };
const N = 20000;
function ctxs() { return Array.from({ length: N }, () => { const q = JSON.parse(text).quotes[0]; const p = Promise.resolve(q); return { data: { quote: () => p } as any, viewer: { segments: [], platform: 'ios' } }; }); }
const res: Record<string, number[]> = {};
for (let r = 0; r < 10; r++) for (const [name, b] of [['H.lj', H.lj], ['E.lj', E.lj], ['H.coupon', H.coupon], ['E.coupon', E.coupon]] as const) {
  const cs = ctxs(); gc();
  const before = process.cpuUsage();
  for (const c of cs) await b.build(c);
  const d = process.cpuUsage(before);
  if (r >= 3) (res[name] ??= []).push((d.user + d.system) / N);
}
for (const [k, v] of Object.entries(res)) console.log(k, v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!.toFixed(2));
