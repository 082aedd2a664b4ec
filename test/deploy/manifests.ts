// Renders the Kubernetes manifests with `kubectl kustomize` and validates each object against the Kubernetes API
// schemas shipped by kubernetes-models (types, required fields, enums, formats), offline, and strictly: a field the
// schema does not know is an error, as with `kubectl apply --validate=strict`.
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

type Validatable = { prototype: { validate(this: unknown): void } };

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

/**
 * Throws with the schema's message when the object does not conform to its kind's API schema, or names a field the
 * schema does not have. The generated validators read every property their schema defines (and every entry of a
 * map), so a property the validator never read is one the schema does not know: the object is validated through
 * a proxy that records each read.
 */
export async function validateObject(object: KubeObject): Promise<void> {
  const Model = await modelClass(object.apiVersion, object.kind);
  const read = new Set<string>();
  Model.prototype.validate.call(recordingReads(object, '', read));
  const unknown = ownPaths(object, '').filter((path) => !read.has(path));
  if (unknown.length > 0)
    throw new Error(`fields unknown to the ${object.kind} schema: ${unknown.join(', ')}`);
}

function recordingReads<T>(value: T, path: string, read: Set<string>): T {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, property, receiver) {
      const child: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !Object.hasOwn(target, property)) return child;
      read.add(`${path}/${property}`);
      return recordingReads(child, `${path}/${property}`, read);
    },
  });
}

function ownPaths(value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => [
    `${path}/${key}`,
    ...ownPaths(child, `${path}/${key}`),
  ]);
}
