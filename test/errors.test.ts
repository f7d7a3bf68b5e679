import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERRORS, ClientErrorCode, ERRORS, ErrorCode, type ErrorSpec } from '../src/errors.ts';

const DOC = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');

/** The text of the `## heading` section, up to the next `## ` heading. */
function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/errors.md has no "## ${heading}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

/** Table rows of a section whose first cell is a `CODE`, as arrays of trimmed cells. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z][A-Z_]*`\s*\|/.test(line))
    .map((line) =>
      line
        .replace(/^\|/, '')
        .replace(/\|\s*$/, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
}

function codesOf(tableRows: string[][]): string[] {
  return tableRows.map((cells) => (cells[0] as string).replace(/`/g, ''));
}

const clientRows = rows(section('Client error codes'));
const internalRows = rows(section('Internal error codes'));
const clientCodes = Object.values(ClientErrorCode);
const internalCodes = Object.values(ErrorCode);

describe('docs/errors.md', () => {
  it('documents every client error code', () => {
    expect(clientCodes.filter((code) => !codesOf(clientRows).includes(code))).toEqual([]);
  });

  it('documents every internal error code', () => {
    expect(internalCodes.filter((code) => !codesOf(internalRows).includes(code))).toEqual([]);
  });

  it('lists no client code that no longer exists', () => {
    expect(codesOf(clientRows).filter((code) => !(clientCodes as readonly string[]).includes(code))).toEqual([]);
  });

  it('lists no internal code that no longer exists', () => {
    expect(codesOf(internalRows).filter((code) => !(internalCodes as readonly string[]).includes(code))).toEqual([]);
  });

  it('mentions no FLOORPLAN_ERR_ code anywhere that no longer exists', () => {
    // Whole codes only: the patterns `FLOORPLAN_ERR_<AREA>_<PROBLEM>` and `FLOORPLAN_ERR_HTTP_*` are not codes.
    const mentioned = [...new Set(DOC.match(/FLOORPLAN_ERR_[A-Z_]*[A-Z](?![A-Z_*<])/g) ?? [])];
    expect(mentioned.length).toBeGreaterThanOrEqual(internalCodes.length);
    expect(mentioned.filter((code) => !(internalCodes as readonly string[]).includes(code))).toEqual([]);
  });

  it('names, where it says which internal codes a client sees, every code the catalogue sends in extensions.reason', () => {
    const intro = DOC.slice(0, DOC.indexOf('\n## '));
    const sent = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => (ERRORS[code] as ErrorSpec).reason === true);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((code) => !intro.includes(`\`${code}\``))).toEqual([]);
  });

  it('lists each code once', () => {
    const all = [...codesOf(clientRows), ...codesOf(internalRows)];
    expect(all.filter((code, index) => all.indexOf(code) !== index)).toEqual([]);
  });

  it('fills every cell of every row: when, where or status, and what to do', () => {
    for (const cells of [...clientRows, ...internalRows]) {
      expect(cells, cells[0]).toHaveLength(4);
      expect(cells.filter((cell) => cell === ''), cells[0]).toEqual([]);
    }
  });

  it('gives the HTTP status of each client code', () => {
    for (const cells of clientRows) expect(cells[1], cells[0]).toMatch(/\b[2-5]\d\d\b/);
  });

  it('gives each client code the statuses the catalogue answers it with', () => {
    for (const code of clientCodes) {
      const cell = clientRows.find((cells) => cells[0] === `\`${code}\``)?.[1] ?? '';
      const statuses = new Set([CLIENT_ERRORS[code].status, ...Object.values<ErrorSpec>(ERRORS).filter((e) => e.client === code).map((e) => e.status)]);
      // INTERNAL_SERVER_ERROR: the internal codes the client never sees say 500; the page says 200 for one field too.
      for (const status of statuses) expect(cell, code).toMatch(new RegExp(`\\b${status}\\b`));
    }
  });

  it('says where each internal code surfaces with the client code and HTTP status of the catalogue', () => {
    for (const code of internalCodes) {
      const spec: ErrorSpec = ERRORS[code];
      const where = internalRows.find((cells) => cells[0] === `\`${code}\``)?.[2] ?? '';
      const named = clientCodes.filter((client) => where.includes(`\`${client}\``));
      if (spec.client === ClientErrorCode.INTERNAL_SERVER_ERROR) {
        // Never sent as such: startup, logs, metrics, a degraded panel. The page must not promise a client code.
        expect(named, code).toEqual([]);
      } else {
        expect(named, code).toEqual([spec.client]);
        expect(where, code).toContain(`HTTP ${spec.status}`);
      }
      expect(where.includes('extensions.reason'), `${code} sends extensions.reason`).toBe(spec.reason === true);
    }
  });
});
