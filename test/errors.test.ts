import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientErrorCode, ErrorCode } from '../src/errors.ts';

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
});
