/**
 * The import rules (.dependency-cruiser.cjs) catch what they are written for. `npm run
 * lint:deps` passing on src/ proves nothing if a rule's path pattern matches no file, so this
 * runs the same CLI and config over a small src/ tree written to a temporary directory, with
 * one allowed and one forbidden import per rule, and expects exactly the forbidden ones.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');

/** The fixture: file → source. Paths mirror src/ so the rules' patterns apply unchanged. */
const FILES: Record<string, string> = {
  'src/main.ts': "import './app.ts';\nimport './demo-upstreams/server.ts';\n",
  'src/app.ts': "import './demo-upstreams/server.ts';\nimport './panels/renderer.ts';\n",
  'src/errors.ts': "import './graphql/codes.ts';\n",
  'src/cli/tool.ts': "import '../app.ts';\n",
  'src/demo-upstreams/server.ts': "import type { Cart } from '../upstreams/contracts.ts';\nexport type Served = Cart;\n",
  'src/money/money.ts': "import './currency.ts';\nexport type Money = number;\n",
  'src/money/currency.ts': "import './money.ts';\n",
  'src/money/format.ts': 'export const format = 1;\n',
  'src/upstreams/contracts.ts': 'export type Cart = string;\nexport const cartSchema = 1;\n',
  'src/upstreams/clients.ts': "import type { Schema } from '../graphql/schema.ts';\nexport type Seen = Schema;\n",
  'src/loaders/panel-data.ts': 'export type PanelData = string;\n',
  'src/floors/builder.ts': "import type { PanelData } from '../loaders/panel-data.ts';\nexport type Builder = PanelData;\n",
  'src/floors/builders/ok.ts': [
    "import type { Builder } from '../builder.ts';",
    "import type { Money } from '../../money/money.ts';",
    "import './helper.ts';",
    'export type Row = [Builder, Money];',
    '',
  ].join('\n'),
  'src/floors/builders/helper.ts': 'export const helper = 1;\n',
  'src/floors/builders/reads-client.ts': "import '../../upstreams/clients.ts';\n",
  'src/floors/builders/formats.ts': "import '../../money/format.ts';\n",
  'src/floors/builders/uses-http.ts': "import 'node:http';\n",
  'src/floors/builders/contract-value.ts': "import { cartSchema } from '../../upstreams/contracts.ts';\nexport const schema = cartSchema;\n",
  'src/floors/builders/contract-type.ts': "import type { Cart } from '../../upstreams/contracts.ts';\nexport type Row = Cart;\n",
  'src/layouts/compile.ts': "import type { Builder } from '../floors/builder.ts';\nexport type Layout = Builder;\n",
  'src/layouts/reads-panel.ts': "import '../panels/panel.ts';\n",
  'src/panels/renderer.ts': "import '../layouts/compile.ts';\nimport '../floors/builder.ts';\n",
  'src/panels/panel.ts': 'export const panel = 1;\n',
  'src/graphql/codes.ts': "import './missing.ts';\n",
  'src/graphql/schema.ts': 'export type Schema = string;\n',
};

/** Every violation expected, as "rule: from → to"; folder cycles name folders, a module cycle is reported once. */
const EXPECTED = [
  'builders-import-only-builder-api: src/floors/builders/reads-client.ts → src/upstreams/clients.ts',
  'builders-import-only-builder-api: src/floors/builders/formats.ts → src/money/format.ts',
  'builders-import-only-builder-api: src/floors/builders/uses-http.ts → http',
  'builders-import-only-builder-api: src/floors/builders/contract-value.ts → src/upstreams/contracts.ts',
  'builders-import-only-builder-api: src/floors/builders/contract-type.ts → src/upstreams/contracts.ts',
  'upstreams-know-nothing-above: src/upstreams/clients.ts → src/graphql/schema.ts',
  'no-demo-upstreams-in-product: src/app.ts → src/demo-upstreams/server.ts',
  'wiring-is-the-top: src/cli/tool.ts → src/app.ts',
  'errors-is-a-leaf: src/errors.ts → src/graphql/codes.ts',
  'no-folder-cycles: src/layouts → src/panels',
  'no-folder-cycles: src/panels → src/layouts',
  'no-circular: src/money/currency.ts → src/money/money.ts',
  'no-unresolvable: src/graphql/codes.ts → ./missing.ts',
];

interface CruiseViolation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

let dir: string;
let violations: string[];
let exitCode: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'floorplan-import-rules-'));
  for (const [file, source] of Object.entries(FILES)) {
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file), source);
  }
  // The err reporter (what CI runs) sets the exit code; json gives the violations to compare.
  const run = (outputType: string) =>
    promisify(execFile)(process.execPath, [CLI, 'src', '--config', CONFIG, '--output-type', outputType], { cwd: dir }).then(
      (done) => ({ code: 0, stdout: done.stdout }),
      (failed: { code?: number; stdout?: string }) => ({ code: failed.code ?? -1, stdout: failed.stdout ?? '' }),
    );
  const [err, json] = await Promise.all([run('err'), run('json')]);
  exitCode = err.code;
  const result = JSON.parse(json.stdout) as { summary: { violations: CruiseViolation[] } };
  violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the import rules (npm run lint:deps)', () => {
  it('report each forbidden import, and nothing the rules allow', () => {
    expect([...violations].sort()).toEqual([...EXPECTED].sort());
  });

  it('fail the run when an import breaks a rule', () => {
    expect(exitCode).not.toBe(0);
  });
});
