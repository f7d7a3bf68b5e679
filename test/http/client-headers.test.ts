/**
 * `x-app-version` and `x-session-id` as apps really send them, through real HTTP: the version
 * formats the README documents gate floors and style tokens as SemVer 2.0 says (a pre-release is
 * older than its release, build metadata does not count), and both headers reach the decision
 * record as Floorplan understood them.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panelWithDecision, startHarness, type Harness } from '../support/harness.ts';

describe('client headers', () => {
  let h: Harness;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    h = await startHarness({ deps: { logger: pino({ level: 'info' }, sink) } });
  });
  afterAll(() => h.close());

  const panel = (headers: Record<string, string>) => panelWithDecision(h, headers);
  /** The payable row's style: `emphasis` needs app 12.0.0 (floors/cart-bottom-sheet.yaml), older apps get `bold` alone. */
  const payableStyle = async (appVersion: string) => (await panel({ 'x-app-version': appVersion })).floors.find((f) => f.code === 'payable')!.style;

  it.each([
    ['a release', '12.0.0', ['bold', 'emphasis']],
    ['build metadata', '12.0.0+build.7', ['bold', 'emphasis']],
    ['a version and its build number', '12.0.0 (5678)', ['bold', 'emphasis']],
    ['two parts and a build number', '12.0 (5678)', ['bold', 'emphasis']],
    ['a pre-release of the minimum, which is older than it', '12.0.0-beta.3', ['bold']],
    ['an older release', '11.9.3', ['bold']],
    ['something that is not a version', 'latest', ['bold']],
  ])('gates style tokens on x-app-version sent as %s (%s)', async (_label, appVersion, style) => {
    expect(await payableStyle(appVersion)).toEqual(style);
  });

  it('records the session and the canonical version in the decision log', async () => {
    const sessionId = 'aW9zOjEyMzQ1Njc4OTA+/w==:tab:3';
    const p = await panel({ 'x-app-version': '12.3.4 (5678)', 'x-session-id': sessionId, 'x-app-platform': 'ios' });
    const records = logs.filter((line) => line.decisionId === p.decisionId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ msg: 'panel decisions', userId: 'u1001', sessionId, platform: 'ios', appVersion: '12.3.4+5678' });
  });

  it('records no session for a session id longer than 128 characters', async () => {
    const p = await panel({ 'x-session-id': 's'.repeat(129) });
    const record = logs.find((line) => line.decisionId === p.decisionId);
    expect(record).toMatchObject({ sessionId: null, appVersion: null });
  });
});
