// /v1/artifacts: uploads, downloads and their owners — the real API in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactMeta } from '../../../shared/artifact-store.ts';
import { Api, expectError } from '../../support/api.ts';

const UPLOAD_LIMIT = 4096;
let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }, { name: 'b' }], uploadLimit: UPLOAD_LIMIT });
});
afterAll(() => api?.close());

const bytes = (s: string) => new TextEncoder().encode(s);

describe('/v1/artifacts', () => {
  it('uploads and downloads byte for byte, with its meta', async () => {
    const up = await api.as('a').post<ArtifactMeta>('/v1/artifacts?name=hamlet.txt', bytes('to be or not to be\n'));
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ name: 'hamlet.txt', bytes: 19, kind: 'upload', tenant: 'a' });
    const down = await api.as('a').get(`/v1/artifacts/${up.json.id}`);
    expect(down.status).toBe(200);
    expect(down.raw.toString()).toBe('to be or not to be\n');
    expect(down.headers['content-disposition']).toBe('attachment; filename="hamlet.txt"');
    expect((await api.as('a').get(`/v1/artifacts/${up.json.id}/meta`)).json).toEqual(up.json);
  });

  it("isolates tenants: another tenant's artifact is not found; admin sees all", async () => {
    const up = await api.as('b').post<ArtifactMeta>('/v1/artifacts?name=secret.txt', bytes('b only'));
    expectError(await api.as('a').get(`/v1/artifacts/${up.json.id}`), 404, 'not_found');
    expectError(await api.as('a').get(`/v1/artifacts/${up.json.id}/meta`), 404, 'not_found');
    expect((await api.as('b').get(`/v1/artifacts/${up.json.id}`)).raw.toString()).toBe('b only');
    expect((await api.as('admin').get(`/v1/artifacts/${up.json.id}`)).raw.toString()).toBe('b only');
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', '..']) {
      expectError(await api.as('a').get(`/v1/artifacts/${id}`), 404, 'not_found');
    }
  });

  it('refuses an upload that is not octet-stream (415) or over the upload limit (413)', async () => {
    expectError(
      await api.as('a').post('/v1/artifacts?name=x', { not: 'a file' }),
      415,
      'unsupported_media_type',
      /application\/octet-stream/,
    );
    const big = await api.as('a').post('/v1/artifacts?name=big', new Uint8Array(UPLOAD_LIMIT + 1));
    expectError(big, 413, 'fst_err_ctp_body_too_large');
    expect((await api.as('a').post('/v1/artifacts?name=fits', new Uint8Array(UPLOAD_LIMIT))).status).toBe(201);
  });
});
