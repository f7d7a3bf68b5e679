import { describe, expect, it } from 'vitest';
import { clientVersionOf, parseAppVersion } from '../../src/viewer/app-version.ts';

describe('parseAppVersion', () => {
  it.each([
    ['a release', '12.3.4', '12.3.4'],
    ['a pre-release', '12.3.4-beta', '12.3.4-beta'],
    ['a dotted pre-release', '12.3.4-beta.2', '12.3.4-beta.2'],
    ['build metadata', '12.3.4+build.7', '12.3.4+build.7'],
    ['a pre-release with build metadata', '12.3.4-rc.1+exp.sha.5114f85', '12.3.4-rc.1+exp.sha.5114f85'],
    ['two parts', '12.3', '12.3.0'],
    ['a version and its build number', '12.3.4 (5678)', '12.3.4+5678'],
    ['two parts and a build number', '12.3 (5678)', '12.3.0+5678'],
    ['a pre-release and a build number', '12.3.4-beta.1 (5678)', '12.3.4-beta.1+5678'],
    ['surrounding spaces', '  12.3.4  ', '12.3.4'],
    ['zeros', '0.0.0', '0.0.0'],
  ])('reads %s: %j is %j', (_label, header, canonical) => {
    expect(parseAppVersion(header)).toBe(canonical);
  });

  it.each([
    ['nothing', undefined],
    ['an empty header', ''],
    ['only spaces', '   '],
    ['one part', '12'],
    ['four parts', '12.3.4.5'],
    ['a leading v (Unleash refuses it)', 'v12.3.4'],
    ['a leading zero', '12.03.4'],
    ['a leading zero in a numeric pre-release', '12.3.4-01'],
    ['an empty pre-release', '12.3.4-'],
    ['an empty build', '12.3.4+'],
    ['two builds', '12.3.4+7 (5678)'],
    ['an empty build number', '12.3.4 ()'],
    ['a build number with spaces', '12.3.4 (56 78)'],
    ['words', 'latest'],
    ['markup', '<script>'],
    ['a number beyond 2^53', '9007199254740992.0.0'],
    ['129 characters', `1.0.0-${'a'.repeat(123)}`],
  ])('refuses %s', (_label, header) => {
    expect(parseAppVersion(header)).toBeNull();
  });

  it('accepts 128 characters', () => {
    const header = `1.0.0-${'a'.repeat(122)}`;
    expect(header).toHaveLength(128);
    expect(parseAppVersion(header)).toBe(header);
  });
});

describe('clientVersionOf', () => {
  const compare = (a: string, b: string) => clientVersionOf(a)!.compare(clientVersionOf(b)!);

  it('puts a pre-release below its release, as SemVer does', () => {
    expect(compare('12.3.4-beta', '12.3.4')).toBe(-1);
    expect(compare('12.3.4-beta', '12.3.3')).toBe(1);
    expect(compare('12.3.4-beta.2', '12.3.4-beta.11')).toBe(-1);
  });

  it('ignores build metadata, whichever way it was sent', () => {
    expect(compare('12.3.4+build.7', '12.3.4')).toBe(0);
    expect(compare('12.3.4 (5678)', '12.3.4')).toBe(0);
    expect(compare('12.3 (1)', '12.3.0')).toBe(0);
  });

  it('is null for no version and for one in no accepted format', () => {
    expect(clientVersionOf(null)).toBeNull();
    expect(clientVersionOf('garbage')).toBeNull();
    expect(clientVersionOf('v12.3.4')).toBeNull();
  });
});
