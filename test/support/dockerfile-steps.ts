/**
 * A Dockerfile's steps, carried out without Docker, for machines that cannot pull base images.
 * Each stage gets a folder standing for its file system; WORKDIR, COPY, ENV and RUN are done
 * there (RUN with the host's shell, and the Node running the tests standing for the base
 * image's, which the caller checks is the same version). USER, EXPOSE, VOLUME and CMD are
 * recorded for the caller to check and start; a VOLUME is the stage's own folder at that path,
 * as Docker starts a new volume from the image's content there. An instruction or flag it does not know throws: the test must
 * learn it rather than skip a step of the real build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { Copy, DockerfileParser, Env, From, JSONInstruction, Run, type Instruction } from 'dockerfile-ast';

// The package is CommonJS (`module.exports = factory`) but its types declare `export default`:
// Node hands over the factory itself, which TypeScript types as `.default`.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

/** One stage as its steps left it. */
export interface DockerStage {
  /** `AS <name>`, or its index. */
  readonly name: string;
  /** The FROM image, e.g. node:24.21.0-bookworm-slim. */
  readonly image: string;
  /** The folder standing for the stage's `/`. */
  readonly root: string;
  /** WORKDIR, as the container sees it. */
  workdir: string;
  /** ENV so far. */
  readonly env: Record<string, string>;
  /** USER, if set. */
  user?: string;
  /** EXPOSE'd ports. */
  readonly exposed: number[];
  /** VOLUME paths, as the container sees them. */
  readonly volumes: string[];
  /** CMD, exec form. */
  cmd?: string[];
}

export interface DockerBuild {
  readonly stages: readonly DockerStage[];
  /** The last stage: the image. */
  readonly image: DockerStage;
  /** Each RUN command, in order, as it ran. */
  readonly runs: readonly string[];
  /** Where a path of the image's file system is on this machine. */
  hostPath(stage: DockerStage, containerPath: string): string;
  /**
   * The stage's ENV as its CMD, started on this machine rather than in a container, must see it:
   * a path on one of its volumes becomes that volume's folder here (nothing of this machine's
   * own /var/lib, say, is written).
   */
  hostEnv(stage: DockerStage): Record<string, string>;
}

/** The instructions of a Dockerfile, parsed. */
export function parseDockerfile(path: string): Instruction[] {
  return DockerfileParser.parse(readFileSync(path, 'utf8')).getInstructions();
}

/**
 * Copies what `docker build` would send as its context from `repo` to `target`: the files git
 * knows (tracked, or new and not ignored), less what `.dockerignore` leaves out. Returns their
 * paths. (A file git ignores but .dockerignore does not would reach a real build, not this one.)
 */
export function copyBuildContext(repo: string, target: string): string[] {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${repo}: ${listed.stderr}`);
  const files = [...new Set(listed.stdout.split('\0').filter((f) => f !== ''))];
  const patterns = readFileSync(join(repo, '.dockerignore'), 'utf8');
  const sent = dockerignore().add(patterns).filter(files).filter((f) => exists(join(repo, f)));
  for (const file of sent) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(repo, file), join(target, file));
  }
  return sent;
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface RunDockerfileOptions {
  readonly dockerfile: string;
  /** The build context (see copyBuildContext). */
  readonly context: string;
  /** A folder for the stages' file systems (created; its parents must let every user through). */
  readonly workRoot: string;
  /** The environment RUN commands start from (the stage's ENV is added). */
  readonly env: NodeJS.ProcessEnv;
  /** Each RUN command's output, as it comes. */
  readonly onOutput?: (text: string) => void;
}

/** Carries out every stage of the Dockerfile; rejects with the output of the first RUN that fails. */
export async function runDockerfile(options: RunDockerfileOptions): Promise<DockerBuild> {
  const stages: DockerStage[] = [];
  const runs: string[] = [];
  const hostPath = (stage: DockerStage, containerPath: string) => join(stage.root, posix.resolve(stage.workdir, containerPath));
  // Readable by the image's unprivileged user, as an image's files are.
  mkdirSync(options.workRoot, { recursive: true });
  chmodSync(options.workRoot, 0o755);

  for (const instruction of parseDockerfile(options.dockerfile)) {
    const keyword = instruction.getKeyword();
    const where = `Dockerfile:${instruction.getRange().start.line + 1} ${keyword}`;
    if (instruction instanceof From) {
      const name = instruction.getBuildStage() ?? String(stages.length);
      const image = instruction.getImage() ?? '';
      if (stages.some((s) => s.name === image)) throw new Error(`${where}: a stage built FROM another stage is not supported here`);
      const root = join(options.workRoot, `stage-${stages.length}-${name}`);
      mkdirSync(root, { recursive: true, mode: 0o755 });
      stages.push({ name, image, root, workdir: '/', env: {}, exposed: [], volumes: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${where}: comes before any FROM`);
    const args = instruction.getArguments().map((a) => a.getValue());
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args.join(' '));
        mkdirSync(hostPath(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const property of (instruction as Env).getProperties()) stage.env[property.getName()] = property.getValue() ?? '';
        break;
      case 'COPY': {
        const copy = instruction as Copy;
        const flags = copy.getFlags().map((f) => f.getName());
        if (flags.some((f) => f !== 'from' && f !== 'chown')) throw new Error(`${where}: only --from and --chown are supported, got ${flags.join(', ')}`);
        const chown = copy.getFlags().find((f) => f.getName() === 'chown')?.getValue() ?? undefined;
        const owner = chown === undefined ? undefined : numericOwner(chown, where);
        // Not copy.getFromFlag(): it answers only when --from is the one flag.
        const fromName = copy.getFlags().find((f) => f.getName() === 'from')?.getValue();
        const from = fromName === undefined || fromName === null ? undefined : stages.find((s) => s.name === fromName);
        if (fromName && from === undefined) throw new Error(`${where}: no earlier stage named ${fromName}`);
        const sources = args.slice(0, -1);
        const dest = args.at(-1)!;
        const sourcePath = (source: string) => (from === undefined ? join(options.context, source) : hostPath(from, source));
        const target = hostPath(stage, dest);
        const intoFolder = dest.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          const path = sourcePath(source);
          if (statSync(path).isDirectory()) {
            cpSync(path, target, { recursive: true });
            if (owner !== undefined) chownTree(target, owner);
          } else {
            const file = intoFolder ? join(target, basename(source)) : target;
            mkdirSync(dirname(file), { recursive: true });
            cpSync(path, file);
            if (owner !== undefined) chownTree(file, owner);
          }
        }
        break;
      }
      case 'RUN': {
        for (const flag of (instruction as Run).getFlags()) {
          // A cache mount keeps a cache between builds, outside the image: here, the host's own.
          if (flag.getName() !== 'mount' || !(flag.getValue() ?? '').split(',').includes('type=cache')) {
            throw new Error(`${where}: only --mount=type=cache is supported, got --${flag.getName()}=${flag.getValue() ?? ''}`);
          }
        }
        const command = instruction.getArgumentsContent() ?? '';
        runs.push(command);
        await runShell(command, hostPath(stage, '.'), { ...options.env, ...stage.env }, `${where} ${command}`, options.onOutput);
        break;
      }
      case 'USER':
        stage.user = args.join(' ');
        break;
      case 'EXPOSE':
        stage.exposed.push(...args.map((a) => Number.parseInt(a, 10)));
        break;
      case 'VOLUME':
        if (instruction instanceof JSONInstruction && instruction.getJSONStrings().length > 0) stage.volumes.push(...instruction.getJSONStrings().map((s) => s.getJSONValue()));
        else stage.volumes.push(...args);
        // Docker creates the mount point when the image lacks it (owned by root).
        mkdirSync(hostPath(stage, stage.volumes.at(-1)!), { recursive: true });
        break;
      case 'CMD':
        if (!(instruction instanceof JSONInstruction) || instruction.getJSONStrings().length === 0) throw new Error(`${where}: only the exec form ["node", …] is supported`);
        stage.cmd = instruction.getJSONStrings().map((s) => s.getJSONValue());
        break;
      default:
        throw new Error(`${where}: not supported by this test; teach test/support/dockerfile-steps.ts what it means`);
    }
  }
  const image = stages.at(-1);
  if (image === undefined) throw new Error('the Dockerfile has no FROM');
  const hostEnv = (stage: DockerStage) =>
    Object.fromEntries(
      Object.entries(stage.env).map(([name, value]) => {
        const onVolume = stage.volumes.some((volume) => value === volume || value.startsWith(`${volume}/`));
        return [name, onVolume ? hostPath(stage, value) : value];
      }),
    );
  return { stages, image, runs, hostPath, hostEnv };
}

/** `--chown=1000:1000` as numbers; a name would need the image's /etc/passwd, which is not here. */
function numericOwner(chown: string, where: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(chown);
  if (match === null) throw new Error(`${where}: only a numeric --chown=<uid>:<gid> is supported, got ${chown}`);
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

/** Gives `path` and everything under it to `owner`, as COPY --chown does; only root may (otherwise the CMD runs as the caller, who owns them already). */
function chownTree(path: string, owner: { uid: number; gid: number }): void {
  if (process.getuid?.() !== 0) return;
  chownSync(path, owner.uid, owner.gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), owner);
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv, label: string, onOutput?: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      onOutput?.(chunk.toString());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${label} exited with ${String(code)}:\n${output.slice(-4000)}`))));
  });
}

/** What the image's last stage declares, read without running anything. */
export interface ImageFacts {
  /** WORKDIR: where the CMD starts, and so where config/ is read from. */
  readonly workdir: string;
  /** USER, e.g. "1000:1000"; undefined means root. */
  readonly user: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly exposed: readonly number[];
}

export function describeImage(dockerfile: string): ImageFacts {
  let facts = { workdir: '/', user: undefined as string | undefined, env: {} as Record<string, string>, exposed: [] as number[] };
  for (const instruction of parseDockerfile(dockerfile)) {
    const args = instruction.getArguments().map((a) => a.getValue());
    if (instruction instanceof From) facts = { workdir: '/', user: undefined, env: {}, exposed: [] };
    else if (instruction instanceof Env) for (const p of instruction.getProperties()) facts.env[p.getName()] = p.getValue() ?? '';
    else if (instruction.getKeyword() === 'WORKDIR') facts.workdir = posix.resolve(facts.workdir, args.join(' '));
    else if (instruction.getKeyword() === 'USER') facts.user = args.join(' ');
    else if (instruction.getKeyword() === 'EXPOSE') facts.exposed.push(...args.map((a) => Number.parseInt(a, 10)));
  }
  return facts;
}
