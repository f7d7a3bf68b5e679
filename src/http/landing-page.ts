import { createHash } from 'node:crypto';

/**
 * A local stand-in for Apollo's landing page, which loads Sandbox from a CDN these
 * machines (and many production networks) cannot reach. A token box, a query box, a button.
 */
/**
 * The page, saying only what this deployment offers: how to mint a demo token where demo tokens
 * are accepted (the demo), and the console where it is served (an admin token is configured).
 */
export function landingPage(offers: { readonly demoTokens: boolean; readonly console: boolean }): string {
  const demo = offers.demoTokens ? '\nGet a demo token with <code>npm run -s token -- u1001 --segments plus</code>.' : '';
  const operators = offers.console ? '\nOperators: the <a href="/console">console</a>.' : '';
  return LANDING_PAGE_TEMPLATE.replace('{demo}', demo).replace('{console}', operators);
}

const LANDING_PAGE_TEMPLATE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Floorplan</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}textarea,input{width:100%;font:13px ui-monospace,monospace}
textarea{height:12rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}button{margin:.5rem 0;padding:.4rem 1rem}</style></head>
<body><h1>Floorplan</h1>
<p>POST GraphQL to <code>/graphql</code> with <code>Authorization: Bearer &lt;token&gt;</code>.{demo}{console}</p>
<label>Token <input id="token" placeholder="eyJ..."></label>
<label>Accept-Language <input id="lang" value="zh-CN"></label>
<label>Query <textarea id="query">query Panel {
  floorPanel(scene: "cart-bottom-sheet") {
    scene layoutVersion degraded failedUpstreams
    floors { code name priceText amount { minor currency } subName style sort }
  }
}</textarea></label>
<button id="run">Run</button><pre id="out"></pre>
<script>
document.getElementById('run').onclick = async () => {
  const out = document.getElementById('out');
  const headers = { 'content-type': 'application/json', 'accept-language': document.getElementById('lang').value };
  const token = document.getElementById('token').value.trim();
  if (token) headers.authorization = 'Bearer ' + token;
  const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query: document.getElementById('query').value }) });
  out.textContent = res.status + '\\n' + JSON.stringify(await res.json(), null, 2);
};
</script></body></html>
`;

/** The demo's page: demo tokens and the console. */
export const LANDING_PAGE_HTML = landingPage({ demoTokens: true, console: true });

/**
 * The headers `html` (a landing page) is served with: like the console's (STATIC_HEADERS in
 * ./server.ts), nothing from elsewhere, no framing, no sniffing, no Referer, but its one inline
 * script and style allowed by their SHA-256 (the page is a single answer, kept that way). The
 * page is where a token is pasted: a framing page must not overlay it, and an injected script
 * (anything not hashed here) does not run. Computed once per page, at start.
 */
export function landingPageHeaders(html: string): Readonly<Record<string, string>> {
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1] as string).digest('base64')}'`).join(' ');
  return pageHeaders({ scriptSrc: hashes('script'), styleSrc: hashes('style') }, { 'content-type': 'text/html; charset=utf-8' });
}

/**
 * The headers of a page Floorplan serves (the console's, the landing page): scripts, styles and
 * requests from the sources given only — no eval, nothing from elsewhere — and Trusted Types,
 * which make assigning a string to innerHTML (or any other HTML sink) throw, so data can only
 * reach the page as text. It may not be framed (clickjacking), sends no Referer, is not cached.
 */
export function pageHeaders(sources: { readonly scriptSrc: string; readonly styleSrc: string; readonly imgSrc?: string }, extra: Readonly<Record<string, string>> = {}): Readonly<Record<string, string>> {
  return Object.freeze({
    ...extra,
    'content-security-policy': [
      "default-src 'none'",
      `script-src ${sources.scriptSrc}`,
      `style-src ${sources.styleSrc}`,
      ...(sources.imgSrc === undefined ? [] : [`img-src ${sources.imgSrc}`]),
      "connect-src 'self'",
      "form-action 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "require-trusted-types-for 'script'",
      'trusted-types',
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  });
}
