/**
 * deploy/kubernetes/, rendered by `kubectl kustomize` and checked against the service itself:
 * the config its pods would load (the rendered ConfigMaps and environment, through the same
 * loader as `npm start`), the variables Floorplan reads (CONFIG_ENV_VARS), the image's
 * WORKDIR and user (the Dockerfile), and the probe paths on a running Floorplan.
 * Skipped by name where kubectl is missing; CI fails any skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV_VARS, loadServiceConfig, type ServiceConfig } from '../../src/config/service-config.ts';
import { TRACES_FINAL_FLUSH_MS } from '../../src/observability/request-trace.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { describeImage, type ImageFacts } from '../support/dockerfile-steps.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const REPO = join(import.meta.dirname, '..', '..');
const KUSTOMIZE = join(REPO, 'deploy', 'kubernetes');
const HAS_KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
/** Read by the config loader itself rather than bound to a config path. */
const LOADER_ENV_VARS = ['FLOORPLAN_ENV'];
/** Stand-ins for the Secret's values, by the variable that references them: the real ones never live in git. */
const SECRET_STAND_INS: Record<string, string> = {
  REDIS_URL: 'redis://:stand-in@redis.invalid:6379/0',
  UNLEASH_TOKEN: 'stand-in-unleash-token',
  ADMIN_TOKEN: 'stand-in-admin-token',
  LAYOUT_STORE_URL: 'postgres://floorplan:stand-in@postgres.invalid:5432/floorplan_layouts',
};

// Only the fields these checks read of the rendered objects.
interface KubeObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  /** A rendered manifest's spec, read by path. */
  spec?: any;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

function render(dir: string): KubeObject[] {
  const out = spawnSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout).map((doc) => doc.toJS() as KubeObject);
}

function only(objects: readonly KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => o.metadata.name), `one ${kind}`).toHaveLength(1);
  return found[0]!;
}

function configMap(objects: readonly KubeObject[], name: string): Record<string, string> {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (map === undefined) throw new Error(`no ConfigMap ${name} in the rendered manifests`);
  return map.data ?? {};
}

/** The environment the container starts with: envFrom ConfigMaps, then env (Secrets by their stand-ins). */
function containerEnv(objects: readonly KubeObject[], container: any): { env: Record<string, string>; fromSecrets: string[] } {
  const env: Record<string, string> = {};
  const fromSecrets: string[] = [];
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef === undefined) throw new Error(`envFrom other than a ConfigMap: ${JSON.stringify(source)}`);
    Object.assign(env, configMap(objects, source.configMapRef.name));
  }
  for (const variable of (container.env ?? []) as EnvVar[]) {
    if (variable.valueFrom?.secretKeyRef !== undefined) {
      const standIn = SECRET_STAND_INS[variable.name];
      if (standIn === undefined) throw new Error(`${variable.name} comes from a Secret: give it a stand-in in SECRET_STAND_INS`);
      env[variable.name] = standIn;
      fromSecrets.push(variable.name);
    } else if (variable.valueFrom?.configMapKeyRef !== undefined) {
      env[variable.name] = configMap(objects, variable.valueFrom.configMapKeyRef.name)[variable.valueFrom.configMapKeyRef.key]!;
    } else env[variable.name] = variable.value ?? '';
  }
  return { env, fromSecrets };
}

/** The files of the ConfigMap mounted at `mountPath`. */
function mountedConfigMap(objects: readonly KubeObject[], pod: any, container: any, mountPath: string): Record<string, string> {
  const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === mountPath);
  if (mount === undefined) throw new Error(`no volume mounted at ${mountPath}`);
  const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  return configMap(objects, volume.configMap.name);
}

/**
 * The config a pod would load: the mounted config ConfigMap's files, read by the loader
 * `npm start` uses, with the image's ENV and the container's environment. Throws as startup would.
 */
function loadPodConfig(objects: readonly KubeObject[], pod: any, container: any, image: ImageFacts): ServiceConfig {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-k8s-config-'));
  try {
    for (const [file, text] of Object.entries(mountedConfigMap(objects, pod, container, posix.join(image.workdir, 'config')))) writeFileSync(join(dir, file), text);
    return loadServiceConfig({ dir, env: { ...image.env, ...containerEnv(objects, container).env } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function floorsFiles(): string[] {
  return readdirSync(join(REPO, 'floors')).filter((f) => /\.ya?ml$/.test(f)).sort();
}

describe.skipIf(!HAS_KUBECTL)('Kubernetes manifests, rendered by kubectl kustomize', () => {
  const image = describeImage(join(REPO, 'Dockerfile'));

  for (const variant of ['base', 'overlays/production']) {
    describe(variant, () => {
      let objects: KubeObject[];
      let deployment: KubeObject;
      let pod: any;
      let container: any;

      beforeAll(() => {
        objects = render(join(KUSTOMIZE, variant));
        deployment = only(objects, 'Deployment');
        pod = deployment.spec.template.spec;
        container = pod.containers.find((c: { name: string }) => c.name === 'floorplan');
      });

      it('sets only environment variables Floorplan reads', () => {
        const names = [...Object.keys(containerEnv(objects, container).env)].sort();
        const unknown = names.filter((n) => !CONFIG_ENV_VARS.includes(n) && !LOADER_ENV_VARS.includes(n));
        expect(unknown).toEqual([]);
        expect(names).toContain('FLOORPLAN_ENV');
      });

      it('keeps secrets out of the manifests: Secret values are referenced, never rendered', () => {
        expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
        const { fromSecrets } = containerEnv(objects, container);
        expect(fromSecrets.sort()).toEqual(Object.keys(SECRET_STAND_INS).sort());
      });

      it('mounts config from a ConfigMap where the image reads it, and every floors file from another at FLOORS_DIR', () => {
        const { env } = containerEnv(objects, container);
        for (const mount of container.volumeMounts.filter((m: { mountPath: string }) => m.mountPath !== '/tmp' && m.mountPath !== '/var/lib/floorplan')) expect(mount.readOnly, mount.mountPath).toBe(true);
        // The loader reads config/ under the working directory: the image's WORKDIR, unless the pod changes it.
        expect(container.workingDir ?? image.workdir).toBe(image.workdir);
        const config = mountedConfigMap(objects, pod, container, posix.join(image.workdir, 'config'));
        expect(Object.keys(config)).toEqual(expect.arrayContaining(['default.yaml', `${env.FLOORPLAN_ENV}.yaml`]));
        const floors = mountedConfigMap(objects, pod, container, env.FLOORS_DIR!);
        expect(Object.keys(floors).sort()).toEqual(floorsFiles());
      });

      if (variant === 'base') {
        it('does not start until an overlay names the real upstreams and identity provider: production never falls back to the demo', () => {
          expect(() => loadPodConfig(objects, pod, container, image)).toThrow(/upstreams\.cart\.baseUrl/);
          expect(() => loadPodConfig(objects, pod, container, image)).toThrow(/auth\.jwksUrl/);
        });
      }

      it('runs as the image\'s non-root user, without privileges, on a read-only root file system', () => {
        const uid = Number((image.user ?? '0').split(':')[0]);
        expect(uid).toBeGreaterThan(0);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, seccompProfile: { type: 'RuntimeDefault' } });
        expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(pod.automountServiceAccountToken).toBe(false);
      });

      it('requests CPU and memory and caps memory', () => {
        const { requests, limits } = container.resources;
        expect(requests.cpu).toBeDefined();
        expect(requests.memory).toBeDefined();
        expect(limits.memory).toBeDefined();
      });

      it('scales the Deployment with a HorizontalPodAutoscaler, and a PodDisruptionBudget leaves a replica serving', () => {
        const hpa = only(objects, 'HorizontalPodAutoscaler');
        expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
        expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
        expect(deployment.spec.replicas, 'the HPA owns the replica count').toBeUndefined();

        const pdb = only(objects, 'PodDisruptionBudget');
        expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
        expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
        expect(pdb.spec.maxUnavailable).toBeLessThan(hpa.spec.minReplicas);

        const service = only(objects, 'Service');
        expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
        expect(service.spec.ports.map((p: { targetPort: unknown }) => p.targetPort)).toEqual(['http']);
      });
    });
  }

  describe('overlays/production, as its pods would load it', () => {
    let objects: KubeObject[];
    let pod: any;
    let container: any;
    let config: ServiceConfig;
    let harness: Harness;

    beforeAll(async () => {
      objects = render(join(KUSTOMIZE, 'overlays', 'production'));
      pod = only(objects, 'Deployment').spec.template.spec;
      container = pod.containers.find((c: { name: string }) => c.name === 'floorplan');
      // Said first, and what to do: otherwise the config loader's refusal is all one sees.
      const env = containerEnv(objects, container).env;
      const unset = UPSTREAMS.map((u) => `UPSTREAM_${u.toUpperCase()}_URL`).filter((name) => !env[name]);
      if (unset.length > 0) {
        throw new Error(
          `every registered upstream needs its URL in production: add ${unset.map((n) => `\`${n}=http://…\``).join(', ')} to configMapGenerator literals in deploy/kubernetes/overlays/production/kustomization.yaml (README, "Adding an upstream")`,
        );
      }
      config = loadPodConfig(objects, pod, container, image);
      harness = await startHarness();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('loads a valid production config: real upstreams and identity provider, no demo, listening on every interface', () => {
      expect(config.demo.enabled).toBe(false);
      expect(config.server.host).toBe('0.0.0.0');
      expect(config.auth.mode).toBe('jwks');
      for (const upstream of Object.values(config.upstreams)) expect(new URL(upstream.baseUrl).hostname).not.toMatch(/^(127\.|localhost$)/);
      expect(config.flags.unleashUrl).not.toBe('');
      expect(config.redis.url).not.toBe('');
      // The flags bootstrap file it names is in the mounted config folder.
      expect(posix.dirname(config.flags.bootstrapFile)).toBe('config');
      expect(Object.keys(mountedConfigMap(objects, pod, container, posix.join(image.workdir, 'config')))).toContain(basename(config.flags.bootstrapFile));
    });

    it('keeps the decision record a panel\'s decisionId names: production logs at info or finer', () => {
      // The record is one info line per request; a coarser level drops it, and support could not look a decisionId up.
      expect(['info', 'debug', 'trace']).toContain(config.log.level);
    });

    it('keeps the last-known-good layouts copy on a writable volume, so a pod restarted while the store and Redis are down still has it', () => {
      const file = config.layouts.lastKnownGoodFile;
      expect(file).not.toBe('');
      const absolute = posix.isAbsolute(file) ? file : posix.join(image.workdir, file);
      const mount = container.volumeMounts.find((m: { mountPath: string }) => absolute.startsWith(`${m.mountPath}/`));
      expect(mount, `no volume is mounted over ${absolute}; the root file system is read-only`).toBeDefined();
      expect(mount.readOnly ?? false).toBe(false);
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
      expect(volume.emptyDir, 'a writable volume of the pod (it outlives container restarts)').toBeDefined();
    });

    it('exposes the port the config listens on, to the Service, the probes and the scrape annotations', () => {
      const http = container.ports.find((p: { name: string }) => p.name === 'http');
      expect(http.containerPort).toBe(config.server.port);
      expect(image.exposed).toContain(config.server.port);
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) expect(probe.httpGet.port).toBe('http');
    });

    it('keeps /metrics, the admin API and the console on the management port, which Prometheus scrapes and the Service does not expose', () => {
      expect(config.server.managementPort).not.toBeNull();
      const management = container.ports.find((p: { name: string }) => p.name === 'management');
      expect(management.containerPort).toBe(config.server.managementPort);
      const annotations = only(objects, 'Deployment').spec.template.metadata.annotations;
      expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(config.server.managementPort), 'prometheus.io/path': '/metrics' });
      const service = only(objects, 'Service');
      expect(service.spec.ports.map((p: { targetPort: unknown }) => p.targetPort)).toEqual(['http']);
    });

    it('probes readiness on /readyz and liveness on /healthz, which a running Floorplan answers with 200', async () => {
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
        const res = await fetch(`${harness.url}${probe.httpGet.path}`);
        expect(res.status, probe.httpGet.path).toBe(200);
      }
      expect((await fetch(`${harness.url}/not-a-probe`)).status).toBe(404);
    });

    it('drains before SIGTERM and gives in-flight requests server.shutdownGraceMs before the kubelet kills the pod', () => {
      const command: string[] = container.lifecycle.preStop.exec.command;
      expect(command[0]).toBe('sleep');
      const drainMs = Number(command[1]) * 1000;
      expect(drainMs).toBeGreaterThan(0);
      // After SIGTERM Floorplan keeps serving for server.drainMs (/readyz 503) before in-flight requests get shutdownGraceMs.
      // Then the last traces are sent, for at most TRACES_FINAL_FLUSH_MS.
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs + config.server.drainMs + config.server.shutdownGraceMs + TRACES_FINAL_FLUSH_MS);
    });
  });
});
