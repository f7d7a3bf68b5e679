import { describe, expect, it } from 'vitest';
import { diffLayouts, formatLayoutsDiff, versionsKept } from '../../../src/layouts/revisions/diff.ts';

const sheet = (floors: string, version = '1') => ({ 'cart-bottom-sheet.yaml': `scene: cart-bottom-sheet\nversion: "${version}"\nfloors:\n${floors}` });
const floor = (code: string, sort: number, en = code, extra = '') => `  - { code: ${code}, builder: ${code}, name: { zh-CN: ${code}中, en: ${en} }, sort: ${sort}${extra} }\n`;

describe('diffLayouts', () => {
  it('finds nothing between equal sets, whatever the YAML formatting', () => {
    const a = sheet(floor('spze', 10) + floor('payable', 90));
    const b = { 'cart-bottom-sheet.yaml': a['cart-bottom-sheet.yaml'].replace('{ code: spze,', '{code: spze,') };
    expect(diffLayouts(a, b)).toEqual({ scenes: [], unreadable: [] });
    expect(formatLayoutsDiff(diffLayouts(a, b))).toEqual(['no differences in the floors']);
  });

  it('reports floors added and removed in render order, and a reorder as the two orders', () => {
    const before = sheet(floor('spze', 10) + floor('lj', 20) + floor('coupon', 30) + floor('payable', 90));
    const after = sheet(floor('spze', 10) + floor('coupon', 15) + floor('shipping', 50) + floor('payable', 90), '2');
    const [d] = diffLayouts(before, after).scenes;
    expect(d).toMatchObject({ scene: 'cart-bottom-sheet', status: 'changed', version: { from: '1', to: '2' }, added: ['shipping'], removed: ['lj'] });
    // coupon moved from 30 to 15 but stays between spze and payable: the order did not change.
    expect(d?.reordered).toBeUndefined();
    expect(d?.changed).toEqual([]);
  });

  it('reports a changed text per locale, and other fields as a whole', () => {
    const before = sheet(floor('coupon', 30, 'Coupons'));
    const after = sheet(floor('coupon', 30, 'Vouchers', ', hideWhenZero: true'));
    expect(formatLayoutsDiff(diffLayouts(before, after))).toEqual([
      'cart-bottom-sheet: floor coupon name[en]: "Coupons" → "Vouchers"',
      'cart-bottom-sheet: floor coupon hideWhenZero: (unset) → true',
    ]);
  });

  it('reports a reorder with the sort values that caused it', () => {
    const before = sheet(floor('spze', 10) + floor('shipping', 50) + floor('payable', 90));
    const after = sheet(floor('spze', 60) + floor('shipping', 50) + floor('payable', 90));
    expect(formatLayoutsDiff(diffLayouts(before, after))).toEqual([
      'cart-bottom-sheet: floors reordered: spze shipping payable → shipping spze payable',
      'cart-bottom-sheet: floor spze sort: 10 → 60',
    ]);
  });

  it('reports scenes and variants added or removed, and files it cannot read', () => {
    const before = sheet(floor('spze', 10));
    const after = {
      'cart-bottom-sheet.yaml': `${before['cart-bottom-sheet.yaml']}variants:\n  compact:\n    version: c1\n    floors:\n${floor('spze', 10).replace(/^ {2}/, '      ')}`,
      'checkout-summary.yaml': 'scene: checkout-summary\nfloors:\n' + floor('payable', 90),
      'broken.yaml': 'scene: [',
    };
    const diff = diffLayouts(before, after);
    expect(diff.scenes.map((d) => [d.scene, d.variant, d.status, d.added])).toEqual([
      ['cart-bottom-sheet', 'compact', 'added', ['spze']],
      ['checkout-summary', undefined, 'added', ['payable']],
    ]);
    expect(diff.unreadable).toEqual([expect.stringMatching(/^broken\.yaml: /)]);
  });
});

describe('versionsKept', () => {
  it('names a scene, or a variant, whose floors changed under the same version, and nothing bumped, unchanged or without a declared version', () => {
    const variant = (en: string) => `variants:\n  compact:\n    version: "1-compact"\n    floors:\n  ${floor('coupon', 30, en)}`;
    const before = { 'cart-bottom-sheet.yaml': `${sheet(floor('coupon', 30, 'Coupons'))['cart-bottom-sheet.yaml']}${variant('Coupons')}` };
    const renamed = { 'cart-bottom-sheet.yaml': before['cart-bottom-sheet.yaml'].replaceAll('Coupons', 'Vouchers') };
    expect(versionsKept(before, renamed)).toEqual([
      { scene: 'cart-bottom-sheet', version: '1' },
      { scene: 'cart-bottom-sheet', variant: 'compact', version: '1-compact' },
    ]);
    expect(versionsKept(before, before)).toEqual([]);
    expect(versionsKept(sheet(floor('coupon', 30, 'Coupons')), sheet(floor('coupon', 30, 'Vouchers'), '2'))).toEqual([]);
    // Without one, the version is the content's hash: it changes with the floors.
    const undeclared = (en: string) => ({ 'cart-bottom-sheet.yaml': `scene: cart-bottom-sheet\nfloors:\n${floor('coupon', 30, en)}` });
    expect(versionsKept(undeclared('Coupons'), undeclared('Vouchers'))).toEqual([]);
    // A scene new in the set has nothing to be told apart from.
    expect(versionsKept({}, before)).toEqual([]);
  });
});
