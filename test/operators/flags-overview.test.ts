import { describe, expect, it } from 'vitest';
import { unleashProjectUrl } from '../../src/operators/flags-overview.ts';

describe('the link from the console to a flag in Unleash', () => {
  it('is the configured project page when flags.unleashUiUrl is set', () => {
    expect(unleashProjectUrl({ unleashUrl: '', unleashUiUrl: 'https://unleash.example/projects/cart/' })).toBe('https://unleash.example/projects/cart');
  });

  it('is derived from the API URL without its /api, in the default project', () => {
    expect(unleashProjectUrl({ unleashUrl: 'http://unleash:4242/api', unleashUiUrl: '' })).toBe('http://unleash:4242/projects/default');
    expect(unleashProjectUrl({ unleashUrl: 'http://unleash:4242/api/', unleashUiUrl: '' })).toBe('http://unleash:4242/projects/default');
  });

  it('is absent when flags come from the local file and no UI is configured', () => {
    expect(unleashProjectUrl({ unleashUrl: '', unleashUiUrl: '' })).toBeUndefined();
  });
});
