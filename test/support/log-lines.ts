/**
 * What a test's Floorplan would have written to its log, as parsed lines: the assertions on what
 * an operator or on-call reads (a warning's text, its fields, that it is written once).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';

/** A pino logger whose every line at `level` and above is parsed and pushed onto `lines`. */
export function loggerInto<T = Record<string, unknown>>(lines: T[], level: pino.LevelWithSilent = 'debug'): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as T);
      done();
    },
  });
  return pino({ level }, sink);
}
