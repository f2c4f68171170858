// Static checks of the deploy bundles (no Docker engine or cluster here): files parse,
// what they reference exists, ports agree between services, scrape configs and env,
// and every usine setting they name is one the config schema knows.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { schedulerEnv, workerEnv } from '../../shared/config.ts';
import { tenantsFileSchema } from '../../scheduler/state/tenants.ts';
import { ROOT } from '../support/processes.ts';
import { promtool } from './support/promtool.ts';
import { prometheusRuleYaml } from '../../deploy/k8s/prometheus-rule.ts';

const DEPLOY = path.join(ROOT, 'deploy');
const read = (p: string) => fs.readFileSync(path.join(DEPLOY, p), 'utf8');
const exists = (p: string) => fs.existsSync(p);

/** Settings usine reads, plus the runtime variables the bundles set on purpose. */
const KNOWN_ENV = new Set([
  ...Object.keys(schedulerEnv.shape),
  ...Object.keys(workerEnv.shape),
  'NODE_ENV',
  'USINE_LOG_FORMAT',
  'XDG_RUNTIME_DIR',
  'XDG_CACHE_HOME',
  'NVIDIA_DRIVER_CAPABILITIES',
  'NVIDIA_VISIBLE_DEVICES',
]);

type Obj = Record<string, unknown>;
const obj = (x: unknown) => x as Obj;

function yamlStrict(text: string, where: string): unknown {
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list)
    expect(
      d.errors.map((e) => e.message),
      where,
    ).toEqual([]);
  return list.length === 1 ? list[0].toJS() : list.map((d) => d.toJS());
}

async function promtoolConfigOk(config: unknown, files: Record<string, string> = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-ops-promcfg-'));
  try {
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), typeof config === 'string' ? config : stringify(config));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = await promtool(['check', 'config', 'prometheus.yml'], undefined, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.stdout + r.stderr;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy/tenants.example.yaml', () => {
  it('is a valid tenants file', () => {
    const parsed = tenantsFileSchema.safeParse(parse(read('tenants.example.yaml')));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});

describe('deploy/compose', () => {
  const composeDir = path.join(DEPLOY, 'compose');
  const compose = obj(yamlStrict(read('compose/docker-compose.yml'), 'docker-compose.yml'));
  const services = obj(compose.services) as Record<string, Obj>;
  const SERVICE_KEYS = new Set([
    'image',
    'build',
    'command',
    'environment',
    'ports',
    'volumes',
    'depends_on',
    'healthcheck',
    'restart',
    'profiles',
    'deploy',
    'devices',
    'group_add',
    'networks',
    'stop_grace_period',
  ]);

  it('has Redis with AOF, the scheduler, a worker per device kind, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual([
      'grafana',
      'prometheus',
      'redis',
      'scheduler',
      'worker-cpu',
      'worker-dri',
      'worker-nvidia',
    ]);
    expect((services.redis.command as string[]).join(' ')).toMatch(/--appendonly yes/);
    expect((services.redis.command as string[]).join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(JSON.stringify(services['worker-nvidia'].deploy)).toContain('"driver":"nvidia"');
    expect(services['worker-dri'].devices).toContain('/dev/dri:/dev/dri');
    for (const [name, s] of Object.entries(services)) {
      for (const k of Object.keys(s)) expect(SERVICE_KEYS.has(k), `${name}.${k}`).toBe(true);
      expect(s.image ?? s.build, name).toBeTruthy();
      const deps = Array.isArray(s.depends_on) ? (s.depends_on as string[]) : Object.keys(obj(s.depends_on ?? {}));
      for (const dep of deps) expect(services[dep], `${name} depends on ${dep}`).toBeTruthy();
    }
  });

  it('builds from files that exist, copying only what the ignore file lets through', () => {
    const built = Object.values(services).filter((s) => s.build);
    expect(built.length).toBeGreaterThanOrEqual(2);
    for (const s of built) {
      const b = obj(s.build);
      const context = path.resolve(composeDir, String(b.context));
      expect(context).toBe(ROOT);
      expect(exists(path.join(context, String(b.dockerfile)))).toBe(true);
    }
    const dockerfile = read('compose/Dockerfile');
    const ignore = read('compose/Dockerfile.dockerignore');
    const copies = [...dockerfile.matchAll(/^COPY\s+(.+?)\s+\S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(copies.length).toBeGreaterThan(5);
    for (const src of copies) {
      expect(exists(path.join(ROOT, src)), `COPY ${src}`).toBe(true);
      expect(ignore, `${src} is ignored by Dockerfile.dockerignore`).toMatch(
        new RegExp(`^!${src.replace('.', '\\.')}(/\\*\\*)?$`, 'm'),
      );
    }
    const cmd = dockerfile.match(/^CMD (.+)$/m)![1];
    for (const script of JSON.parse(cmd).filter((a: string) => a.endsWith('.ts')))
      expect(exists(path.join(ROOT, script)), script).toBe(true);
  });

  it('mounts files that exist, and runs scripts that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of (s.volumes ?? []) as string[]) {
        const src = v.split(':')[0];
        if (src.startsWith('.')) expect(exists(path.resolve(composeDir, src)), `${name}: ${v}`).toBe(true);
      }
      if (s.image === 'usine:local') {
        const scripts = (s.command as string[]).filter((a) => a.endsWith('.ts'));
        expect(scripts.length, name).toBe(1);
        expect(exists(path.join(ROOT, scripts[0])), `${name}: ${scripts[0]}`).toBe(true);
      }
    }
  });

  it('sets only known usine settings', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.image !== 'usine:local') continue;
      for (const k of Object.keys(obj(s.environment ?? {}))) expect(KNOWN_ENV.has(k), `${name}: ${k}`).toBe(true);
    }
  });

  it('runs the scheduler with an operator token and the tenants file it mounts, never open', () => {
    const env = obj(services.scheduler.environment);
    expect(String(env.USINE_ADMIN_TOKEN)).toMatch(/^\$\{USINE_ADMIN_TOKEN:\?/);
    expect(services.scheduler.volumes).toContain(`../tenants.example.yaml:${env.USINE_TENANTS_FILE}:ro`);
  });

  it("checks the scheduler's readiness (/readyz on its port), not mere liveness", () => {
    const port = obj(services.scheduler.environment).USINE_PORT;
    expect(JSON.stringify(obj(services.scheduler.healthcheck).test)).toContain(`127.0.0.1:${port}/readyz`);
  });

  it('agrees on ports: published, configured and scraped', async () => {
    const sched = services.scheduler;
    const port = obj(sched.environment).USINE_PORT;
    expect(sched.ports).toContain(`${port}:${port}`);
    const prom = obj(yamlStrict(read('compose/prometheus/prometheus.yml'), 'compose prometheus.yml'));
    const jobs = Object.fromEntries((prom.scrape_configs as Obj[]).map((j) => [j.job_name, j]));
    expect(JSON.stringify(jobs['usine-scheduler'])).toContain(`"scheduler:${port}"`);
    for (const w of ['worker-nvidia', 'worker-dri', 'worker-cpu']) {
      const s = services[w];
      const metricsPort = Number(obj(s.environment).USINE_WORKER_METRICS_PORT);
      const sd = (jobs['usine-worker'].dns_sd_configs as Obj[])[0];
      expect(sd.port, w).toBe(metricsPort);
      expect(JSON.stringify(obj(s.networks).default), w).toContain(`"${(sd.names as string[])[0]}"`);
      expect(s.profiles, w).toHaveLength(1);
    }
    // The rule file Prometheus loads is the one mounted from deploy/prometheus/alerts.yml.
    const ruleFile = (prom.rule_files as string[])[0];
    expect(services.prometheus.volumes).toContain(`../prometheus/alerts.yml:${ruleFile}:ro`);
    expect(services.prometheus.volumes).toContain('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const out = await promtoolConfigOk(
      { ...prom, rule_files: ['alerts.yml'] },
      { 'alerts.yml': read('prometheus/alerts.yml') },
    );
    expect(out).toMatch(/SUCCESS: 10 rules found/);
    expect(services.prometheus.ports).toContain('9090:9090');
  });

  it('provisions Grafana with the Prometheus datasource and the generated dashboards', () => {
    const ds = obj(yamlStrict(read('compose/grafana/provisioning/datasources/usine.yml'), 'datasource'));
    const d = (ds.datasources as Obj[])[0];
    expect(d).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
    const prov = obj(yamlStrict(read('compose/grafana/provisioning/dashboards/usine.yml'), 'dashboards provider'));
    const dashPath = String(obj((prov.providers as Obj[])[0].options).path);
    const vols = services.grafana.volumes as string[];
    expect(vols).toContain(`../grafana/dashboards:${dashPath}:ro`);
    const home = String(obj(services.grafana.environment).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    expect(home.startsWith(dashPath + '/')).toBe(true);
    expect(exists(path.join(DEPLOY, 'grafana/dashboards', path.basename(home)))).toBe(true);
    expect(fs.readdirSync(path.join(DEPLOY, 'grafana/dashboards')).filter((f) => f.endsWith('.json'))).toHaveLength(3);
  });
});

describe('deploy/k8s', () => {
  const files = fs.readdirSync(path.join(DEPLOY, 'k8s')).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) => {
    const parsed = yamlStrict(read(`k8s/${f}`), f);
    return (Array.isArray(parsed) ? parsed : [parsed]).map((d) => ({ file: f, doc: obj(d) }));
  });
  const find = (kind: string, name: string) =>
    docs.find((d) => d.doc.kind === kind && obj(d.doc.metadata).name === name)?.doc;
  const config = obj(find('ConfigMap', 'usine-config')!.data);

  it('parses, and every object has apiVersion, kind, name and the usine namespace', () => {
    expect(docs.length).toBeGreaterThanOrEqual(9);
    for (const { file, doc } of docs) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      if (doc.kind === 'Kustomization') continue;
      expect(obj(doc.metadata).name, file).toBeTruthy();
      if (doc.kind !== 'Namespace') expect(obj(doc.metadata).namespace, `${file} ${doc.kind}`).toBe('usine');
    }
    const kust = docs.find((d) => d.doc.kind === 'Kustomization')!.doc;
    for (const r of kust.resources as string[]) expect(exists(path.join(DEPLOY, 'k8s', r)), r).toBe(true);
    expect((kust.resources as string[]).sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
  });

  it('has a scheduler Deployment and Service, a worker DaemonSet on GPU nodes, config and a secret', () => {
    expect(find('Deployment', 'usine-scheduler')).toBeTruthy();
    // Two replicas on the one Redis (the lease decides which runs the shared duties).
    expect(obj(find('Deployment', 'usine-scheduler')!.spec).replicas).toBe(2);
    expect(find('Service', 'usine-scheduler')).toBeTruthy();
    const ds = find('DaemonSet', 'usine-worker')!;
    const pod = obj(obj(ds.spec).template);
    expect(JSON.stringify(obj(pod.spec).nodeSelector)).toContain('gpu');
    expect(JSON.stringify(obj(pod.spec).containers)).toContain('"nvidia.com/gpu":1');
    expect(obj(find('Secret', 'usine-redis')!.stringData).REDIS_URL).toMatch(/^rediss?:\/\//);
    for (const k of Object.keys(config)) expect(KNOWN_ENV.has(k), k).toBe(true);
  });

  it('agrees on ports, labels and scrape targets', () => {
    const checks = [
      { workload: find('Deployment', 'usine-scheduler')!, portVar: 'USINE_PORT', job: 'usine-scheduler' },
      { workload: find('DaemonSet', 'usine-worker')!, portVar: 'USINE_WORKER_METRICS_PORT', job: 'usine-worker' },
    ];
    for (const { workload, portVar, job } of checks) {
      const spec = obj(workload.spec);
      const tpl = obj(spec.template);
      const labels = obj(obj(tpl.metadata).labels);
      expect(labels).toMatchObject(obj(obj(spec.selector).matchLabels));
      expect(labels['app.kubernetes.io/name']).toBe(job);
      const c = (obj(tpl.spec).containers as Obj[])[0];
      const ports = c.ports as { name: string; containerPort: number }[];
      expect(ports[0].containerPort, job).toBe(Number(config[portVar]));
      expect(obj(obj(tpl.metadata).annotations)['prometheus.io/port'], job).toBe(String(config[portVar]));
      const envFrom = JSON.stringify(c.envFrom);
      expect(envFrom).toContain('"usine-config"');
      expect(envFrom).toContain('"usine-redis"');
      for (const e of (c.env ?? []) as { name: string }[]) expect(KNOWN_ENV.has(e.name), e.name).toBe(true);
      for (const probe of [c.readinessProbe, c.livenessProbe])
        expect(ports.map((p) => p.name)).toContain(obj(obj(probe).httpGet).port);
      // Readiness follows Redis; liveness does not, so a Redis outage never restarts a pod.
      expect(obj(obj(c.readinessProbe).httpGet).path, job).toBe('/readyz');
      expect(obj(obj(c.livenessProbe).httpGet).path, job).toBe('/livez');
      expect(exists(path.join(ROOT, (c.command as string[]).at(-1)!))).toBe(true);
    }
    const svc = obj(find('Service', 'usine-scheduler')!.spec);
    expect(JSON.stringify(svc.ports)).toContain('"targetPort":"http"');
    const sm = obj(find('ServiceMonitor', 'usine-scheduler')!.spec);
    expect((svc.ports as Obj[]).map((p) => p.name)).toContain((sm.endpoints as Obj[])[0].port);
    const pm = obj(find('PodMonitor', 'usine-worker')!.spec);
    expect((pm.podMetricsEndpoints as Obj[])[0].port).toBe('metrics');
    for (const m of [sm, pm]) expect(m.jobLabel).toBe('app.kubernetes.io/name');
  });

  it('ships an annotation-based scrape config that promtool accepts, with the usine job names', async () => {
    const cm = obj(find('ConfigMap', 'usine-prometheus-scrape')!.data);
    const cfg = String(cm['usine-scrape.yml']);
    expect(cfg).toContain('job_name: usine-scheduler');
    expect(cfg).toContain('job_name: usine-worker');
    // Debian's Prometheus is built without Kubernetes discovery, so its promtool rejects
    // kubernetes_sd_configs: check the rest (relabelling regexes included) on static targets.
    const parsed = obj(parse(cfg));
    const jobs = (parsed.scrape_configs as Obj[]).map((j) => {
      expect(j.kubernetes_sd_configs, String(j.job_name)).toBeTruthy();
      const { kubernetes_sd_configs: _sd, ...rest } = j;
      return { ...rest, static_configs: [{ targets: ['127.0.0.1:1'] }] };
    });
    await promtoolConfigOk({ scrape_configs: jobs });
  });

  it('runs the scheduler with the admin token and a valid tenants file mounted, never open', () => {
    const tpl = obj(obj(find('Deployment', 'usine-scheduler')!.spec).template);
    const c = (obj(tpl.spec).containers as Obj[])[0];
    expect(JSON.stringify(c.envFrom)).toContain('"usine-admin"');
    expect(String(obj(find('Secret', 'usine-admin')!.stringData).USINE_ADMIN_TOKEN).length).toBeGreaterThanOrEqual(16);
    const file = (c.env as { name: string; value: string }[]).find((e) => e.name === 'USINE_TENANTS_FILE')!.value;
    const mount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) =>
      file.startsWith(m.mountPath + '/'),
    )!;
    const volume = (obj(tpl.spec).volumes as { name: string; secret: { secretName: string } }[]).find(
      (v) => v.name === mount.name,
    )!;
    const data = obj(find('Secret', volume.secret.secretName)!.stringData);
    const parsed = tenantsFileSchema.safeParse(parse(String(data[path.basename(file)])));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // Every Secret and ConfigMap a workload names exists.
    for (const kind of ['Deployment', 'DaemonSet']) {
      for (const w of docs.filter((d) => d.doc.kind === kind)) {
        for (const ref of JSON.stringify(w.doc).matchAll(/"(?:secretRef|configMapRef)":\{"name":"([^"]+)"\}/g)) {
          expect(
            docs.some(
              (d) => ['Secret', 'ConfigMap'].includes(String(d.doc.kind)) && obj(d.doc.metadata).name === ref[1],
            ),
            ref[1],
          ).toBe(true);
        }
      }
    }
  });

  it('ships the alert rules as a PrometheusRule generated from alerts.yml (npm run prometheus-rule)', () => {
    expect(read('k8s/prometheus-rule.yaml')).toBe(prometheusRuleYaml());
    const rule = find('PrometheusRule', 'usine')!;
    expect(obj(rule.spec).groups).toEqual(obj(parse(read('prometheus/alerts.yml'))).groups);
  });

  it('has notes on running Redis (Sentinel or managed)', () => {
    const notes = read('k8s/REDIS.md');
    expect(notes).toMatch(/Sentinel/);
    expect(notes).toMatch(/[Mm]anaged/);
    expect(notes).toMatch(/noeviction/);
  });
});

describe('deploy/systemd', () => {
  const units = ['usine-scheduler.service', 'usine-worker@.service'];

  function sections(text: string): Record<string, [string, string][]> {
    const out: Record<string, [string, string][]> = {};
    let cur = '';
    for (const line of text.split('\n')) {
      if (/^\s*(#|$)/.test(line)) continue;
      const s = line.match(/^\[(\w+)\]$/);
      if (s) {
        cur = s[1];
        out[cur] = [];
        continue;
      }
      const kv = line.match(/^(\w+)=(.*)$/);
      expect(kv, line).toBeTruthy();
      out[cur].push([kv![1], kv![2]]);
    }
    return out;
  }

  for (const unit of units) {
    it(`${unit} has Unit, Service and Install sections and runs a script that exists`, () => {
      const s = sections(read(`systemd/${unit}`));
      expect(Object.keys(s)).toEqual(['Unit', 'Service', 'Install']);
      const exec = s.Service.find(([k]) => k === 'ExecStart')![1];
      expect(exec).toMatch(/^\/usr\/bin\/node --import tsx \S+\.ts$/);
      expect(exists(path.join(ROOT, exec.split(' ').at(-1)!))).toBe(true);
      for (const [k, v] of s.Service.filter(([k]) => k === 'Environment')) {
        for (const name of v.split(/\s+/).map((kv) => kv.split('=')[0]))
          expect(KNOWN_ENV.has(name), `${k} ${name}`).toBe(true);
      }
    });
  }

  it('systemd-analyze verify finds nothing to say (when systemd is installed)', async () => {
    let available = true;
    await promisify(execFile)('systemd-analyze', ['--version']).catch(() => (available = false));
    if (!available) return; // not every CI image has systemd; the section checks above still ran
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-ops-units-'));
    try {
      fs.copyFileSync(path.join(DEPLOY, 'systemd/usine-scheduler.service'), path.join(dir, 'usine-scheduler.service'));
      fs.copyFileSync(path.join(DEPLOY, 'systemd/usine-worker@.service'), path.join(dir, 'usine-worker@0.service'));
      const r = await promisify(execFile)('systemd-analyze', [
        'verify',
        path.join(dir, 'usine-scheduler.service'),
        path.join(dir, 'usine-worker@0.service'),
      ]);
      expect((r.stdout + r.stderr).trim()).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the env files name known settings, on the ports the sample scrape config targets', () => {
    const env = Object.fromEntries(
      read('systemd/usine.env')
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => l.split('=') as [string, string]),
    );
    for (const k of Object.keys(env)) expect(KNOWN_ENV.has(k), k).toBe(true);
    for (const f of ['worker-1.env', 'scheduler.env']) {
      for (const l of read(`systemd/${f}`)
        .split('\n')
        .filter((l) => /^\w+=/.test(l)))
        expect(KNOWN_ENV.has(l.split('=')[0]), `${f}: ${l}`).toBe(true);
    }
    // The operator token goes to the scheduler only.
    expect(read('systemd/scheduler.env')).toMatch(/^USINE_ADMIN_TOKEN=/m);
    expect(read('systemd/usine.env')).not.toMatch(/^USINE_ADMIN_TOKEN=/m);
    expect(read('systemd/usine-scheduler.service')).toContain('EnvironmentFile=/etc/usine/scheduler.env');
    expect(read('systemd/usine-worker@.service')).not.toContain('scheduler.env');
    const prom = obj(parse(read('prometheus/prometheus.yml')));
    const targets = JSON.stringify(prom.scrape_configs);
    expect(targets).toContain(`:${env.USINE_PORT}"`);
    expect(targets).toContain(`:${env.USINE_WORKER_METRICS_PORT}"`);
  });
});
