// Renders a kustomize overlay and validates every manifest it yields (docs/adr/0024-deployment.md).
// Rendering: `kubectl kustomize` (kustomize v5 built into kubectl; offline, nothing is sent to a cluster).
// Validation: the Kubernetes objects against the API's JSON schemas (`kubernetes-models`, Kubernetes 1.27), the KEDA
// ScaledObjects against a schema written from KEDA's CRD (scaled-object.schema.json; no package of KEDA's models runs
// on Node 20). A kind neither knows is refused: nothing reaches a cluster unchecked.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';

/** One rendered object, as the API server would receive it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

/** The overlay (a directory with a kustomization.yaml) rendered by `kubectl kustomize`; throws with kubectl's words. */
export function render(dir: string): Manifest[] {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`kubectl kustomize cannot run (${run.error.message}): install kubectl, which carries kustomize`);
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr.trim()}`);
  return parseManifests(run.stdout);
}

/** Every document of a multi-document YAML stream; a YAML error is thrown, not skipped. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`not YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as Manifest | null;
    return value ? [value] : [];
  });
}

const ajv = new Ajv({ allErrors: true, strict: true });
const scaledObjectSchema = ajv.compile(JSON.parse(readFileSync(join(__dirname, 'scaled-object.schema.json'), 'utf8')));
const triggerAuthenticationSchema = ajv.compile(JSON.parse(readFileSync(join(__dirname, 'trigger-authentication.schema.json'), 'utf8')));

/** A model's `validate()` throws on the first schema violation; the checker returns it as a problem. */
const modelled =
  (Model: new (data: never) => { validate(): void }) =>
  (m: Manifest): string[] => {
    try {
      new Model(m as never).validate();
      return [];
    } catch (e) {
      return [(e as Error).message.replace(/\s+/g, ' ')];
    }
  };

const VALIDATORS: Record<string, (m: Manifest) => string[]> = {
  'apps/v1/Deployment': modelled(Deployment),
  'policy/v1/PodDisruptionBudget': modelled(PodDisruptionBudget),
  'v1/ConfigMap': modelled(ConfigMap),
  'v1/Namespace': modelled(Namespace),
  'v1/PersistentVolumeClaim': modelled(PersistentVolumeClaim),
  'v1/Service': modelled(Service),
  'keda.sh/v1alpha1/TriggerAuthentication': (m) =>
    triggerAuthenticationSchema(m)
      ? []
      : (triggerAuthenticationSchema.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`),
  'keda.sh/v1alpha1/ScaledObject': (m) => {
    if (!scaledObjectSchema(m)) return (scaledObjectSchema.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    // What JSON Schema cannot say: the bounds in order (KEDA refuses min > max).
    const { minReplicaCount: min = 0, maxReplicaCount: max = 100 } = m.spec as { minReplicaCount?: number; maxReplicaCount?: number };
    return min <= max ? [] : [`minReplicaCount ${min} exceeds maxReplicaCount ${max}`];
  },
};

/** What is wrong with each manifest: `<kind>/<name>: <problem>` lines; empty when every one is valid. */
export function validate(manifests: Manifest[]): string[] {
  return manifests.flatMap((m) => {
    const id = `${m?.kind ?? '(no kind)'}/${m?.metadata?.name ?? '(no name)'}`;
    const check = VALIDATORS[`${m?.apiVersion}/${m?.kind}`];
    if (!check) return [`${id}: ${m?.apiVersion}/${m?.kind} is no kind this check knows (refused)`];
    if (!m.metadata?.name) return [`${id}: metadata.name is required`];
    return check(m).map((p) => `${id}: ${p}`);
  });
}
