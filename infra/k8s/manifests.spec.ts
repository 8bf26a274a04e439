import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '@countersign/contracts';
import { requiredSettings, SERVICES, ServiceName } from '../required-settings';
import { Manifest, parseManifests, render, validate } from './manifests';

// real: kustomize (built into kubectl) renders the production overlay; the Kubernetes schemas of kubernetes-models
// and KEDA's ScaledObject schema validate what it renders. No cluster: nothing is applied.
const root = join(__dirname, '../..');
const overlay = join(__dirname, 'overlays/production');

interface Container {
  name: string;
  image: string;
  ports: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  livenessProbe?: { httpGet?: { path: string; port: string; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string; scheme?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
}

const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const podOf = (d: Manifest) => (d.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;

/** The consumer groups the services declare (`protected readonly group = '<service>.<purpose>'`) and the source declaring each. */
function consumerGroups(): Map<string, string> {
  const groups = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.ts') && !/\.(int-|e2e-)?spec\.ts$/.test(entry)) {
        const source = readFileSync(path, 'utf8');
        for (const m of source.matchAll(/protected readonly group = '([^']+)'/g)) groups.set(m[1], source);
      }
    }
  };
  for (const s of SERVICES) walk(join(root, 'apps', s, 'src'));
  return groups;
}

/** What each service's Deployment in the rendered overlay lacks; empty when nothing. */
function deploymentProblems(manifests: Manifest[], service: ServiceName): string[] {
  const problems: string[] = [];
  const say = (ok: unknown, what: string) => void (ok || problems.push(`${service}: ${what}`));
  const deployment = find(manifests, 'Deployment', service);
  if (!deployment) return [`${service}: no Deployment`];
  const pod = podOf(deployment);
  const c = pod.spec.containers.find((x) => x.name === service);
  if (!c) return [`${service}: no container named ${service}`];
  say(c.livenessProbe?.httpGet?.path === '/healthz' && c.livenessProbe.httpGet.port === 'http', 'liveness probe is not GET /healthz');
  say(c.readinessProbe?.httpGet?.path === '/readyz' && c.readinessProbe.httpGet.port === 'http', 'readiness probe is not GET /readyz');
  say(
    [c.livenessProbe, c.readinessProbe].every((p) => !p || p.httpGet?.scheme === 'HTTPS'),
    'probes are not HTTPS',
  );
  // Kafka over mTLS and the API over HTTPS (ADR 0026): all five settings, from files of a mounted Secret (checked below).
  const envNames = new Set((c.env ?? []).map((e) => e.name));
  for (const setting of ['KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE', 'KAFKA_TLS_KEY_FILE', 'HTTP_TLS_CERT_FILE', 'HTTP_TLS_KEY_FILE'])
    say(envNames.has(setting), `${setting} is not set: Kafka and the API would be plaintext`);
  say(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, 'no CPU and memory requests and memory limit');
  say(pod.spec.securityContext?.runAsNonRoot === true, 'may run as root');
  say(c.securityContext?.readOnlyRootFilesystem === true, 'writable root file system');
  say(c.securityContext?.allowPrivilegeEscalation === false && c.securityContext.capabilities?.drop?.includes('ALL'), 'keeps privileges');
  say(c.image === `registry.example.com/countersign/${service}:0.1.0`, `image ${c.image} is not the overlay's`);
  // Every setting the service requires at boot is given: in its env, or in the ConfigMap it reads.
  const configMaps = (c.envFrom ?? []).map((e) => find(manifests, 'ConfigMap', e.configMapRef?.name ?? ''));
  say(configMaps.every(Boolean), 'reads a ConfigMap the overlay does not render');
  const given = new Set([...(c.env ?? []).map((e) => e.name), ...configMaps.flatMap((m) => Object.keys((m?.data as Record<string, string>) ?? {}))]);
  for (const setting of requiredSettings(service)) say(given.has(setting), `required setting ${setting} is not given`);
  // Credentials come from Secrets (referenced, never written in the manifests): as values, or as files mounted from one.
  const secretMounts = (c.volumeMounts ?? []).filter((v) => pod.spec.volumes?.some((vol) => vol.name === v.name && vol.secret)).map((v) => `${v.mountPath}/`);
  for (const e of c.env ?? []) {
    if (/_FILE$/.test(e.name))
      say(
        secretMounts.some((dir) => e.value?.startsWith(dir)),
        `${e.name} is not a file of a mounted Secret`,
      );
    else say(!/TOKEN|PASSWORD|SECRET|DATABASE_URL|_KEY$/.test(e.name) || e.valueFrom?.secretKeyRef, `${e.name} is not read from a Secret`);
  }
  const service_ = find(manifests, 'Service', service);
  say(service_ && (service_.spec as { ports: Array<{ targetPort: string }> }).ports.some((p) => p.targetPort === 'http'), 'no Service on its http port');
  const selects = (m: Manifest | undefined) =>
    Object.entries((m?.spec as { selector?: { matchLabels?: Record<string, string> } })?.selector?.matchLabels ?? {}).every(
      ([k, v]) => pod.metadata.labels[k] === v,
    ) && Object.keys((m?.spec as { selector?: { matchLabels?: Record<string, string> } })?.selector?.matchLabels ?? {}).length > 0;
  say(selects(find(manifests, 'PodDisruptionBudget', service)), 'no PodDisruptionBudget selecting its pods');
  return problems;
}

describe('Kubernetes manifests (infra/k8s, production overlay)', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    manifests = render(overlay);
  });

  it('renders, and every manifest is valid against the Kubernetes and KEDA schemas', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(SERVICES.length * 4);
    expect(validate(manifests)).toEqual([]);
    expect(manifests.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'countersign')).toBe(true);
  });

  it('gives every service a Deployment with /healthz and /readyz probes, resources, a non-root read-only container, a Service and a PDB', () => {
    for (const service of SERVICES) expect(deploymentProblems(manifests, service)).toEqual([]);
  });

  it('scales the consumers on the lag of their own consumer groups, read from the brokers the services use', () => {
    const groups = consumerGroups();
    const brokers = (manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('countersign-config'))?.data as Record<string, string>)
      .KAFKA_BROKERS;
    const topicKey = new Map(Object.entries(TOPICS).map(([key, topic]) => [topic as string, key]));
    for (const service of ['policy-engine', 'executor', 'audit-writer', 'review-queue'] as const) {
      const scaled = find(manifests, 'ScaledObject', service);
      expect(scaled).toBeDefined();
      const spec = scaled!.spec as { scaleTargetRef: { name: string }; triggers: Array<{ type: string; metadata: Record<string, string> }> };
      expect(spec.scaleTargetRef.name).toBe(service);
      const kafka = spec.triggers.filter((t) => t.type === 'kafka');
      expect(kafka.length).toBeGreaterThan(0);
      for (const { metadata } of kafka) {
        expect(metadata.bootstrapServers).toBe(brokers);
        expect(metadata.consumerGroup.startsWith(`${service}.`)).toBe(true);
        // The group exists in the code, and it consumes the topic (or, without a topic, every topic: the audit writer).
        const source = groups.get(metadata.consumerGroup);
        expect(source).toBeDefined();
        if (metadata.topic) expect(source).toContain(`TOPICS.${topicKey.get(metadata.topic)}]`);
        else expect(source).toContain('ALL_TOPICS');
      }
    }
  });

  it('refuses a broken manifest: a wrong type, a kafka trigger without its group, an unknown kind, a missing probe', () => {
    const broken = structuredClone(manifests);
    const deployment = find(broken, 'Deployment', 'executor')!;
    (deployment.spec as { replicas: unknown }).replicas = 'two';
    const scaled = find(broken, 'ScaledObject', 'policy-engine')!;
    delete (scaled.spec as { triggers: Array<{ metadata: Record<string, string> }> }).triggers[0].metadata.consumerGroup;
    const problems = validate([...broken, ...parseManifests('apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n')]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Deployment\/executor: .*replicas/),
        expect.stringMatching(/^ScaledObject\/policy-engine: .*consumerGroup/),
        'Widget/w: example.com/v1/Widget is no kind this check knows (refused)',
      ]),
    );
    delete podOf(find(broken, 'Deployment', 'audit-writer')!).spec.containers[0].readinessProbe;
    expect(deploymentProblems(broken, 'audit-writer')).toEqual(['audit-writer: readiness probe is not GET /readyz']);
    // A service left on plaintext Kafka is refused too.
    const executor = podOf(find(broken, 'Deployment', 'executor')!).spec.containers[0];
    executor.env = (executor.env ?? []).filter((e) => e.name !== 'KAFKA_TLS_CERT_FILE');
    expect(deploymentProblems(broken, 'executor')).toEqual(['executor: KAFKA_TLS_CERT_FILE is not set: Kafka and the API would be plaintext']);
  });

  it('refuses an overlay kustomize cannot render', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-'));
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
    expect(() => render(dir)).toThrow(/kubectl kustomize .* failed/);
  });

  it('reads the required settings from the code (so the check above can fail)', () => {
    expect(requiredSettings('executor')).toEqual(
      expect.arrayContaining(['KAFKA_BROKERS', 'AUTH_TOKENS_FILE', 'DATABASE_URL', 'WEBHOOK_URL', 'APPROVAL_VERIFY_KEYS_FILE', 'UNLEASH_CLIENT_TOKEN']),
    );
    expect(requiredSettings('executor')).not.toContain('WEBHOOK_TIMEOUT_MS');
    const broken = structuredClone(manifests);
    const c = podOf(find(broken, 'Deployment', 'executor')!).spec.containers[0];
    c.env = c.env!.filter((e) => e.name !== 'WEBHOOK_URL');
    expect(deploymentProblems(broken, 'executor')).toEqual(['executor: required setting WEBHOOK_URL is not given']);
  });
});
