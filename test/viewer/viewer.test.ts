import { describe, expect, it } from 'vitest';
import { buildViewer, negotiateLocale } from '../../src/viewer/viewer.ts';

const LOCALES = ['zh-CN', 'en'] as const;

describe('negotiateLocale', () => {
  it.each([
    ['zh-CN', 'zh-CN'],
    ['en', 'en'],
    ['EN', 'en'],
    ['zh-cn', 'zh-CN'],
  ])('matches %j exactly, ignoring case', (header, locale) => {
    expect(negotiateLocale(header, LOCALES)).toBe(locale);
  });

  it('picks the highest q-value, not the first listed', () => {
    expect(negotiateLocale('zh-CN;q=0.5, en;q=0.8', LOCALES)).toBe('en');
    expect(negotiateLocale('en;q=0.3,zh-CN', LOCALES)).toBe('zh-CN');
  });

  it('keeps header order between equal q-values', () => {
    expect(negotiateLocale('en, zh-CN', LOCALES)).toBe('en');
    expect(negotiateLocale('zh-CN;q=0.7, en;q=0.7', LOCALES)).toBe('zh-CN');
  });

  it('skips tags refused with q=0 or with an unreadable q', () => {
    expect(negotiateLocale('en;q=0, zh-CN;q=0.1', LOCALES)).toBe('zh-CN');
    expect(negotiateLocale('zh-CN;q=abc, en;q=0.2', LOCALES)).toBe('en');
  });

  it('reads q among other parameters and around spaces', () => {
    expect(negotiateLocale('zh-CN ; level=1 ; q=0.2 , en ; q=0.9', LOCALES)).toBe('en');
  });

  it('falls back to another region of the same language', () => {
    expect(negotiateLocale('en-GB', LOCALES)).toBe('en');
    expect(negotiateLocale('zh-TW', LOCALES)).toBe('zh-CN');
    expect(negotiateLocale('zh', LOCALES)).toBe('zh-CN');
  });

  it("reads a Java locale's underscore (Android's Locale.toString(): en_US) as the tag's hyphen", () => {
    expect(negotiateLocale('en_US', LOCALES)).toBe('en');
    expect(negotiateLocale('en_us;q=0.9, zh_CN;q=0.5', LOCALES)).toBe('en');
    expect(negotiateLocale('en_GB', ['en', 'en-GB'])).toBe('en-GB');
  });

  it('prefers an exact tag over a same-language one', () => {
    expect(negotiateLocale('en-GB', ['en', 'en-GB'])).toBe('en-GB');
  });

  it('moves on to the next preference when a tag matches nothing', () => {
    expect(negotiateLocale('fr-FR, de;q=0.9, en-US;q=0.5', LOCALES)).toBe('en');
  });

  it.each([
    ['nothing', undefined],
    ['an empty header', ''],
    ['only a wildcard', '*'],
    ['languages not configured', 'fr-FR, de;q=0.9'],
    ['garbage', ';;;,,=q'],
    ['blank entries', ' , , '],
  ])('returns the first configured locale for %s', (_label, header) => {
    expect(negotiateLocale(header, LOCALES)).toBe('zh-CN');
    expect(negotiateLocale(header, ['en', 'zh-CN'])).toBe('en');
  });
});

/** A header getter over a plain object that records each name asked for. */
function headers(values: Record<string, string>) {
  const asked: string[] = [];
  const get = (name: string) => {
    asked.push(name);
    return values[name];
  };
  return { get, asked };
}

const claims = { userId: 'u1001', segments: ['plus'] } as const;

describe('buildViewer', () => {
  it('builds a viewer from claims and client headers', () => {
    const { get } = headers({
      'x-app-platform': 'iOS',
      'x-app-version': '12.3.0',
      'x-session-id': 'sess_01HX-abc',
      'accept-language': 'en-GB,en;q=0.9',
    });
    expect(buildViewer(claims, get, LOCALES)).toEqual({
      userId: 'u1001',
      segments: ['plus'],
      platform: 'ios',
      appVersion: '12.3.0',
      locale: 'en',
      sessionId: 'sess_01HX-abc',
    });
  });

  it('uses "unknown", null and the first locale when the headers are absent', () => {
    expect(buildViewer(claims, headers({}).get, LOCALES)).toEqual({
      userId: 'u1001',
      segments: ['plus'],
      platform: 'unknown',
      appVersion: null,
      locale: 'zh-CN',
      sessionId: null,
    });
  });

  it('trims and lower-cases the platform', () => {
    expect(buildViewer(claims, headers({ 'x-app-platform': '  Android ' }).get, LOCALES).platform).toBe('android');
  });

  it.each([
    ['a space', 'ios 17'],
    ['markup', '<script>'],
    ['65 characters', 'a'.repeat(65)],
    ['only spaces', '   '],
  ])('drops a platform with %s', (_label, value) => {
    expect(buildViewer(claims, headers({ 'x-app-platform': value }).get, LOCALES).platform).toBe('unknown');
  });

  it('accepts a platform of exactly 64 token characters', () => {
    const value = 'a'.repeat(64);
    expect(buildViewer(claims, headers({ 'x-app-platform': value }).get, LOCALES).platform).toBe(value);
  });

  it.each([
    ['SemVer', '12.3.4', '12.3.4'],
    ['a pre-release', '12.3.4-beta.2', '12.3.4-beta.2'],
    ['build metadata', '12.3.4+build.7', '12.3.4+build.7'],
    ['two parts', '12.3', '12.3.0'],
    ['a version and its build number', '12.3.4 (5678)', '12.3.4+5678'],
  ])('reads x-app-version as %s into canonical SemVer', (_label, header, appVersion) => {
    expect(buildViewer(claims, headers({ 'x-app-version': header }).get, LOCALES).appVersion).toBe(appVersion);
  });

  it.each([['a word', 'latest'], ['a leading v', 'v12.3.4'], ['markup', '<script>'], ['only spaces', '   ']])(
    'treats x-app-version with %s as unknown',
    (_label, header) => {
      expect(buildViewer(claims, headers({ 'x-app-version': header }).get, LOCALES).appVersion).toBeNull();
    },
  );

  it.each([
    ['a UUID', '3f2b8c1e-9a4d-4e7b-8c2f-1d5e6a7b8c9d'],
    ['base64 with padding', 'c2Vzc2lvbi0xMjM0NTY3OA+/=='],
    ['colons', 'app:ios:sess:01HX9'],
    ['128 printable characters', `${'Ab0+/=:._~!'.repeat(11)}${'x'.repeat(7)}`],
  ])('accepts x-session-id as %s', (_label, sessionId) => {
    expect(buildViewer(claims, headers({ 'x-session-id': ` ${sessionId} ` }).get, LOCALES).sessionId).toBe(sessionId);
  });

  it.each([
    ['129 characters', 'a'.repeat(129)],
    ['a space inside', 'sess 1'],
    ['a control character', 'sess\u00011'],
    ['non-ASCII', 'sessé'],
    ['only spaces', '   '],
  ])('drops x-session-id with %s', (_label, sessionId) => {
    expect(buildViewer(claims, headers({ 'x-session-id': sessionId }).get, LOCALES).sessionId).toBeNull();
  });

  it('takes the user id and segments from the claims only, whatever the headers say', () => {
    const everyHeader = (name: string) => (name === 'accept-language' ? undefined : 'u9999');
    const viewer = buildViewer({ userId: 'u1001', segments: [] }, everyHeader, LOCALES);
    expect(viewer.userId).toBe('u1001');
    expect(viewer.segments).toEqual([]);
  });

  it('reads no header that could name a user', () => {
    const { get, asked } = headers({ 'x-user-id': 'u9999' });
    buildViewer(claims, get, LOCALES);
    expect([...asked].sort()).toEqual(['accept-language', 'x-app-platform', 'x-app-version', 'x-session-id']);
  });
});
