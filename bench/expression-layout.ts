/**
 * The seed cart-bottom-sheet with `lj` and `coupon` declared as CEL expression floors instead
 * of naming their hand-written builders (issue 14, item 4): what bench/expression-floors.ts
 * renders in process and bench/expression-floors-request.ts serves.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The sheet's file name in a floors folder. */
export const CART_SHEET_FILE = 'cart-bottom-sheet.yaml';

/** The shipped sheet with lj and coupon declared as expressions instead of builders (the default floors; variants are not rendered). */
export function asExpressions(shipped: string): string {
  const lj = "    kind: DEDUCTION\n    amount: '-sum(quote.discounts.filter(d, d.kind == \"instant\").map(d, d.amount))'";
  // No `couponCount` var: the shipped coupon sub-name shows only {amount}, and a var no sub-name shows is refused.
  const coupon = "    kind: DEDUCTION\n    amount: '-sum(quote.discounts.filter(d, d.kind == \"coupon\").map(d, d.amount))'";
  const changed = shipped.replace('  - code: lj\n    builder: lj', `  - code: lj\n${lj}`).replace('  - code: coupon\n    builder: coupon', `  - code: coupon\n${coupon}`);
  if (changed === shipped || changed.includes('  - code: lj\n    builder: lj\n    name') || changed.includes('  - code: coupon\n    builder: coupon\n    name: { zh-CN: 优惠券, en: Coupons }\n    subName: { zh-CN: "已领券')) {
    throw new Error('the shipped cart sheet no longer has the lj/coupon floors this benchmark rewrites');
  }
  return changed;
}

/**
 * A temporary copy of the floors folder `source` whose cart sheet has lj and coupon as
 * expression floors ({@link asExpressions}); every other file as it is. `dispose()` removes it.
 */
export function createExpressionFloorsDir(source: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-bench-expression-floors-'));
  cpSync(source, dir, { recursive: true });
  writeFileSync(join(dir, CART_SHEET_FILE), asExpressions(readFileSync(join(source, CART_SHEET_FILE), 'utf8')));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  // Also on an interrupted run, which exits without unwinding.
  process.once('exit', dispose);
  return { dir, dispose };
}
