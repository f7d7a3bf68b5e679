/**
 * A command piped into a reader that stops early (`npm run -s floors:show -- 1 | head -3`) gets
 * EPIPE on its next write to stdout. That is not the command's failure: its work is done or goes
 * on, what is left to print has nobody to read it, and it exits as it would have. Unhandled, the
 * EPIPE crashed the command with a stack trace and an exit code that said it failed, after a
 * rollback, say, had succeeded.
 */
export function ignoreClosedReader(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
