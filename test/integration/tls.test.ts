// Encryption in transit. With a certificate and key the service speaks HTTPS only and sends
// HSTS; a PostgreSQL URL's sslmode is honoured as libpq defines it. The certificate is a
// self-signed one made here, with the machine's openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASES, createPostgresDatabase } from '../support/databases.js';
import { startTestService } from '../support/service.js';

const dir = mkdtempSync(join(tmpdir(), 'stackpilot-tls-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });

function get(url: string, secure: boolean): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(url, secure ? { ca: readFileSync(cert) } : {}, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }));
    });
    request.on('error', reject);
    request.setTimeout(5000, () => request.destroy(new Error('timed out')));
    request.end();
  });
}

describe('TLS', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS only, with HSTS and a Secure session cookie, when given a certificate', async () => {
    const service = await startTestService({ database: 'sqlite', config: { tlsCert: cert, tlsKey: key } });
    try {
      const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
      expect(address).toMatch(/^https:\/\//);
      const answer = await get(`${address}/healthz`, true);
      expect(answer.status).toBe(200);
      expect(answer.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      // The dashboard's session cookie is Secure under TLS: a browser never sends it in clear.
      const signIn = await service.app.inject({ method: 'POST', url: '/v1/dashboard/session', headers: { authorization: `Bearer ${service.adminKey}` }, payload: {} });
      expect(signIn.statusCode, signIn.body).toBe(201);
      expect(String(signIn.headers['set-cookie'])).toMatch(/^stackpilot_session=sps_[^;]+;.*; HttpOnly; Secure; SameSite=Strict$/);
      // Plain HTTP on the same port gets no answer a client could mistake for the API.
      await expect(get(address.replace('https:', 'http:') + '/healthz', false)).rejects.toThrow();
    } finally {
      await service.close();
    }
  });

  it.skipIf(!DATABASES.includes('postgres'))('honours a PostgreSQL URL\'s sslmode', async () => {
    for (const [mode, encrypted] of [['require', true], ['disable', false]] as const) {
      const database = await createPostgresDatabase();
      const service = await startTestService({ database: 'sqlite', config: { databaseUrl: `${database.url}?sslmode=${mode}` } });
      try {
        const { rows } = await service.database.pool!.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
        expect(rows[0]?.ssl, `sslmode=${mode}`).toBe(encrypted);
      } finally {
        await service.close();
        await database.drop();
      }
    }
  });
});
