import { describe, expect, it } from 'vitest';
import { compileTemplate, renderTemplate } from '../../src/layouts/template.ts';

/** Renders with `vars`, recording which variables were asked for, in order. */
function render(source: string, vars: Record<string, string>): { text: string; asked: string[] } {
  const asked: string[] = [];
  const text = renderTemplate(compileTemplate(source), (name) => {
    asked.push(name);
    return vars[name] ?? `<${name}?>`;
  });
  return { text, asked };
}

describe('compileTemplate', () => {
  it('splits text and variables into parts', () => {
    expect(compileTemplate('本月剩余优惠额度 {quotaRemaining}').parts).toEqual([{ text: '本月剩余优惠额度 ' }, { variable: 'quotaRemaining' }]);
    expect(compileTemplate('{amount} back after delivery').parts).toEqual([{ variable: 'amount' }, { text: ' back after delivery' }]);
  });

  it('keeps a template without variables as one text part', () => {
    const template = compileTemplate('Free shipping over ¥99');
    expect(template.parts).toEqual([{ text: 'Free shipping over ¥99' }]);
    expect(template.variables).toEqual([]);
  });

  it('compiles an empty template to no parts', () => {
    expect(compileTemplate('').parts).toEqual([]);
  });

  it('lists each variable once, in order of first use', () => {
    expect(compileTemplate('{b} then {a}, again {b} and {c_1}').variables).toEqual(['b', 'a', 'c_1']);
  });

  it('keeps the source it was compiled from', () => {
    expect(compileTemplate('共{itemCount}件').source).toBe('共{itemCount}件');
  });

  it('allows spaces inside the braces around a variable name', () => {
    expect(compileTemplate('{ amount }').parts).toEqual([{ variable: 'amount' }]);
  });

  it('reads {{ and }} as literal braces, not variables', () => {
    const template = compileTemplate('{{amount}} is {amount}');
    expect(template.variables).toEqual(['amount']);
    expect(template.parts).toEqual([{ text: '{amount} is ' }, { variable: 'amount' }]);
  });

  it('returns a frozen template', () => {
    const template = compileTemplate('a {b}');
    expect(Object.isFrozen(template)).toBe(true);
    expect(Object.isFrozen(template.parts)).toBe(true);
    expect(Object.isFrozen(template.variables)).toBe(true);
  });

  it('rejects an unclosed "{" with its position', () => {
    expect(() => compileTemplate('已领券 {amount')).toThrow(new Error('has an unclosed "{" at character 5'));
  });

  it('rejects an unmatched "}" with its position and the escape to use', () => {
    expect(() => compileTemplate('total} {amount}')).toThrow(new Error('has an unmatched "}" at character 6; write "}}" for a literal brace'));
  });

  it.each([
    ['{}', '{}'],
    ['{ }', '{ }'],
    ['{1st}', '{1st}'],
    ['{amount-left}', '{amount-left}'],
    ['{a.b}', '{a.b}'],
    ['x {amount {savings}', '{amount {savings}'],
  ])('rejects %j because the name in braces is not an identifier', (source, shown) => {
    expect(() => compileTemplate(source)).toThrow(new Error(`has "${shown}", but a variable name must be an identifier such as {amount}`));
  });
});

describe('renderTemplate', () => {
  it('replaces each variable with its rendered value', () => {
    expect(render('共优惠 {savings}', { savings: '¥12.00' })).toEqual({ text: '共优惠 ¥12.00', asked: ['savings'] });
  });

  it('asks for a repeated variable each time it appears', () => {
    expect(render('{a}-{a}', { a: 'x' })).toEqual({ text: 'x-x', asked: ['a', 'a'] });
  });

  it('renders literal braces from {{ and }}', () => {
    expect(render('{{{amount}}}', { amount: '5' }).text).toBe('{5}');
  });

  it('renders a template without variables as its text, asking for nothing', () => {
    expect(render('免运费', {})).toEqual({ text: '免运费', asked: [] });
  });
});
