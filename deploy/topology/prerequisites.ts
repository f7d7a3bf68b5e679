/**
 * The Debian packages the local production topology runs: HAProxy, and Redis with Sentinel.
 * Installed with apt-get when missing and running as root; otherwise the message says what to
 * install. Tests use {@link missingBinaries} to skip by name where they are absent.
 */
import { spawnSync } from 'node:child_process';

/** Each binary the topology runs, with the Debian package that provides it. */
export const REQUIRED_BINARIES: ReadonlyArray<{ readonly binary: string; readonly args: readonly string[]; readonly debianPackage: string }> = [
  { binary: 'haproxy', args: ['-v'], debianPackage: 'haproxy' },
  { binary: 'redis-server', args: ['--version'], debianPackage: 'redis-server' },
  { binary: 'redis-sentinel', args: ['--version'], debianPackage: 'redis-sentinel' },
  { binary: 'redis-cli', args: ['--version'], debianPackage: 'redis-tools' },
  { binary: 'psql', args: ['--version'], debianPackage: 'postgresql-client' },
];

/** The binaries of {@link REQUIRED_BINARIES} that do not run here. */
export function missingBinaries(): string[] {
  return REQUIRED_BINARIES.filter(({ binary, args }) => spawnSync(binary, args, { stdio: 'ignore' }).status !== 0).map((b) => b.binary);
}

/**
 * Installs what is missing (`apt-get update && apt-get install -y <packages>`) when running as
 * root on a machine with apt-get; throws naming the packages to install otherwise.
 */
export function ensurePrerequisites(log: (line: string) => void = () => {}): void {
  const missing = missingBinaries();
  if (missing.length === 0) return;
  const packages = [...new Set(REQUIRED_BINARIES.filter((b) => missing.includes(b.binary)).map((b) => b.debianPackage))];
  const command = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(`the topology needs ${missing.join(', ')}, which are not installed: run \`sudo ${command}\` (Debian packages ${packages.join(', ')})`);
  }
  log(`installing ${packages.join(', ')}: ${command}`);
  for (const args of [['update'], ['install', '-y', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`\`apt-get ${args.join(' ')}\` failed (exit ${String(result.status)})`);
  }
  const still = missingBinaries();
  if (still.length > 0) throw new Error(`after apt-get install, still missing: ${still.join(', ')}`);
}
