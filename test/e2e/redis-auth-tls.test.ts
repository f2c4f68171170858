// Redis with a password, and Redis over TLS with an ACL user: a scheduler and a worker run a job
// through each, against real redis-servers (a CA and a certificate made here with openssl), and
// neither secret shows in their logs or in /v1/workers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { connectRedis } from '../../shared/redis.ts';
import { Cluster } from '../support/cluster.ts';
import { startRedis, stopAll, type RedisProc } from '../support/redis-servers.ts';

const PW_PORT = 8600; // Redis with requirepass
const TLS_PORT = 8601; // Redis with TLS only (--port 0) and an ACL user
const PW_CLUSTER = 8602; // scheduler, and the worker's /metrics on 8603
const TLS_CLUSTER = 8604; // scheduler, and the worker's /metrics on 8605
const PASSWORD = 'pw-for-the-default-user-7f3a9c';
const ACL_PASSWORD = 'pw-for-alice-b81e20';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-tls-'));
const ca = path.join(dir, 'ca.pem');
const redis: RedisProc[] = [];
let pwCluster: Cluster;
let tlsCluster: Cluster;

/** A CA, and a certificate for 127.0.0.1 signed by it. */
function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=usine test CA'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem'],
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'redis.key', '-out', 'redis.csr');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    ...['x509', '-req', '-in', 'redis.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-days', '1', '-extfile', 'san.ext', '-out', 'redis.pem'],
  );
}

beforeAll(async () => {
  makeCertificates();
  redis.push(await startRedis(PW_PORT, ['--port', String(PW_PORT), '--requirepass', PASSWORD]));
  redis.push(
    await startRedis(TLS_PORT, [
      ...['--port', '0', '--tls-port', String(TLS_PORT)],
      ...['--tls-cert-file', path.join(dir, 'redis.pem'), '--tls-key-file', path.join(dir, 'redis.key')],
      ...['--tls-ca-cert-file', ca, '--tls-auth-clients', 'no'],
      ...['--user', 'alice', 'on', `>${ACL_PASSWORD}`, '~*', '&*', '+@all'],
      ...['--user', 'default', 'off'],
    ]),
  );
  pwCluster = new Cluster({
    port: PW_CLUSTER,
    workers: [{}],
    env: { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${PW_PORT}` },
  });
  tlsCluster = new Cluster({
    port: TLS_CLUSTER,
    workers: [{}],
    env: { REDIS_URL: `rediss://alice:${ACL_PASSWORD}@127.0.0.1:${TLS_PORT}`, REDIS_TLS_CA_FILE: ca },
  });
  await Promise.all([pwCluster.start(), tlsCluster.start()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([pwCluster?.stop(), tlsCluster?.stop()]);
  await stopAll(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['a password in REDIS_URL', () => pwCluster, PASSWORD],
  ['rediss:// with a CA file and an ACL user', () => tlsCluster, ACL_PASSWORD],
])('Redis with %s', (_, cluster, secret) => {
  it('runs a job, and the secret is in no log line and not in /v1/workers', async () => {
    const c = cluster();
    const client = new UsineClient({ url: c.url });
    const { id } = await client.submit({ type: 'noop', params: { sleepMs: 0 } });
    expect((await client.wait(id, { intervalMs: 50, timeoutMs: 30_000 })).state).toBe('succeeded');

    const workers = await (await fetch(`${c.url}/v1/workers`)).text();
    expect(workers).toContain('"w0"');
    expect(workers).not.toContain(secret);
    const logs = c.scheduler.output() + c.workers[0]!.output();
    expect(logs).toMatch(/scheduler listening/);
    expect(logs).toContain('***@127.0.0.1'); // the ready line names Redis, without its password
    expect(logs).not.toContain(secret);
  });
});

it('refuses a wrong CA with a TLS error, not a hang', async () => {
  // A CA of its own that did not sign Redis's certificate.
  const other = path.join(dir, 'other-ca.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=other',
      '-keyout',
      'o.key',
      '-out',
      other,
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  const r = connectRedis(
    { url: `rediss://alice:${ACL_PASSWORD}@127.0.0.1:${TLS_PORT}`, tlsCaFile: other },
    { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true },
  );
  const firstError = new Promise<Error>((resolve) => r.once('error', resolve));
  await expect(r.connect()).rejects.toThrow();
  expect((await firstError).message).toMatch(/certificate/i);
  r.disconnect();
});
