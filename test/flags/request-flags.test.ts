import type { Context } from 'unleash-client';
import { describe, expect, it } from 'vitest';
import { RequestFlags, unleashContextOf, type FlagEvaluator } from '../../src/flags/request-flags.ts';
import { viewer } from './support.ts';

/** An evaluator that answers from a table and records every call, so memoisation can be asserted. */
function recordingEvaluator(table: Record<string, { enabled: boolean; variant?: string }>) {
  const calls: Array<{ method: 'isEnabled' | 'getVariant'; name: string; context: Context }> = [];
  const evaluator: FlagEvaluator = {
    isEnabled(name, context) {
      calls.push({ method: 'isEnabled', name, context });
      return table[name]?.enabled ?? false;
    },
    getVariant(name, context) {
      calls.push({ method: 'getVariant', name, context });
      const entry = table[name];
      const featureEnabled = entry?.enabled ?? false;
      if (!featureEnabled || entry?.variant === undefined) return { name: 'disabled', enabled: false, feature_enabled: featureEnabled };
      return { name: entry.variant, enabled: true, feature_enabled: true, payload: { type: 'string', value: `${entry.variant}-payload` } };
    },
  };
  return { evaluator, calls };
}

describe('unleashContextOf', () => {
  it('puts userId, sessionId and appName at the top level and the viewer facts under properties', () => {
    const context = unleashContextOf(
      viewer({ userId: 'u-42', segments: ['plus', 'student'], platform: 'android', appVersion: '12.3.0', sessionId: 's-9' }),
      'floorplan',
    );
    expect(context).toEqual({
      userId: 'u-42',
      sessionId: 's-9',
      appName: 'floorplan',
      properties: { segment: 'plus', segments: 'plus,student', platform: 'android', appVersion: '12.3.0' },
    });
  });

  it('leaves out what the viewer does not have: no session, no app version, no segments', () => {
    const context = unleashContextOf(viewer({ userId: 'u-1', segments: [], platform: 'unknown', appVersion: null, sessionId: null }), 'floorplan');
    expect(context).toEqual({ userId: 'u-1', appName: 'floorplan', properties: { platform: 'unknown' } });
    expect('sessionId' in context).toBe(false);
    expect('segment' in context.properties).toBe(false);
  });

  it('uses the first segment as `segment`, so a constraint segment IN [plus] sees a PLUS member first', () => {
    expect(unleashContextOf(viewer({ segments: ['plus', 'vip'] }), 'a').properties.segment).toBe('plus');
    expect(unleashContextOf(viewer({ segments: ['vip', 'plus'] }), 'a').properties.segment).toBe('vip');
  });

  it('is frozen, so one request cannot change what another evaluation sees', () => {
    const context = unleashContextOf(viewer(), 'floorplan');
    expect(Object.isFrozen(context)).toBe(true);
    expect(Object.isFrozen(context.properties)).toBe(true);
  });
});

describe('RequestFlags', () => {
  it('asks the client once per flag: the second isEnabled returns the recorded decision', () => {
    const { evaluator, calls } = recordingEvaluator({ 'floor.plus-rebate': { enabled: true } });
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    expect(flags.isEnabled('floor.plus-rebate')).toBe(true);
    expect(flags.isEnabled('floor.plus-rebate')).toBe(true);
    expect(flags.isEnabled('floor.plus-rebate')).toBe(true);

    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'isEnabled', name: 'floor.plus-rebate' });
  });

  it('keeps the first answer for the whole request even if the client would now answer differently', () => {
    const table: Record<string, { enabled: boolean }> = { 'floorplan.kill.promotion': { enabled: false } };
    const { evaluator } = recordingEvaluator(table);
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    expect(flags.isEnabled('floorplan.kill.promotion')).toBe(false);
    table['floorplan.kill.promotion'] = { enabled: true }; // an operator flips it mid-request
    expect(flags.isEnabled('floorplan.kill.promotion')).toBe(false);
  });

  it('memoises variants: the second variant() call does not reach the client', () => {
    const { evaluator, calls } = recordingEvaluator({ 'layout.cart-bottom-sheet': { enabled: true, variant: 'compact' } });
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    const first = flags.variant('layout.cart-bottom-sheet');
    const second = flags.variant('layout.cart-bottom-sheet');

    expect(first).toEqual({ name: 'compact', enabled: true, payload: { type: 'string', value: 'compact-payload' } });
    expect(second).toBe(first);
    expect(flags.isEnabled('layout.cart-bottom-sheet')).toBe(true);
    expect(calls.map((c) => c.method)).toEqual(['getVariant']);
  });

  it('reports the disabled placeholder for a flag that is off, unknown or without variants', () => {
    const { evaluator } = recordingEvaluator({ on: { enabled: true }, off: { enabled: false, variant: 'x' } });
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    expect(flags.variant('on')).toEqual({ name: 'disabled', enabled: false });
    expect(flags.variant('off')).toEqual({ name: 'disabled', enabled: false });
    expect(flags.variant('missing')).toEqual({ name: 'disabled', enabled: false });
    expect(flags.isEnabled('on')).toBe(true);
  });

  it('never lets a later variant() contradict an earlier isEnabled()', () => {
    // A random stickiness can make two evaluations disagree; the first answer stands.
    let call = 0;
    const evaluator: FlagEvaluator = {
      isEnabled: () => false,
      getVariant: () => (++call, { name: 'b', enabled: true, feature_enabled: true }),
    };
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    expect(flags.isEnabled('coin-flip')).toBe(false);
    expect(flags.variant('coin-flip')).toEqual({ name: 'disabled', enabled: false });
    expect(call).toBe(1);
    expect(flags.decisions()).toEqual([{ flag: 'coin-flip', enabled: false, variant: 'disabled' }]);
  });

  it('lists decisions in first-evaluated order, with the variant once one was asked for', () => {
    const { evaluator } = recordingEvaluator({
      'floorplan.kill.cart': { enabled: false },
      'layout.cart-bottom-sheet': { enabled: true, variant: 'default' },
      'floor.plus-rebate': { enabled: true },
    });
    const flags = new RequestFlags(evaluator, unleashContextOf(viewer(), 'floorplan'));

    flags.isEnabled('floorplan.kill.cart');
    flags.variant('layout.cart-bottom-sheet');
    flags.isEnabled('floor.plus-rebate');
    flags.isEnabled('floorplan.kill.cart');

    expect(flags.decisions()).toEqual([
      { flag: 'floorplan.kill.cart', enabled: false },
      { flag: 'layout.cart-bottom-sheet', enabled: true, variant: 'default' },
      { flag: 'floor.plus-rebate', enabled: true },
    ]);
  });

  it('passes the viewer context to the client on every first evaluation', () => {
    const { evaluator, calls } = recordingEvaluator({});
    const context = unleashContextOf(viewer({ userId: 'u-7', segments: ['plus'] }), 'floorplan');
    const flags = new RequestFlags(evaluator, context);

    flags.isEnabled('a');
    flags.variant('b');

    expect(calls.map((c) => c.context)).toEqual([context, context]);
    expect(flags.context).toBe(context);
  });
});
