import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';

const ADMIN = 'layout-admin-suite-token';
const ALICE = 'alice-has-her-own-credential';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};

describe.skipIf(!HAS_POSTGRES)('the layouts admin API (/admin/layouts/*, PostgreSQL)', () => {
  let database: TestDatabase;
  let h: Harness;

  const post = (operation: string, body: unknown, token = ADMIN) => postLayoutAdmin(h.url, token, operation, body);

  beforeAll(async () => {
    database = await createTestDatabase();
    h = await startHarness({
      config: {
        admin: { token: ADMIN, operators: { alice: ALICE } },
        layouts: { store: { kind: 'postgres', url: database.url } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await database?.drop();
  });

  it('records the identity of the credential as the actor, and `author` as the author when given', async () => {
    const byAlice = await post('publish', { files: SHIPPED, message: 'first' }, ALICE);
    expect(byAlice.status).toBe(200);
    expect(byAlice.body.revision).toMatchObject({ revision: 1, author: 'alice' });
    const onBehalf = await post('rollback', { revision: 1, author: 'bob' });
    expect(onBehalf.body.revision).toMatchObject({ revision: 2, author: 'bob', rollbackOf: 1 });
    const audit = await post('audit', {});
    expect(audit.body.entries.map((e: { actor: string; detail: { author: string } }) => [e.actor, e.detail.author])).toEqual([
      ['admin', 'bob'],
      ['alice', 'alice'],
    ]);
    // This replica serves what it published at once.
    expect(h.server.layouts.revision()).toBe(2);
  });

  it('refuses an invalid set with every problem, and records nothing', async () => {
    const broken = await post('publish', { files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\nfloors: []\n' } });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: ErrorCode.LAYOUT_INVALID, error: 'the layouts are invalid; nothing was published' });
    expect(broken.body.problems).toEqual(['`floors` must list at least one floor, but got: [] (cart-bottom-sheet.yaml:2)']);
    expect((await post('history', {})).body.live).toBe(2);
  });

  it('answers a malformed request 400, an unknown revision 404 and a wrong credential 401', async () => {
    const malformed = await post('show', { revision: 'latest' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.problems).toEqual([expect.stringContaining('`revision`')]);
    const unknown = await post('diff', { from: 1, to: 42 });
    expect(unknown).toMatchObject({ status: 404, body: { code: ErrorCode.LAYOUT_REVISION_NOT_FOUND, error: 'revision must be one the store holds (newest: 2, 1), but got: 42' } });
    for (const body of [{ rollback: true }, { from: 1, to: 2, rollback: true }]) {
      const rollbackDiff = await post('diff', body);
      expect(rollbackDiff.status).toBe(400);
      expect(rollbackDiff.body.problems).toEqual([expect.stringContaining('a rollback diff compares live with what a rollback to `to` makes live: give `to`, not `from`')]);
    }
    expect((await post('history', {}, 'not-a-credential')).status).toBe(401);
  });

  it('says on /readyz where the layouts come from and that the store is up', async () => {
    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as Record<string, unknown>;
    expect(ready).toEqual({ status: 'ready', layouts: { source: 'store', revision: 2, store: 'up' } });
  });

  it('answers 409 to a publish, candidate or rollout from what the caller saw once another operator changed it, and changes nothing', async () => {
    const { live } = (await post('history', {})).body;
    const hotfix = await post('publish', { files: SHIPPED, message: 'hotfix' }, ALICE);
    expect(hotfix.status).toBe(200);
    const publish = await post('publish', { files: SHIPPED, message: 'stale page', from: live });
    expect(publish).toMatchObject({ status: 409, body: { code: ErrorCode.LAYOUT_CONFLICT, error: `live is revision ${live + 1} now, not ${live}: look at what changed since, then publish again; nothing was changed` } });

    const made = await post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] }, replaces: null }, ALICE);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    try {
      const candidate = await post('candidate', { scene: 'cart-bottom-sheet', revision: 2, replaces: null });
      expect(candidate).toMatchObject({ status: 409, body: { code: ErrorCode.LAYOUT_CONFLICT, error: 'scene cart-bottom-sheet has a candidate now (revision 1), which this one would replace: review it, then make the candidate again; nothing was changed' } });
      const seen = made.body.candidate.rollout;
      expect((await post('rollout', { scene: 'cart-bottom-sheet', revision: 1, percentage: 50 }, ALICE)).status).toBe(200);
      const rollout = await post('rollout', { scene: 'cart-bottom-sheet', revision: 1, from: seen, allowList: ['u1001', 'u2002'], message: 'stale page' });
      expect(rollout).toMatchObject({ status: 409, body: { code: ErrorCode.LAYOUT_CONFLICT, error: 'the rollout of the candidate of cart-bottom-sheet changed since it was read (percentage 0 → 50): review it, then change it again; nothing was changed' } });
      expect((await post('candidates', {})).body.candidates).toMatchObject([{ revision: 1, rollout: { allowList: ['u1001'], percentage: 50 } }]);
    } finally {
      await post('abort', { scene: 'cart-bottom-sheet' });
    }
    // The candidate is gone now: an operation naming the revision it saw says so (409), and reloading shows why.
    const gone = await post('abort', { scene: 'cart-bottom-sheet', revision: 1 });
    expect(gone).toMatchObject({ status: 409, body: { code: ErrorCode.LAYOUT_CONFLICT, error: 'the candidate of cart-bottom-sheet (revision 1) is gone: aborted by admin since it was read, so there is nothing to abort; nothing was changed' } });
  });

  it('names in a publish and a rollback answer each candidate still served, and to whom: its users keep it, not the new live floors', async () => {
    const made = await post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'], percentage: 10 } });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    // A candidate served to nobody (an empty allow-list, 0 %) changes nobody's floors: not named.
    expect((await post('candidate', { scene: 'checkout-summary', revision: 1 })).status).toBe(200);
    try {
      const served = [{ scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'], percentage: 10, segments: [], platforms: [], minAppVersion: null } }];
      const rollback = await post('rollback', { revision: 1 });
      expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
      expect(rollback.body.candidatesServed).toEqual(served);
      const published = await post('publish', { files: SHIPPED, message: 'again' });
      expect(published.body.candidatesServed).toEqual(served);
    } finally {
      await post('abort', { scene: 'cart-bottom-sheet' });
      await post('abort', { scene: 'checkout-summary' });
    }
    expect((await post('publish', { files: SHIPPED, message: 'no candidate now' })).body.candidatesServed).toEqual([]);
  });

  it('warns in a publish answer (and the check) of a scene whose floors changed under the same version, which layoutVersion cannot tell apart', async () => {
    const renamed = { ...SHIPPED, 'cart-bottom-sheet.yaml': SHIPPED['cart-bottom-sheet.yaml'].replace('{ zh-CN: 优惠券, en: Coupons }', '{ zh-CN: 优惠, en: Coupons }') };
    const checked = await post('check', { files: renamed });
    expect(checked.status, JSON.stringify(checked.body)).toBe(200);
    expect(checked.body.versionKept).toEqual([{ scene: 'cart-bottom-sheet', version: '2026-11-21.1' }]);
    const published = await post('publish', { files: renamed, message: '优惠' });
    expect(published.status, JSON.stringify(published.body)).toBe(200);
    expect(published.body.versionKept).toEqual([{ scene: 'cart-bottom-sheet', version: '2026-11-21.1' }]);
    // Bumped, or not changed at all: nothing to warn of.
    const bumped = { ...renamed, 'cart-bottom-sheet.yaml': renamed['cart-bottom-sheet.yaml'].replace('version: "2026-11-21.1"', 'version: "2026-11-21.2"') };
    expect((await post('publish', { files: bumped, message: 'bumped' })).body.versionKept).toEqual([]);
    expect((await post('publish', { files: bumped, message: 'same again' })).body.versionKept).toEqual([]);
  });

  it('refuses an allow-list entry holding whitespace or a separator (a Chinese IME comma), which would reach nobody, naming it (400)', async () => {
    const candidate = await post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001，u2002'] } });
    expect(candidate.status).toBe(400);
    expect(candidate.body.problems).toEqual([
      '`rollout.allowList.0` must be one user id, without whitespace, commas (, ，), 、 or semicolons (; ；) — list each id on its own — but got: "u1001，u2002"',
    ]);
    expect((await post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } })).status).toBe(200);
    try {
      for (const id of ['u1001 u2002', 'u1001,u2002', 'u1001、u2002', 'u1001;u2002', 'u1001；u2002']) {
        const rollout = await post('rollout', { scene: 'cart-bottom-sheet', allowList: ['u3003', id] });
        expect(rollout.status, id).toBe(400);
        expect(rollout.body.problems, id).toEqual([expect.stringMatching(/^`allowList\.1` must be one user id, .* but got: /)]);
      }
      expect((await post('candidates', {})).body.candidates[0].rollout.allowList).toEqual(['u1001']);
      // As long a user id as a token's sub may be (OpenID Connect's 255), and not longer.
      expect((await post('rollout', { scene: 'cart-bottom-sheet', allowList: ['u1001', 'u'.repeat(255)] })).status).toBe(200);
      expect((await post('rollout', { scene: 'cart-bottom-sheet', allowList: ['u'.repeat(256)] })).status).toBe(400);
    } finally {
      await post('abort', { scene: 'cart-bottom-sheet' });
    }
  });
});
