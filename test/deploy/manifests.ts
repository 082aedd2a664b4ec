// Renders the Kubernetes manifests with `kubectl kustomize` and validates each object against the Kubernetes API
// schemas shipped by kubernetes-models (types, required fields, enums, formats), offline.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const KUBERNETES_DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** Why `kubectl kustomize` cannot run here, or null when it can (it is not in Debian's archive at a usable version). */
export function kustomizeUnavailable(): string | null {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `kubectl is not installed (${(err as NodeJS.ErrnoException).code ?? 'failed'})`;
  }
}

export function renderKustomization(dir: string): KubeObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`rendered YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

type Validatable = new (data: unknown) => { validate(): void };

/** The schema modules of the API groups the manifests use; any other apiVersion fails the test until added here. */
const MODEL_MODULES: Record<string, () => Promise<Record<string, unknown>>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
};

async function modelClass(apiVersion: string, kind: string): Promise<Validatable> {
  const load = MODEL_MODULES[apiVersion];
  if (!load) throw new Error(`no schema module listed for apiVersion ${apiVersion}`);
  const model = (await load())[kind];
  if (typeof model !== 'function') throw new Error(`no schema for ${apiVersion} ${kind}`);
  return model as Validatable;
}

/** Throws with the schema's message when the object does not conform to its kind's API schema. */
export async function validateObject(object: KubeObject): Promise<void> {
  const Model = await modelClass(object.apiVersion, object.kind);
  new Model(object).validate();
}
