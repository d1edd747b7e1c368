// docker-compose.yml without a Docker engine: valid against the Compose Specification's JSON schema
// (vendored from compose-spec/compose-go, test/fixtures/compose-spec/), and wired as kvsweep needs:
// the worker reserves NVIDIA GPUs and reaches the server, the Web UI reaches the same server, and
// every search attribute of domain/names.ts is registered.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../platform/paths.ts';
import { SearchAttributeTypes } from '../../domain/names.ts';

const COMPOSE_FILE = join(projectRoot, 'docker-compose.yml');
const SCHEMA_FILE = join(projectRoot, 'test', 'fixtures', 'compose-spec', 'compose-spec.json');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; count?: unknown; capabilities?: string[] }[] } } };
}

let compose: { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}; it has ${Object.keys(compose.services).join(', ')}`);
  return found;
};

/** Compose reads YAML merge keys (<<: *anchor), as docker compose does. */
function readCompose(text: string) {
  return parse(text, { merge: true }) as { services: Record<string, Service> };
}

/** `${NAME:-default}` -> default (the file must work with no .env), `$$` -> `$`. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1').replace(/\$\$/g, '$');
}

beforeAll(() => {
  compose = readCompose(readFileSync(COMPOSE_FILE, 'utf8'));
});

describe('docker-compose.yml against the Compose Specification', () => {
  const validate = () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object;
    // strictTypes off: the upstream schema uses union types and oneOf branches ajv's strict mode
    // would reject; every other strict check (unknown keywords, ...) stays on.
    return new Ajv2020({ strict: true, strictTypes: false, allErrors: true }).compile(schema);
  };

  it('is valid', () => {
    const check = validate();
    const valid = check(compose);
    expect(check.errors ?? [], JSON.stringify(check.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the validation catches a misspelt GPU reservation and a malformed port', () => {
    const broken = readCompose(readFileSync(COMPOSE_FILE, 'utf8').replace('capabilities: [gpu]', 'capability: [gpu]').replace('"8080:8080"', '{ published: 8080, bogus: 1 }'));
    const check = validate();
    expect(check(broken)).toBe(false);
    const paths = (check.errors ?? []).map((error) => error.instancePath);
    expect(paths).toContain('/services/kvsweep-worker/deploy/resources/reservations/devices/0');
    expect(paths).toContain('/services/temporal-ui/ports/0');
  });

  it('gives every ${VARIABLE} a default, so `docker compose up` needs no .env', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8').split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
    const withoutEscapes = text.replace(/\$\$/g, '');
    expect([...withoutEscapes.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]).filter((inner) => !/^[A-Z0-9_]+:-/.test(inner!))).toEqual([]);
  });
});

describe('docker-compose.yml for kvsweep', () => {
  it('runs the Temporal server on PostgreSQL, its schema set up first', () => {
    expect(service('postgresql').image).toMatch(/^postgres:\d+/);
    const temporal = service('temporal');
    expect(temporal.image).toMatch(/^temporalio\/(server|auto-setup):\d+\.\d+\.\d+$/);
    expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(temporal.ports).toContain('7233:7233');
    expect(temporal.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    expect(service('temporal-schema').depends_on?.postgresql?.condition).toBe('service_healthy');
    // The configuration file and the dynamic config it names are in the folders it mounts.
    const mounted = (inside: string) => {
      const volume = temporal.volumes!.find((v) => inside.startsWith(v.split(':')[1]!))!;
      expect(volume, inside).toBeDefined();
      return join(projectRoot, volume.split(':')[0]!, inside.slice(volume.split(':')[1]!.length));
    };
    expect(existsSync(mounted(temporal.environment!.TEMPORAL_SERVER_CONFIG_FILE_PATH!))).toBe(true);
    expect(existsSync(mounted(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH!))).toBe(true);
  });

  it('has a schema step that runs the mounted docker/temporal/setup-schema.sh, valid shell', () => {
    const schema = service('temporal-schema');
    const [hostPath, containerPath] = schema.volumes!.find((v) => v.includes('setup-schema.sh'))!.split(':');
    expect(schema.entrypoint).toEqual(['/bin/sh', containerPath]);
    execFileSync('sh', ['-n', join(projectRoot, hostPath!)]);
  });

  it('names the versions test/production runs (scripts/provision-production.sh, PostgreSQL 15)', () => {
    const script = readFileSync(join(projectRoot, 'scripts', 'provision-production.sh'), 'utf8');
    const server = /SERVER_VERSION=v(\d+\.\d+\.\d+)/.exec(script)![1];
    const ui = /UI_VERSION=v(\d+\.\d+\.\d+)/.exec(script)![1];
    expect(service('temporal').image).toBe(`temporalio/server:${server}`);
    expect(service('temporal-schema').image).toBe(`temporalio/admin-tools:${server}`);
    expect(service('kvsweep-setup').image).toBe(`temporalio/admin-tools:${server}`);
    expect(service('temporal-ui').image).toBe(`temporalio/ui:${ui}`);
    expect(service('postgresql').image).toBe('postgres:15');
  });

  it('wires the Web UI to the server', () => {
    const ui = service('temporal-ui');
    expect(ui.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(ui.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(ui.depends_on?.temporal).toBeDefined();
    expect(ui.ports).toContain('8080:8080');
  });

  it('registers every kvsweep search attribute with its type, with the set-up script it mounts', () => {
    const setup = service('kvsweep-setup');
    expect(setup.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const pairs = setup.environment!.KVSWEEP_SEARCH_ATTRIBUTES!.split(/\s+/).filter(Boolean);
    expect(Object.fromEntries(pairs.map((pair) => pair.split('=') as [string, string]))).toEqual(SearchAttributeTypes);
    const script = setup.volumes!.find((v) => v.endsWith('.sh:ro') || v.includes('.sh:'))!;
    const [hostPath, containerPath] = script.split(':');
    expect(existsSync(join(projectRoot, hostPath!))).toBe(true);
    expect(setup.entrypoint).toEqual(['/bin/sh', containerPath]);
    expect(setup.depends_on?.temporal?.condition).toBe('service_healthy');
  });

  it('runs a kvsweep worker that reserves the NVIDIA GPUs and reaches the server', () => {
    const worker = service('kvsweep-worker');
    expect(worker.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(worker.environment?.TEMPORAL_NAMESPACE).toBe(service('kvsweep-setup').environment?.TEMPORAL_NAMESPACE);
    const devices = worker.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toContainEqual(expect.objectContaining({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu']) }));
    expect(worker.command!.map(withDefaults)).toEqual(['node', 'bin/kvsweep.js', 'worker', '--gpus', 'auto', '--host-id', 'gpu-host-1']);
    // It starts once the server holds kvsweep's search attributes (a sweep sets them at start).
    expect(worker.depends_on?.['kvsweep-setup']?.condition).toBe('service_completed_successfully');
    // The results folder is mounted at the same path inside: sweep files name it by its host path.
    const results = worker.volumes!.map(withDefaults).find((v) => v.startsWith('/srv/kvsweep/logs:'));
    expect(results).toBe('/srv/kvsweep/logs:/srv/kvsweep/logs');
    expect(existsSync(join(projectRoot, worker.build!.context, worker.build!.dockerfile))).toBe(true);
  });
});

describe('docker/worker.Dockerfile', () => {
  const dockerfile = () => readFileSync(join(projectRoot, 'docker', 'worker.Dockerfile'), 'utf8');

  it('installs kvsweep with npm ci on Node 20 and starts the worker with --gpus auto', () => {
    const text = dockerfile();
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20[-.\w]*$/m);
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS app$/m);
    expect(text).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(text).toMatch(/^COPY --from=app \/usr\/local\/bin\/node /m);
    expect(text).toMatch(/^CMD \["node", "bin\/kvsweep\.js", "worker", "--gpus", "auto"\]$/m);
  });

  it('copies every source folder the CLI loads, and its .dockerignore lets them through', () => {
    const text = dockerfile();
    const copied = [...text.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1]!);
    const ignore = readFileSync(join(projectRoot, 'docker', 'worker.Dockerfile.dockerignore'), 'utf8');
    // Every folder of TypeScript that runs (tsconfig's include, less tests, benchmarks and scripts).
    const tsconfig = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const runtime = tsconfig.include.filter((dir) => !['test', 'bench', 'scripts', 'vitest.config.ts'].includes(dir) && existsSync(join(projectRoot, dir)));
    for (const dir of [...runtime, 'configs']) {
      expect(copied, `COPY ${dir}`).toContain(dir);
      expect(ignore, `!${dir}/** in the .dockerignore`).toContain(`!${dir}/**`);
    }
    for (const file of ['package.json', 'package-lock.json', 'scripts/provision-temporal.mjs']) expect(ignore).toContain(`!${file}`);
  });
});
