/**
 * Sub-name templates: "本月剩余优惠额度 {quotaRemaining}". Compiled once at load into parts,
 * so rendering is a loop, not a regex per request. `{{` and `}}` stand for literal braces.
 */

export type TemplatePart = { readonly text: string } | { readonly variable: string };

export interface CompiledTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Variables the template uses, in order of first use. */
  readonly variables: readonly string[];
}

/** Compiles a template or throws an Error whose message states the contract and the offset. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: TemplatePart[] = [];
  const variables: string[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      text += ch;
      i += 2;
      continue;
    }
    if (ch === '}') throw new Error(`has an unmatched "}" at character ${i + 1}; write "}}" for a literal brace`);
    if (ch !== '{') {
      text += ch;
      i += 1;
      continue;
    }
    const end = source.indexOf('}', i + 1);
    if (end === -1) throw new Error(`has an unclosed "{" at character ${i + 1}`);
    const name = source.slice(i + 1, end).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`has "{${source.slice(i + 1, end)}}", but a variable name must be an identifier such as {amount}`);
    }
    if (text !== '') parts.push({ text });
    text = '';
    parts.push({ variable: name });
    if (!variables.includes(name)) variables.push(name);
    i = end + 1;
  }
  if (text !== '') parts.push({ text });
  return Object.freeze({ source, parts: Object.freeze(parts), variables: Object.freeze(variables) });
}

/** Renders a compiled template; `render` turns each variable's value into text. */
export function renderTemplate(template: CompiledTemplate, render: (variable: string) => string): string {
  let out = '';
  for (const part of template.parts) out += 'text' in part ? part.text : render(part.variable);
  return out;
}
